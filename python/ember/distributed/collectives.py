"""The collectives on ember tensors, in place (PyTorch's signatures). Each returns None, or a Work
with wait() when async_op=True; a world of one process needs no communication."""
from ..tensor import Tensor
from .ops import ReduceOp, check_op
from .process_group import default_group
from .work import completed


def _check_tensor(t, name, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"[{what}] {name} must be an ember Tensor, got {type(t).__name__}")


def _check_like(ts, t, what, name):
    g = default_group()
    if not isinstance(ts, (list, tuple)) or len(ts) != g.size:
        raise ValueError(f"[{what}] {name} must be a list of world_size={g.size} tensors, got "
                         f"{len(ts) if isinstance(ts, (list, tuple)) else type(ts).__name__}")
    for i, x in enumerate(ts):
        _check_tensor(x, f"{name}[{i}]", what)
        if x.shape != t.shape or x.dtype != t.dtype:
            raise ValueError(f"[{what}] {name}[{i}] is {x.dtype} of shape {x.shape}, expected {t.dtype} of shape "
                             f"{t.shape}")


def _ret(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce tensor over every rank, in place: afterwards every rank holds the same result.

    Args:
        op: ReduceOp.SUM, AVG (floating dtypes), PRODUCT, MAX or MIN.
        async_op: return a Work at once; the result is in tensor after work.wait().
    Example:
        dist.all_reduce(grad, op=dist.ReduceOp.AVG)
    """
    _check_tensor(tensor, "tensor", "all_reduce")
    op = check_op(op, tensor.dtype, "all_reduce")
    g = _group(group)
    if g.size == 1:
        return _ret(completed("all_reduce"), async_op)
    return _ret(g.backend.all_reduce(tensor, op), async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank src's tensor into every rank's tensor (same shape and dtype everywhere)."""
    _check_tensor(tensor, "tensor", "broadcast")
    g = _group(group)
    if not isinstance(src, int) or not 0 <= src < g.size:
        raise ValueError(f"[broadcast] src must be a rank in [0, {g.size}), got {src!r}")
    if g.size == 1:
        return _ret(completed("broadcast"), async_op)
    return _ret(g.backend.broadcast(tensor, src), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] receives rank r's tensor, on every rank.

    Example:
        parts = [em.zeros_like(t) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, t)
    """
    _check_tensor(tensor, "tensor", "all_gather")
    _check_like(tensor_list, tensor, "all_gather", "tensor_list")
    g = _group(group)
    if g.size == 1:
        tensor_list[0]._data[...] = tensor_list[0]._backend.move(tensor._data, tensor._backend)
        return _ret(completed("all_gather"), async_op)
    return _ret(g.backend.all_gather(tensor_list, tensor), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output on rank r receives the reduction over ranks of input_list[r]."""
    _check_tensor(output, "output", "reduce_scatter")
    _check_like(input_list, output, "reduce_scatter", "input_list")
    op = check_op(op, output.dtype, "reduce_scatter")
    g = _group(group)
    if g.size == 1:
        output._data[...] = output._backend.move(input_list[0]._data, input_list[0]._backend)
        return _ret(completed("reduce_scatter"), async_op)
    return _ret(g.backend.reduce_scatter(output, input_list, op), async_op)


def barrier(group=None, async_op=False):
    """Return once every rank has called barrier."""
    g = _group(group)
    if g.size == 1:
        return _ret(completed("barrier"), async_op)
    return _ret(g.backend.barrier(), async_op)


def _group(g):
    if g is not None:
        raise ValueError("ember.distributed has only the default group; pass group=None")
    return default_group()


def host_all_reduce(array, op=ReduceOp.SUM):
    """Sum (or max/min) a small NumPy array over every rank in place, over MPI whatever the backend
    (for metrics and counters, which live on the host)."""
    g = default_group()
    if g.size > 1:
        from ..tensor import from_numpy
        from .mpi import MpiBackend
        MpiBackend(g).all_reduce(from_numpy(array), check_op(op, array.dtype, "host_all_reduce")).wait()
    return array
