"""What runs in a DataLoader worker process: the loop that turns index lists into batches.

A worker is started by 'forkserver' (or 'spawn' where there is none): a fresh process that has
run no OpenMP region and holds no threads or CUDA context of its parent, which 'fork' would copy
in a broken state. It uses one OpenMP thread and the host for the tensors it makes.

Messages: the parent sends (task, indices), ("resume", seed) or None (stop); the worker answers
(task, pickled batch | _Failure | _Exhausted) and ("resume", worker_id). A batch is pickled in
the worker itself, so an unpicklable batch is an error the parent hears about, not one lost in
a queue's feeder thread.
"""
import multiprocessing
import queue
import random
import traceback
from multiprocessing.reduction import ForkingPickler

import numpy as np

from ..tensor import Tensor, from_numpy

_POLL_S = 1.0  # how often an idle worker checks that its parent is still there
_info = None


class WorkerInfo:
    """get_worker_info() in a worker: its id, how many workers, its seed and its copy of the dataset."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, dataset={self.dataset!r})"


def get_worker_info():
    """In a DataLoader worker process, its WorkerInfo; in the main process, None.

    Example (an IterableDataset that splits its range between workers):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))
    """
    return _info


# ---- tensors through multiprocessing's pickler: as (host array, device) --------------------------
# The device is recorded only when it is not the process's default device, so a dataset made on a
# cuda default is rebuilt on the worker's host default, and a batch the worker makes on its default
# comes back on the parent's default, as with num_workers=0.

def _rebuild_tensor(array, device, requires_grad):
    t = from_numpy(array)
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad = True
    return t


def _reduce_tensor(t):
    from ..backends import get_default_device
    device = None if t.device == get_default_device() else t.device
    return _rebuild_tensor, (np.ascontiguousarray(t.numpy()), device, bool(t.requires_grad))


ForkingPickler.register(Tensor, _reduce_tensor)


def dumps(obj):
    return bytes(ForkingPickler.dumps(obj))


class _Failure:
    """An exception raised in a worker, with its traceback as text, re-raised by the parent."""

    def __init__(self, worker_id, exc):
        self.exc_type = type(exc)
        self.where = f"in DataLoader worker process {worker_id}"
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"
        if self.exc_type is KeyError:  # KeyError shows its message with repr, which would mangle the text
            msg = KeyErrorMessage(msg)
        if issubclass(self.exc_type, StopIteration):  # raised from __next__ it would end the loop quietly
            raise RuntimeError(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # a type whose constructor takes other arguments
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    def __repr__(self):
        return self


def failure_payload(worker_id, exc):
    """The pickled _Failure; one whose exception type cannot be pickled is sent as a RuntimeError."""
    f = _Failure(worker_id, exc)
    try:
        return dumps(f)
    except Exception:
        f.exc_type = RuntimeError
        return dumps(f)


class Exhausted:
    """An IterableDataset's copy in worker `worker_id` has no more samples."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


def worker_loop(fetcher, index_queue, result_queue, worker_id, num_workers, seed, worker_init_fn, device):
    """The body of a worker process (the target the DataLoader starts)."""
    try:
        _run(fetcher, index_queue, result_queue, worker_id, num_workers, seed, worker_init_fn, device)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent handles it
        pass


def _seed(fetcher, worker_id, num_workers, seed):
    global _info
    import ember
    random.seed(seed)
    ember.manual_seed(seed)
    _info = WorkerInfo(worker_id, num_workers, seed, fetcher.dataset)


def _run(fetcher, index_queue, result_queue, worker_id, num_workers, seed, worker_init_fn, device):
    parent = multiprocessing.parent_process()  # its sentinel closes when the DataLoader's process dies
    # Told to stop, the worker leaves at once, even with answers unread in a full pipe: the parent
    # asks no more of them.
    result_queue.cancel_join_thread()
    error, exhausted = None, False
    try:
        import ember
        ember.set_num_threads(1)
        ember.set_default_device(device)
        _seed(fetcher, worker_id, num_workers, seed)
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher.start()  # after worker_init_fn, which may configure this worker's copy of the dataset
    except Exception as e:
        error = failure_payload(worker_id, e)
    while True:
        try:
            msg = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return
            continue
        if msg is None:
            return
        task, arg = msg
        if task == "resume":  # a new epoch of persistent workers: a fresh iterator and seed
            exhausted = False
            if error is None:
                try:
                    _seed(fetcher, worker_id, num_workers, arg + worker_id)
                    fetcher.start()
                except Exception as e:
                    error = failure_payload(worker_id, e)
            result_queue.put(("resume", worker_id))
            continue
        if exhausted:  # tasks sent before the parent heard of the end: it expects no answer
            continue
        if error is not None:
            result_queue.put((task, error))
            continue
        try:
            payload = dumps(fetcher.fetch(arg))
        except StopIteration as e:  # the end of an IterableDataset; from a map-style one, an error
            exhausted = fetcher.iterable
            payload = dumps(Exhausted(worker_id)) if exhausted else failure_payload(worker_id, e)
        except Exception as e:
            payload = failure_payload(worker_id, e)
        result_queue.put((task, payload))
