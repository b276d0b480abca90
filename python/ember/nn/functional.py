"""ember.nn.functional: the layers' ops as functions (linear, relu, softmax, losses, ...)."""
from .. import ops
from ..ops import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh  # noqa: F401
from ..ops.matmul import linear  # noqa: F401
from ..ops.layer_norm import layer_norm  # noqa: F401
from ..ops.embedding import embedding  # noqa: F401


def _reduce(loss, reduction, name="loss"):
    if reduction == "mean":  # the mean of no items is NaN, as PyTorch, without NumPy's warning
        return _divide(loss.sum(), float(loss.numel())) if loss.numel() == 0 else loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"[{name}] reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(input, target, name):
    if input.shape != target.shape:
        raise ValueError(f"[{name}] input of shape {input.shape} and target of shape {target.shape} differ")


def _fused(input, target):
    """Whether the loss kernels (ember.ops.losses) apply: a float input and a target of its dtype and device."""
    return _is_floating(input.dtype) and target.dtype == input.dtype and target._backend is input._backend


def mse_loss(input, target, reduction="mean"):
    target = ops.arith.as_tensor(target, input)
    _same_shape(input, target, "mse_loss")
    if _fused(input, target):
        from ..ops.losses import MSELossBackward
        return _reduce(MSELossBackward.apply(input, target), reduction, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    target = ops.arith.as_tensor(target, input)
    _same_shape(input, target, "l1_loss")
    if _fused(input, target):
        from ..ops.losses import L1LossBackward
        return _reduce(L1LossBackward.apply(input, target), reduction, "l1_loss")
    return _reduce(abs(input - target), reduction, "l1_loss")


# ---- losses with PyTorch's semantics --------------------------------------
# Plain cross-entropy (no weight, no smoothing, class indices) stays on the fused kernel;
# the other forms compose log_softmax (a kernel) with a constant coefficient array, so
# one stable formula covers weight, ignore_index, label_smoothing and probabilities:
#     loss[n] = -sum_c logp[n, c] * coef[n, c]
import numpy as _np  # noqa: E402

from ..ops._checks import check_reduction as _check_reduction  # noqa: E402
from ..ops._checks import float_tensor, int64  # noqa: E402
from ..ops.cross_entropy import cross_entropy as _cross_entropy_fused  # noqa: E402
from ..ops.losses import BCELossBackward, BCEWithLogitsLossBackward  # noqa: E402
from ..tensor import Tensor as _Tensor  # noqa: E402
from ..tensor import tensor as _tensor  # noqa: E402
# ---- mixed precision ----
from ..amp.autocast import to_float32 as _autocast_float32  # noqa: E402
from ..tensor import is_floating as _is_floating  # noqa: E402
# ---- end mixed precision ----

def _on(value, like, name, arg):
    """value (Tensor, array, list or None) as a tensor of like's device and dtype."""
    if value is None:
        return None
    t = value if isinstance(value, _Tensor) else _tensor(value, device=like._backend)
    if t._backend is not like._backend:
        raise ValueError(f"[{name}] {arg} is on '{t.device}' but input on '{like.device}'")
    return t if t.dtype == like.dtype else t.to(dtype=like.dtype)


def _class_weight(weight, input, classes, name):
    w = _on(weight, input, name, "weight")
    if w is not None and w.shape != (classes,):
        raise ValueError(f"[{name}] weight must have shape ({classes},) for {classes} classes, got {w.shape}")
    return w


def _index_coef(input, target, weight, ignore_index, smoothing, name):
    """(coef, denominator) for class-index targets; raises IndexError naming a bad label."""
    xp, classes = input._backend.xp, input.shape[1]
    t = target._data
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= classes))
    if bool(bad.any()):
        flat = bad.reshape(-1)
        i = int(xp.argmax(flat))
        label = int(t.reshape(-1)[i])
        raise IndexError(f"[{name}] label {label} at position {i} is out of range for {classes} classes"
                         + (" (negative labels are only allowed as ignore_index)" if label < 0 else ""))
    safe = xp.where(valid, t, 0)
    dt = input.dtype
    cshape = (1, classes) + (1,) * (input.ndim - 2)
    onehot = (xp.arange(classes).reshape(cshape) == xp.expand_dims(safe, 1)).astype(dt)
    w = xp.ones(classes, dtype=dt) if weight is None else weight._data
    w_target = w[safe] * valid.astype(dt)                      # (N, d...)
    coef = onehot * xp.expand_dims(w_target, 1) * dt.type(1 - smoothing)
    if smoothing:
        coef = coef + w.reshape(cshape) * xp.expand_dims(valid.astype(dt), 1) * dt.type(smoothing / classes)
    return _Tensor._wrap(coef, input._backend), _Tensor._wrap(xp.asarray(w_target.sum()), input._backend)


def _divide(total, denom):
    with _np.errstate(invalid="ignore", divide="ignore"):  # all targets ignored: nan, as PyTorch
        return total / denom


def _nd_input(input, target, name, prob):
    """(N, C, d...) input and its target; a (C,) input with a () target becomes one row."""
    if input.ndim == 1:
        want = input.shape if prob else ()
        if target.shape != want:
            raise ValueError(f"[{name}] input of shape {input.shape} needs target of shape {want}, "
                             f"got {target.shape}")
        return input.unsqueeze(0), target.unsqueeze(0), True
    if input.ndim < 1:
        raise ValueError(f"[{name}] input must have a class dimension, got shape {input.shape}")
    want = input.shape if prob else input.shape[:1] + input.shape[2:]
    if target.shape != want:
        raise ValueError(f"[{name}] input of shape {input.shape} needs target of shape {want}, got {target.shape}")
    return input, target, False


def _weighted_nll(logp, target, weight, ignore_index, reduction, smoothing, name):
    """The shared body of nll_loss and cross_entropy on (N, C, d...) log-probabilities."""
    classes = logp.shape[1]
    if target.dtype.kind == "f":  # class probabilities
        coef = target * (1 - smoothing) + smoothing / classes if smoothing else target
        if weight is not None:
            coef = coef * weight.reshape((1, classes) + (1,) * (logp.ndim - 2))
        loss = -(logp * coef).sum(dim=1)
        if reduction == "mean":
            return _divide(loss.sum(), float(max(loss.numel(), 0)))
        return loss.sum() if reduction == "sum" else loss
    coef, denom = _index_coef(logp, target, weight, ignore_index, smoothing, name)
    # a class the coefficient skips adds nothing even at logp = -inf (PyTorch gathers, never 0 * -inf)
    used = _Tensor._wrap(coef._data != 0, logp._backend)
    loss = -(ops.arith.where(used, logp, 0.0) * coef).sum(dim=1)
    if reduction == "mean":
        return _divide(loss.sum(), denom)
    return loss.sum() if reduction == "sum" else loss


def _target(target, input, name):
    if not isinstance(target, _Tensor):
        target = _tensor(target, device=input._backend)
    if target._backend is not input._backend:
        raise ValueError(f"[{name}] input is on '{input.device}' but target on '{target.device}'")
    if target.dtype.kind == "b":
        raise TypeError(f"[{name}] target must hold class indices (int) or probabilities (float), got bool")
    return target


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and class indices or class probabilities, as PyTorch's.

    Args:
        input: logits (N, C), (N, C, d1, ...) or (C,).
        target: int class indices (N,) / (N, d1, ...) / (), or float probabilities shaped like input.
        weight: optional (C,) rescaling of each class.
        ignore_index: index targets equal to it add nothing (and are not counted by 'mean').
        reduction: 'mean' | 'sum' | 'none'.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.
    Returns:
        the loss: a scalar, or per element for reduction='none'.
    Example:
        loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
    """
    name = "cross_entropy"
    float_tensor(input, "input", name)
    _check_reduction(reduction, name)
    ignore_index = int64(ignore_index, "ignore_index", name)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"[{name}] label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _target(target, input, name)
    prob = target.dtype.kind == "f"
    if prob and target.shape != input.shape:
        raise TypeError(f"[{name}] target must hold integer class indices, or float class probabilities shaped like "
                        f"the input {input.shape}; got {target.dtype} of shape {target.shape}")
    if prob and target.dtype != input.dtype:
        target = target.to(dtype=input.dtype)
    x, t, one = _nd_input(input, target, name, prob)
    classes = x.shape[1]
    weight = _class_weight(weight, x, classes, name)
    if not prob and weight is None and not label_smoothing and not 0 <= ignore_index < classes:
        try:
            out = _cross_entropy_fused(x, t, reduction)
            return out.reshape(()) if one and reduction == "none" else out
        except IndexError:
            if not bool((t._data == ignore_index).any()):
                raise
    out = _weighted_nll(log_softmax(x, dim=1), t, weight, ignore_index, reduction, label_smoothing, name)
    return out.reshape(()) if one and reduction == "none" else out


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C[, d...]) at int class indices, as PyTorch's.

    Example:
        loss = F.nll_loss(F.log_softmax(logits, dim=1), labels)
    """
    name = "nll_loss"
    float_tensor(input, "input", name)
    input = _autocast_float32(input)  # ember.autocast runs nll_loss in float32, as PyTorch
    _check_reduction(reduction, name)
    ignore_index = int64(ignore_index, "ignore_index", name)
    target = _target(target, input, name)
    if target.dtype.kind == "f":
        raise TypeError(f"[{name}] target must hold integer class indices, got {target.dtype}")
    x, t, one = _nd_input(input, target, name, False)
    weight = _class_weight(weight, x, x.shape[1], name)
    out = _weighted_nll(x, t, weight, ignore_index, reduction, 0.0, name)
    return out.reshape(()) if one and reduction == "none" else out


def _bce_args(input, target, weight, name):
    float_tensor(input, "input", name)
    target = _on(target, input, name, "target")
    if target.shape != input.shape:
        raise ValueError(f"[{name}] target of shape {target.shape} must have the input's shape {input.shape}")
    w = _on(weight, input, name, "weight")
    if w is not None:
        try:
            _np.broadcast_shapes(w.shape, input.shape)
        except ValueError:
            raise ValueError(f"[{name}] weight of shape {w.shape} does not broadcast to {input.shape}") from None
    return target, w


def _check_unit_range(x, name, arg):
    """PyTorch refuses BCE inputs and targets outside [0, 1] (NaN included): the loss has no meaning there."""
    lo, hi = (float(x._data.min()), float(x._data.max())) if x.numel() else (0.0, 1.0)
    if not (0 <= lo and hi <= 1):  # NaN fails both
        raise ValueError(f"[{name}] all elements of {arg} should be between 0 and 1, i.e. in [0, 1]; "
                         f"got values in [{lo}, {hi}]")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities in [0, 1], logs clamped at -100 as PyTorch.

    Example:
        loss = F.binary_cross_entropy(F.sigmoid(logits), targets)
    """
    name = "binary_cross_entropy"
    _check_reduction(reduction, name)
    target, w = _bce_args(input, target, weight, name)
    _check_unit_range(input, name, "input")
    _check_unit_range(target, name, "target")
    wd = None if w is None else input._backend.xp.broadcast_to(w._data, input.shape)
    return _reduce(BCELossBackward.apply(input, target, weight=wd), reduction)  # _bce_args matched dtype and device


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable formula, as PyTorch's (pos_weight per class, last axis).

    Example:
        loss = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=em.tensor([3.0]))
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, name)
    target, w = _bce_args(input, target, weight, name)
    pw = _on(pos_weight, input, name, "pos_weight")
    xp = input._backend.xp
    if pw is not None:
        try:
            _np.broadcast_shapes(pw.shape, input.shape)
        except ValueError:
            raise ValueError(f"[{name}] pos_weight of shape {pw.shape} does not broadcast to {input.shape}") from None
    wd = None if w is None else xp.broadcast_to(w._data, input.shape)
    pwd = None if pw is None else xp.broadcast_to(pw._data, input.shape)
    return _reduce(BCEWithLogitsLossBackward.apply(input, target, weight=wd, pos_weight=pwd), reduction)


def _abs_diff(input, target, name):
    float_tensor(input, "input", name)
    target = _on(target, input, name, "target")
    _same_shape(input, target, name)
    d = input - target
    return d, abs(d)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (d = input - target), as PyTorch's.

    Example:
        loss = F.smooth_l1_loss(pred, y, beta=0.5)
    """
    name = "smooth_l1_loss"
    _check_reduction(reduction, name)
    if beta < 0:
        raise ValueError(f"[{name}] beta must be non-negative, got {beta}")
    float_tensor(input, "input", name)
    t = _on(target, input, name, "target")
    _same_shape(input, t, name)
    if _fused(input, t):
        from ..ops.losses import SmoothL1LossBackward
        return _reduce(SmoothL1LossBackward.apply(input, t, param=float(beta)), reduction)
    d, a = _abs_diff(input, target, name)
    if beta == 0:
        return _reduce(a, reduction)
    from ..ops import where
    return _reduce(where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2), as PyTorch's.

    Example:
        loss = F.huber_loss(pred, y, delta=2.0)
    """
    name = "huber_loss"
    _check_reduction(reduction, name)
    if delta <= 0:
        raise ValueError(f"[{name}] delta must be positive, got {delta}")
    float_tensor(input, "input", name)
    t = _on(target, input, name, "target")
    _same_shape(input, t, name)
    if _fused(input, t):
        from ..ops.losses import SmoothL1LossBackward
        return _reduce(SmoothL1LossBackward.apply(input, t, param=float(delta), scale=float(delta)), reduction)
    d, a = _abs_diff(input, target, name)
    from ..ops import where
    return _reduce(where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta), reduction)

# ---- convolution, pooling, normalization, dropout ------------------------------------
from ..ops.conv2d import conv2d  # noqa: E402,F401
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: E402,F401
from ..ops.batch_norm import batch_norm  # noqa: E402,F401
from ..ops.dropout import dropout  # noqa: E402,F401
from ..ops.attention import scaled_dot_product_attention  # noqa: E402,F401

# ---- PyTorch's names ----
from ..ops.dropout import dropout2d  # noqa: E402,F401
# ---- activations with inplace= (elu, silu, softplus, hardtanh, relu6) and interpolate ----
from ..ops.activations import elu, hardtanh, relu6, silu, softplus  # noqa: E402,F401
from ..ops.interpolate import interpolate  # noqa: E402,F401
# ---- transposed convolution ------------------------------------------------------------
from ..ops.conv_transpose2d import conv_transpose2d  # noqa: E402,F401
