"""Tensor creation: zeros, ones, full, empty, arange, linspace, eye, rand, randn, randint, *_like."""
import numpy as np

from .backends import default_backend, get_backend
from .random import generator
from .tensor import Tensor, as_dtype, float32, int64


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    return shape


def _make(array_fn, shape, dtype, device, requires_grad):
    be = default_backend() if device is None else get_backend(device)
    a = array_fn(be.xp, shape, as_dtype(dtype) or float32)
    t = Tensor._wrap(a, be)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, s, d: xp.zeros(s, d), _shape(shape), dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, s, d: xp.ones(s, d), _shape(shape), dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, s, d: xp.empty(s, d), _shape(shape), dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dtype = "bool"
    elif dtype is None and isinstance(fill_value, (int, np.integer)):
        dtype = int64
    return _make(lambda xp, s, d: xp.full(s, fill_value, d), _shape((shape,)), dtype, device, requires_grad)


def _like(fn, t, dtype, device, requires_grad, *args):
    return fn(t.shape, *args, dtype=dtype or t.dtype, device=device or t._backend, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like(ones, t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t._backend,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("[arange] step must not be zero")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dtype = as_dtype(dtype) or (int64 if ints else float32)
    be = default_backend() if device is None else get_backend(device)
    t = Tensor._wrap(be.from_host(np.arange(start, end, step).astype(dtype)), be)
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    be = default_backend() if device is None else get_backend(device)
    t = Tensor._wrap(be.from_host(np.linspace(start, end, int(steps)).astype(as_dtype(dtype) or float32)), be)
    return t.requires_grad_(True) if requires_grad else t


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, s, d: xp.eye(s[0], s[1], dtype=d), (int(n), int(m if m is not None else n)),
                 dtype, device, requires_grad)


def _random(draw, shape, dtype, device, requires_grad):
    dtype = as_dtype(dtype) or float32
    be = default_backend() if device is None else get_backend(device)
    t = Tensor._wrap(be.from_host(draw(generator(), shape).astype(dtype)), be)
    return t.requires_grad_(True) if requires_grad else t


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from ember's seeded generator (see manual_seed)."""
    return _random(lambda g, s: g.standard_normal(s), _shape(shape), dtype, device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) samples from ember's seeded generator."""
    return _random(lambda g, s: g.random(s), _shape(shape), dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None):
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"[randint] high ({high}) must be greater than low ({low})")
    return _random(lambda g, s: g.integers(low, high, s), _shape((size,)), dtype or int64, device, False)


def randperm(n, device=None):
    return _random(lambda g, s: g.permutation(n), (), int64, device, False)


# ---- PyTorch's random *_like ------------------------------------------------------------------
def _random_like(fn, t, dtype, device, requires_grad):
    dtype = as_dtype(dtype) or t.dtype
    if dtype.kind != "f":
        raise TypeError(f"[{fn.__name__}_like] needs a floating-point dtype, got {dtype}; give dtype=")
    return fn(*t.shape, dtype=dtype, device=device or t._backend, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    """Standard normal samples shaped like t (its dtype and device unless given)."""
    return _random_like(randn, t, dtype, device, requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) samples shaped like t (its dtype and device unless given)."""
    return _random_like(rand, t, dtype, device, requires_grad)
