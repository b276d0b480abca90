"""ember.nn.functional: the layers' ops as functions (linear, relu, softmax, losses, ...)."""
from .. import ops
from ..ops import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh  # noqa: F401
from ..ops.cross_entropy import cross_entropy  # noqa: F401
from ..ops.matmul import linear  # noqa: F401


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(input, target, name):
    if input.shape != target.shape:
        raise ValueError(f"{name}: input of shape {input.shape} and target of shape {target.shape} differ")


def mse_loss(input, target, reduction="mean"):
    target = ops.arith.as_tensor(target, input)
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    target = ops.arith.as_tensor(target, input)
    _same_shape(input, target, "l1_loss")
    return _reduce(abs(input - target), reduction, "l1_loss")
