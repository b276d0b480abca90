"""The host arrays the kernel backends keep between calls stay within their byte bound, least
recently used shapes evicted first, however many shapes a model feeds them."""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.backends import get_backend, kernel
from ember.backends.kernel import ArrayCache

from .ops.check import KERNEL_DEVICES, require


def _held_bytes(obj, seen=None):
    """Bytes of every NumPy array reachable from obj through dicts, lists, tuples and instance
    attributes (threading.local included): what a backend keeps alive between calls."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(_held_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        return sum(_held_bytes(v, seen) for v in obj)
    if isinstance(obj, (threading.local, ArrayCache)) or type(obj).__module__.startswith("ember"):
        return _held_bytes(getattr(obj, "__dict__", {}), seen)
    return 0


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
def test_variable_length_batches_keep_cached_memory_bounded(device, layer, monkeypatch):
    require(device)
    ops = get_backend(device).ops
    limit = 256 << 10
    monkeypatch.setattr(kernel, "CACHE_BYTES", limit, raising=False)
    for name in ("_rnn_arrays", "_rnn_tls"):  # a fresh store, built with the small bound
        monkeypatch.delitem(ops.__dict__, name, raising=False)
    em.manual_seed(0)
    model = getattr(nn, layer)(4, 8, batch_first=True).to(device)
    for steps in range(1, 41):  # 40 shapes of each array: about 1 MB if none were evicted
        y, _ = model(em.randn(4, steps, 4, device=device))
        y.sum().backward()
    held = _held_bytes(ops)
    assert held <= limit and (held > 0 or ops.mem is not np)  # with the host pool on, the pool keeps them


def test_same_shape_reuses_the_array():
    cache = ArrayCache(limit=1 << 20)
    a = np.empty((3, 4), np.float32)
    cache.give(a)
    assert cache.take(((3, 4), np.dtype(np.float32))) is a
    assert cache.take(((3, 4), np.dtype(np.float32))) is None
    assert cache.nbytes == 0


def test_least_recently_used_shape_is_evicted_first():
    cache = ArrayCache(limit=3 * 400)
    arrays = [np.empty(100, np.float32) + i for i in range(3)]  # 400 bytes each, distinct shapes below
    shaped = [arrays[0].reshape(100), arrays[1].reshape(4, 25), arrays[2].reshape(2, 50)]
    for a in shaped:
        cache.give(a.copy())
    first = cache.take(((100,), np.dtype(np.float32)))  # touch the oldest shape, then give it back
    cache.give(first)
    cache.give(np.empty((5, 20), np.float32))  # over the bound: (4, 25), now the oldest, goes
    assert cache.nbytes <= cache.limit
    assert cache.take(((4, 25), np.dtype(np.float32))) is None
    assert cache.take(((100,), np.dtype(np.float32))) is first
    assert cache.take(((5, 20), np.dtype(np.float32))) is not None


def test_array_larger_than_the_bound_is_not_kept():
    cache = ArrayCache(limit=100)
    cache.give(np.empty(1000, np.uint8))
    assert cache.nbytes == 0


def test_many_shapes_from_many_threads_stay_bounded():
    cache = ArrayCache(limit=64 << 10)

    def churn(seed):
        rng = np.random.default_rng(seed)
        for _ in range(300):
            shape = (int(rng.integers(1, 40)), 16)
            a = cache.take((shape, np.dtype(np.float64)))
            cache.give(np.empty(shape) if a is None else a)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(churn, range(4)))  # re-raises a worker's exception
    held = sum(a.nbytes for spares in cache._spares.values() for a in spares)
    assert held == cache.nbytes <= cache.limit
