"""Every collective, op and dtype against NumPy on the ranks' known inputs; async handles; timeouts."""
import time

import ember as em
import ember.distributed as dist
import ml_dtypes
import numpy as np
from common import ok, start
from ember.distributed import ReduceOp

rank, size = start()
DTYPES = [np.float32, np.float64, np.int64, np.int32, np.bool_, np.float16, ml_dtypes.bfloat16]
REDUCE = {ReduceOp.SUM: np.sum, ReduceOp.AVG: np.mean, ReduceOp.PRODUCT: np.prod, ReduceOp.MAX: np.max,
          ReduceOp.MIN: np.min}


def data(r, dtype, shape=(3, 5)):
    """Rank r's input: small values so products stay exact in every dtype."""
    rng = np.random.default_rng(100 + r)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(-3, 4, shape).astype(dtype)


def expected(op, dtype, shape=(3, 5)):
    stack = np.stack([data(r, dtype, shape).astype(np.float64) for r in range(size)])
    if dtype == np.bool_:
        return (stack.max(0) if op in (ReduceOp.SUM, ReduceOp.MAX) else stack.min(0)).astype(bool)
    return REDUCE[op](stack, axis=0).astype(dtype)


def check(got, want, what):
    np.testing.assert_array_equal(np.asarray(got).astype(np.float64), np.asarray(want).astype(np.float64),
                                  err_msg=what)


for dtype in DTYPES:
    ops = [op for op in ReduceOp if not (op is ReduceOp.AVG and dtype in (np.int64, np.int32, np.bool_))]
    for op in ops:
        for async_op in (False, True):
            t = em.from_numpy(data(rank, dtype).copy())
            work = dist.all_reduce(t, op=op, async_op=async_op)
            if async_op:
                assert isinstance(work, dist.Work)
                work.wait()
                assert work.is_completed()
            else:
                assert work is None
            check(t.numpy(), expected(op, dtype), f"all_reduce {op} {dtype} async={async_op}")
    # a non-contiguous view is reduced in place through a copy
    base = data(rank, dtype, (5, 3)).copy()
    view = em.from_numpy(base).T
    dist.all_reduce(view, op=ReduceOp.MAX)
    check(base.T, expected(ReduceOp.MAX, dtype, (5, 3)).T, f"all_reduce of a transposed view {dtype}")

    t = em.from_numpy(data(rank, dtype).copy())
    dist.broadcast(t, src=1)
    check(t.numpy(), data(1, dtype), f"broadcast {dtype}")

    parts = [em.from_numpy(np.zeros((3, 5), dtype=dtype)) for _ in range(size)]
    dist.all_gather(parts, em.from_numpy(data(rank, dtype)), async_op=True).wait()
    for r in range(size):
        check(parts[r].numpy(), data(r, dtype), f"all_gather {dtype} part {r}")

    for op in (ReduceOp.SUM, ReduceOp.MAX):
        inputs = [em.from_numpy(data(rank, dtype, (size * 3, 5))[3 * i:3 * i + 3].copy()) for i in range(size)]
        out = em.from_numpy(np.zeros((3, 5), dtype=dtype))
        dist.reduce_scatter(out, inputs, op=op)
        check(out.numpy(), expected(op, dtype, (size * 3, 5))[3 * rank:3 * rank + 3], f"reduce_scatter {op} {dtype}")
ok("collectives")

# the float32 default path on ember's own tensors (em.tensor), and a 0-d tensor
t = em.tensor(np.float32(rank + 1))
dist.all_reduce(t, op="avg")
assert t.item() == (1 + size) / 2, t
try:
    dist.all_reduce(em.tensor([1, 2]), op=ReduceOp.AVG)
    raise AssertionError("AVG of an int64 tensor did not raise")
except TypeError as e:
    assert "AVG" in str(e)
try:
    dist.all_gather([em.zeros(2)], em.zeros(2))
    raise AssertionError("a short all_gather list did not raise")
except ValueError as e:
    assert "world_size" in str(e)
ok("errors")

# a late peer: rank 0's wait times out (DistTimeoutError), then the same request completes
dist.barrier()
if rank == 1:
    time.sleep(1.5)
t = em.ones(4)
work = dist.all_reduce(t, async_op=True)
if rank == 0:
    t0 = time.monotonic()
    try:
        work.wait(timeout=0.3)
        raise AssertionError("wait() returned although rank 1 had not joined")
    except dist.DistTimeoutError as e:
        assert "all_reduce" in str(e) and time.monotonic() - t0 < 1.4, e
work.wait()
check(t.numpy(), np.full(4, size), "the all_reduce after the timeout")
dist.barrier()
ok("timeout")
dist.destroy_process_group()
assert not dist.is_initialized()
