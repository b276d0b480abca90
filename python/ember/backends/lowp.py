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


class LowPrecisionOps:
    """A backend's `ops` (the kernels' functional wrappers, or numpy_ref) with the interim path."""

    def __init__(self, ops, backend):
        self._ops, self._backend = ops, backend

    def __getattr__(self, name):
        attr = getattr(self._ops, name)
        if callable(attr) and not name.startswith("_") and name not in _NOT_WRAPPED and not isinstance(attr, type):
            attr = self._wrap(attr, name.endswith("_step"))
        setattr(self, name, attr)  # later lookups find it without __getattr__
        return attr

    def _wrap(self, fn, in_place):
        def low(low_dtype, args, kwargs):
            up = [self._cast(a, float32) for a in args]
            out = fn(*up, **{k: self._cast(v, float32) for k, v in kwargs.items()})
            if in_place:
                for a, u in zip(args, up):
                    if u is not a:
                        a[...] = self._cast(u, a.dtype)
            return self._down(out, low_dtype)

        if self._backend.name == "numpy":  # NumPy would compute bfloat16 itself: always look first
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

    def _cast(self, a, dtype):
        dt = getattr(a, "dtype", None)
        if dt is None or dt == dtype or not isinstance(a, self._backend.array_type):
            return a
        if dtype == float32 and dt not in LOW_PRECISION:
            return a
        from ..ops.cast import cast_array
        return cast_array(self._backend, a, dtype)

    def _down(self, out, low):
        if isinstance(out, tuple):
            return tuple(self._down(o, low) for o in out)
        if isinstance(out, list):
            return [self._down(o, low) for o in out]
        return self._cast(out, low) if getattr(out, "dtype", None) == float32 else out
