"""The conversions behind Tensor.to(dtype): between float32/float64 and bfloat16/float16 through
the cast kernels (on numpy, their reference), everything else with the array module's astype.
bfloat16 <-> float16 goes through float32, which holds both exactly (one rounding).

bfloat16 on cuda: CuPy has no bfloat16 dtype, so ember refuses it there (float16 works)."""
from ..tensor import LOW_PRECISION, bfloat16, float32, float64

_WIDE = (float32, float64)


def cast_array(backend, a, dtype, backward=False):
    """a (an array of backend) as dtype, a new array; backward picks the kernel entry of the gradient."""
    src = a.dtype
    if dtype == bfloat16 and backend.name == "cuda":
        raise TypeError("[cast] bfloat16 is not supported on cuda (CuPy has no bfloat16 dtype); "
                        "use float16 (Tensor.half()) there")
    if src in LOW_PRECISION and dtype in LOW_PRECISION and src != dtype:
        return cast_array(backend, cast_array(backend, a, float32, backward), dtype, backward)
    if (src in LOW_PRECISION and dtype in _WIDE) or (dtype in LOW_PRECISION and src in _WIDE):
        a = backend.xp.ascontiguousarray(a)
        return backend.ops.cast_backward(a, dtype) if backward else backend.ops.cast_forward(a, dtype)
    return a.astype(dtype)
