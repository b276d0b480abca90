"""The interim low-precision path: a kernel given bfloat16/float16 arrays computes in float32.

Until the low-precision kernels exist, every heavy op (matmul, linear, conv, pooling, softmax,
norms, activations, RNNs, attention, losses, optimizer steps) sees its bfloat16/float16 arrays
upcast to float32 by the cast kernels, runs its float32 kernel, and hands back float32 results
cast down to the inputs' low dtype (integer and bool results, like pooling indices, stay). The
optimizer steps (`*_step`) update their arrays in place, so their upcast copies are cast back
into the originals. Glue ops (arithmetic, reductions, reshapes) run on the array module, which
computes bfloat16/float16 itself.

On cuda, bfloat16 is refused (Backend.from_host, ops/cast.py): CuPy has no bfloat16 dtype, and
viewing uint16 storage as bfloat16 would make every glue op on the array module wrong.
"""
import types

import ml_dtypes
import numpy as np

# the dtypes of tensor.py, spelled here: backends sit below tensor.py
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
LOW_PRECISION = (BFLOAT16, np.dtype(np.float16))
float32 = np.dtype(np.float32)

_NOT_WRAPPED = ("cast_forward", "cast_backward", "rnn_recycle")


_CHARS = "eE"  # float16's and ml_dtypes bfloat16's dtype.char: a string test is the cheapest


class _NoDtype:
    char = ""


_NONE = _NoDtype()


def _low_dtype(args, kwargs):
    for a in args:
        if getattr(a, "dtype", _NONE).char in _CHARS and getattr(a, "dtype", None) in LOW_PRECISION:
            return a.dtype
    for a in kwargs.values():
        if getattr(a, "dtype", _NONE).char in _CHARS and getattr(a, "dtype", None) in LOW_PRECISION:
            return a.dtype
    return None


def with_low_precision(ops, backend):
    """backend's ops with the interim path: the compiled backends' KernelOps wrapped in place
    (its other attributes, such as the RNN array store, stay where they are); the reference
    module, shared with whoever imports it, behind a LowPrecisionOps."""
    if isinstance(ops, types.ModuleType):
        return LowPrecisionOps(ops, backend)
    for name in dir(ops):
        attr = getattr(ops, name)
        if _wrapped(name, attr):
            setattr(ops, name, _wrap(attr, name.endswith("_step"), backend))
    return ops


def _wrapped(name, attr):
    return callable(attr) and not name.startswith("_") and name not in _NOT_WRAPPED and not isinstance(attr, type)


class LowPrecisionOps:
    """The reference module's functions with the interim path (looked up, wrapped and kept on first use)."""

    def __init__(self, ops, backend):
        self._ops, self._backend = ops, backend

    def __getattr__(self, name):
        attr = getattr(self._ops, name)
        if _wrapped(name, attr):
            attr = _wrap(attr, name.endswith("_step"), self._backend)
        setattr(self, name, attr)  # later lookups find it without __getattr__
        return attr


def _wrap(fn, in_place, backend):
    def low(low_dtype, args, kwargs):
        up = [_cast(backend, a, float32) for a in args]
        out = fn(*up, **{k: _cast(backend, v, float32) for k, v in kwargs.items()})
        if in_place:
            for a, u in zip(args, up):
                if u is not a:
                    a[...] = _cast(backend, u, a.dtype)
        return _down(backend, out, low_dtype)

    if backend.name == "numpy":  # NumPy would compute bfloat16 itself: always look first
        def call(*args, **kwargs):
            low_dtype = _low_dtype(args, kwargs)
            return fn(*args, **kwargs) if low_dtype is None else low(low_dtype, args, kwargs)
    else:  # the compiled kernels refuse bfloat16/float16 with a TypeError before any work
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except TypeError:
                low_dtype = _low_dtype(args, kwargs)
                if low_dtype is None:
                    raise
            return low(low_dtype, args, kwargs)
    call.__name__ = getattr(fn, "__name__", "kernel")
    return call


def _cast(backend, a, dtype):
    dt = getattr(a, "dtype", None)
    if dt is None or dt == dtype or not isinstance(a, backend.array_type):
        return a
    if dtype == float32 and dt not in LOW_PRECISION:
        return a
    from ..ops.cast import cast_array
    return cast_array(backend, a, dtype)


def _down(backend, out, low):
    if isinstance(out, tuple):
        return tuple(_down(backend, o, low) for o in out)
    if isinstance(out, list):
        return [_down(backend, o, low) for o in out]
    return _cast(backend, out, low) if getattr(out, "dtype", None) == float32 else out
