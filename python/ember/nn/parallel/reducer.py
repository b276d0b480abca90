"""Gradient buckets for DistributedDataParallel.

The parameters, in reverse registration order (roughly the order backward produces their gradients),
are packed into flat buckets of about bucket_cap_mb. A hook on each parameter (called when backward
has accumulated its .grad) marks it ready; a bucket whose gradients are all ready is copied into its
flat buffer and its non-blocking all-reduce (AVG) starts at once, while backward computes the earlier
layers' gradients. Buckets start strictly in order, so every rank issues the same collectives in the
same sequence. When backward ends, the buckets still waiting (parameters no rank's graph reached this
step) start with zeros in the missing slots, every all-reduce is waited for, and each .grad becomes a
view of its bucket's averaged slice.
"""
import time

from ...autograd import queue_callback
from ...distributed import ReduceOp, all_reduce
from ...tensor import Tensor


class Bucket:
    def __init__(self, index, params):
        self.index, self.params = index, params
        self.sizes = [p.numel() for p in params]
        self.offsets = [sum(self.sizes[:i]) for i in range(len(params))]
        be = params[0]._backend
        self.buffer = be.xp.zeros(sum(self.sizes), dtype=params[0].dtype)
        self.flat = Tensor._wrap(self.buffer, be)
        self.ready, self.work, self.had_grad = set(), None, ()

    def slots(self):
        for p, off, n in zip(self.params, self.offsets, self.sizes):
            yield p, self.buffer[off:off + n]

    def nbytes(self):
        return self.buffer.nbytes


def make_buckets(params, cap_bytes):
    """params (reverse registration order) cut into buckets of about cap_bytes, one dtype and device each."""
    buckets, current, size = [], [], 0
    for p in params:
        if current and (size >= cap_bytes or p.dtype != current[0].dtype or p._backend is not current[0]._backend):
            buckets.append(Bucket(len(buckets), current))
            current, size = [], 0
        current.append(p)
        size += p.numel() * p.dtype.itemsize
    if current:
        buckets.append(Bucket(len(buckets), current))
    return buckets


class Reducer:
    def __init__(self, params, cap_bytes):
        self.buckets = make_buckets(params, cap_bytes)
        self.bucket_of = {id(p): b for b in self.buckets for p in b.params}
        self.handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]
        self.enabled = True   # False inside no_sync(): gradients accumulate locally
        self.trace = None     # a list to record (event, bucket, time) in, for tests and benches
        self.wait_s = 0.0     # time the last backward spent waiting for communication after it ended
        self._armed, self._next = False, 0

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []

    def _log(self, event, bucket):
        if self.trace is not None:
            self.trace.append((event, bucket.index, time.perf_counter()))

    def _on_grad(self, p):
        if not self.enabled:
            return
        if not self._armed:
            self._armed = True
            queue_callback(self._finish)
        bucket = self.bucket_of[id(p)]
        bucket.ready.add(id(p))
        self._log("ready", bucket)
        while self._next < len(self.buckets) and len(self.buckets[self._next].ready) == len(
                self.buckets[self._next].params):
            self._start(self.buckets[self._next])
        self._progress()

    def _start(self, bucket):
        bucket.had_grad = [p.grad is not None for p in bucket.params]
        for p, slot in bucket.slots():
            if p.grad is None:
                slot[...] = 0  # unused here this step: takes part as zeros
            else:
                slot[...] = p.grad._data.reshape(-1)
        bucket.work = all_reduce(bucket.flat, op=ReduceOp.AVG, async_op=True)
        self._next += 1
        self._log("start", bucket)

    def _progress(self):
        """Let MPI advance the oldest reduction in flight (MPI progresses only inside its calls)."""
        for b in self.buckets[:self._next]:
            if not b.work.is_completed():
                return

    def _finish(self):
        self._armed = False
        while self._next < len(self.buckets):
            self._start(self.buckets[self._next])
        start = time.perf_counter()
        for b in self.buckets:
            b.work.wait()
            self._log("done", b)
        self.wait_s = time.perf_counter() - start
        for b in self.buckets:
            for (p, slot), had in zip(b.slots(), b.had_grad):
                # a parameter no rank used keeps grad None, as it would in one process
                if had or slot.any():
                    p.grad = Tensor._wrap(slot.reshape(p.shape), p._backend)
            b.ready.clear()
            b.work = None
        self._next = 0
