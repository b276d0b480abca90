"""The parent's side of DataLoader(num_workers > 0): starting, feeding and stopping worker processes.

Batches are asked for in order, at most prefetch_factor per worker ahead, round-robin over the
workers; answers that come early wait in a dict until their turn, so batch order is the
sampler's. Workers are stopped (None, a join, then terminate) when the iteration ends, breaks,
raises or is dropped, and at interpreter exit; they also leave by themselves if the parent dies.
"""
import itertools
import multiprocessing as mp
import pickle
import queue
import time
import weakref

from .worker import _POLL_S, Exhausted, _Failure, worker_loop

_JOIN_S = 5.0  # how long stopping waits for a worker to leave before terminating it


def _context(method):
    """The multiprocessing context: `method` (a name or a context), or forkserver, or spawn."""
    if method is None:
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method) if isinstance(method, str) else method
    if ctx.get_start_method() == "forkserver":
        _preload_ember(ctx)
    return ctx


def _preload_ember(ctx):
    """Have the fork server import ember once, so each worker forks with it already imported (the
    server has run no kernel: no OpenMP threads to break). Modules others asked for stay."""
    from multiprocessing import forkserver
    current = list(getattr(forkserver._forkserver, "_preload_modules", None) or ["__main__"])
    if "ember" not in current:
        ctx.set_forkserver_preload(current + ["ember"])


def _host_default():
    """The workers' default device: the parent's when it is a host device, else cpu."""
    from ..backends import get_default_device, is_available
    device = get_default_device()
    if device in ("numpy", "cpu", "cuda-emu"):
        return device
    return "cpu" if is_available("cpu") else "numpy"


def _stop(procs, index_queues, result_queue):
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):  # the queue is closed already
            pass
    deadline = time.monotonic() + _JOIN_S
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(timeout=_JOIN_S)
        if p.is_alive():
            p.kill()
            p.join()
    for q in [*index_queues, result_queue]:
        q.cancel_join_thread()
        q.close()


class Workers:
    """num_workers processes, each with its index queue, and one result queue."""

    def __init__(self, loader, fetcher, seed):
        ctx = _context(loader.multiprocessing_context)
        n = loader.num_workers
        self.result_queue = ctx.Queue()
        self.index_queues, self.procs = [], []
        self._finalizer = weakref.finalize(self, _stop, self.procs, self.index_queues, self.result_queue)
        device = _host_default()
        try:
            for i in range(n):
                q = ctx.Queue()
                q.cancel_join_thread()
                p = ctx.Process(target=worker_loop, daemon=True, name=f"ember-DataLoader-worker-{i}",
                                args=(fetcher, q, self.result_queue, i, n, seed + i, loader.worker_init_fn, device))
                self.index_queues.append(q)
                p.start()
                self.procs.append(p)
        except BaseException as e:
            self.shutdown()
            if isinstance(e, Exception):
                e.add_note("[DataLoader] with num_workers > 0 the dataset, collate_fn and worker_init_fn go to "
                           f"worker processes ('{ctx.get_start_method()}'): they must be picklable, "
                           "i.e. defined at module level, not in a function or as a lambda")
            raise

    def shutdown(self):
        self._finalizer()

    @property
    def alive(self):
        return self._finalizer.alive

    def get(self, timeout):
        """The next (task, payload) from any worker; RuntimeError if a worker died or timeout passed."""
        deadline = None if not timeout else time.monotonic() + timeout
        while True:
            wait = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - time.monotonic()))
            try:
                return self.result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            dead = [p for p in self.procs if not p.is_alive()]
            if dead:
                self.shutdown()
                what = ", ".join(f"pid {p.pid} exit code {p.exitcode}" for p in dead)
                raise RuntimeError(f"[DataLoader] worker process(es) exited unexpectedly ({what})")
            if deadline is not None and time.monotonic() >= deadline:
                self.shutdown()
                raise RuntimeError(f"[DataLoader] timed out after {timeout} seconds waiting for a batch")

    def resume(self, seed, timeout):
        """Starts a new epoch on persistent workers: answers still in flight from the last one are dropped."""
        for q in self.index_queues:
            q.put(("resume", seed))
        waiting = len(self.procs)
        while waiting:
            task, _ = self.get(timeout)
            waiting -= task == "resume"


class MultiProcessIter:
    """One pass over the loader's batches, computed by its workers."""

    def __init__(self, loader, workers, persistent):
        self.loader, self.workers, self.persistent = loader, workers, persistent
        self.n = loader.num_workers
        self.reset()

    def reset(self):
        self.sampler_iter = iter(self.loader._index_sampler)
        self.send_idx = self.rcvd_idx = 0
        self.tasks = {}  # task -> [worker] while out, [worker, payload] once answered early
        self.active = [True] * self.n
        self.turn = itertools.cycle(range(self.n))
        for _ in range(self.loader.prefetch_factor * self.n):
            self._put()

    def _put(self):
        for _ in range(self.n):
            w = next(self.turn)
            if self.active[w]:
                break
        else:
            return
        try:
            indices = next(self.sampler_iter)
        except StopIteration:
            return
        self.workers.index_queues[w].put((self.send_idx, indices))
        self.tasks[self.send_idx] = [w]
        self.send_idx += 1

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            while self.rcvd_idx < self.send_idx:  # skip tasks of workers whose dataset copy has ended
                t = self.tasks[self.rcvd_idx]
                if len(t) == 2 or self.active[t[0]]:
                    break
                del self.tasks[self.rcvd_idx]
                self.rcvd_idx += 1
            else:
                self._end()
                raise StopIteration
            if len(self.tasks[self.rcvd_idx]) == 2:
                return self._take(self.tasks.pop(self.rcvd_idx)[1])
            task, payload = self.workers.get(self.loader.timeout)
            if task == "resume":
                continue
            data = pickle.loads(payload)
            if isinstance(data, Exhausted):
                self.active[data.worker_id] = False
                continue
            if task != self.rcvd_idx:
                self.tasks[task].append(data)
                continue
            del self.tasks[task]
            return self._take(data)

    def _take(self, data):
        self.rcvd_idx += 1
        if isinstance(data, _Failure):
            self._end()
            data.reraise()
        self._put()
        return data

    def _end(self):
        if not self.persistent:
            self.workers.shutdown()

    def __del__(self):
        if not getattr(self, "persistent", True):
            self.workers.shutdown()
