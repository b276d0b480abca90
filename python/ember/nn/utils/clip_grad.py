"""Gradient clipping, in place on the parameters' .grad, as torch.nn.utils."""
import math

from ...tensor import Tensor, tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most max_norm.

    Args:
        parameters: tensors (or one tensor) whose .grad is clipped in place.
        max_norm: the largest norm allowed; norm_type: p of the p-norm ('inf' or math.inf for the max).
        error_if_nonfinite: raise RuntimeError when the norm is nan or inf.
    Returns:
        the total norm of the gradients before clipping (a 0-d tensor).
    Example:
        em.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if max_norm < 0:
        raise ValueError(f"[clip_grad_norm_] max_norm must be non-negative, got {max_norm}")
    if not grads:
        return tensor(0.0)
    if math.isinf(norm_type):
        total = max(float(abs(g._data).max()) if g.numel() else 0.0 for g in grads)
    else:
        total = sum(float((abs(g._data) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"[clip_grad_norm_] the total norm of order {norm_type} of the gradients is {total}; "
                           "pass error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g._data *= g.dtype.type(coef)
    return tensor(total, dtype=grads[0].dtype, device=grads[0]._backend)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value], in place.

    Example:
        em.nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    if clip_value < 0:
        raise ValueError(f"[clip_grad_value_] clip_value must be non-negative, got {clip_value}")
    for g in _grads(parameters):
        g._backend.xp.clip(g._data, -clip_value, clip_value, out=g._data)


def parameters_to_vector(parameters):
    """All parameters flattened into one 1-D tensor (a copy)."""
    from ...ops import cat
    return cat([p.reshape(-1) for p in parameters])
