"""ReduceOp: the reductions all_reduce and reduce_scatter accept (PyTorch's names)."""
import enum


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


def check_op(op, dtype, what):
    """op as a ReduceOp; AVG needs a floating dtype (an integer mean is not defined here)."""
    if isinstance(op, str):
        try:
            op = ReduceOp[op.upper()]
        except KeyError:
            raise ValueError(f"[{what}] unknown op {op!r}; known: {', '.join(o.name for o in ReduceOp)}") from None
    if not isinstance(op, ReduceOp):
        raise TypeError(f"[{what}] op must be a ReduceOp, got {type(op).__name__}")
    if op is ReduceOp.AVG and dtype.kind != "f" and dtype.name not in ("bfloat16",):
        raise TypeError(f"[{what}] ReduceOp.AVG needs a floating-point tensor, got {dtype}")
    return op
