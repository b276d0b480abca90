"""cast between float32/float64 and bfloat16/float16 (one side low precision): NumPy's and
ml_dtypes' astype (round to nearest even, overflow to inf, denormals kept), with float16's NaN
as F16C (and PyTorch) make it: quiet, sign and top payload bits kept, both ways. cast_backward
is the same conversion of the gradient back to the input's dtype."""
import numpy as np

__all__ = ["cast_forward", "cast_backward"]

_F16 = np.dtype(np.float16)
_QUIET = {np.dtype(np.float32): (np.uint32, 1 << 22), np.dtype(np.float64): (np.uint64, 1 << 51)}


def cast_forward(x, dtype):
    dtype = np.dtype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN stays NaN, overflow gives inf: both defined
        y = x.astype(dtype)
    nan = np.isnan(x) if x.dtype == _F16 or dtype == _F16 else None
    if nan is None or not nan.any():
        return y
    if dtype == _F16:  # NumPy keeps a signalling NaN signalling and may set the lowest bit
        u = x[nan].astype(np.float32).view(np.uint32)
        y.view(np.uint16)[nan] = ((u >> 16) & 0x8000) | 0x7e00 | ((u >> 13) & 0x1ff)
    else:
        bits, quiet = _QUIET[dtype]
        y.view(bits)[nan] |= bits(quiet)
    return y


def cast_backward(grad_out, dtype):
    return cast_forward(grad_out, dtype)
