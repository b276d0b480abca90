"""Argument checks shared by every op, so each failure reads the same wherever it is caught.

Messages start with the op's name as '[op] ...', the style of the kernels' bindings."""
from ..tensor import LOW_PRECISION, Tensor, float32, is_floating

REDUCTIONS = ("mean", "sum", "none")


INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def int64(v, name, op):
    """v, unchanged, when it fits int64 (what the kernels and PyTorch take): ValueError naming it otherwise."""
    if not INT64_MIN <= v <= INT64_MAX:
        raise ValueError(f"[{op}] {name} {v} is outside the range of int64 [-2**63, 2**63 - 1]")
    return v


def pair(v, name, op):
    """An int or a pair of ints (each within int64) as a tuple (h, w); TypeError otherwise."""
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(i, int) for i in v):
        return int(int64(v[0], name, op)), int(int64(v[1], name, op))
    if isinstance(v, int) and not isinstance(v, bool):
        return (int(int64(v, name, op)),) * 2
    raise TypeError(f"[{op}] {name} must be an int or a pair of ints, got {v!r}")


def float_tensor(x, name, op, like=None):
    """x, checked to be a float Tensor (and on like's device, of like's dtype, when like is given)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"[{op}] {name} must be a Tensor, got {type(x).__name__}")
    if not is_floating(x.dtype):  # bfloat16/float16 run through float32 kernels (backends/lowp.py)
        raise TypeError(f"[{op}] {name} must be float32 or float64, got {x.dtype}")
    if like is not None:
        check_like(x, name, like, op)
    return x


def check_like(x, name, like, op):
    """x on like's device and of like's dtype (ValueError / TypeError naming both)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"[{op}] {name} must be a Tensor, got {type(x).__name__}")
    if x._backend is not like._backend:
        raise ValueError(f"[{op}] {name} is on '{x.device}' but the input is on '{like.device}'")
    if x.dtype != like.dtype:
        raise TypeError(f"[{op}] {name} is {x.dtype} but the input is {like.dtype}")
    return x


def check_reduction(reduction, op):
    if reduction not in REDUCTIONS:
        raise ValueError(f"[{op}] reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def low_input_float32_params(x, *params):
    """Whether x is bfloat16/float16 while a given parameter is float32: the norms then run on
    float32(x) and cast their result back to x's dtype (PyTorch's mixed norms, which autocast's
    float32 parameters meet)."""
    return x.dtype in LOW_PRECISION and any(p is not None and p.dtype == float32 for p in params)
