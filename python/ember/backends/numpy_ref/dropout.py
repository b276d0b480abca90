"""dropout with a given keep-mask (bool, drawn by the op layer): y = x * mask * scale, scale = 1 / (1 - p)."""
import numpy as np

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, mask, scale):
    return np.where(mask, x * x.dtype.type(scale), x.dtype.type(0))


def dropout_backward(mask, grad_out, scale):
    return np.where(mask, grad_out * grad_out.dtype.type(scale), grad_out.dtype.type(0))
