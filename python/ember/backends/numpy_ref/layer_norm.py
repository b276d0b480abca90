"""layer_norm over the last axis of a 2-D array (rows, cols): the plain formulas.

    y = (x - mean) * rstd * weight + bias,   rstd = 1 / sqrt(var + eps)  (biased variance)
    gx = rstd * (gxh - mean(gxh) - xhat * mean(gxh * xhat)),  gxh = gy * weight
"""
import numpy as np

__all__ = ["layer_norm_forward", "layer_norm_backward"]


def layer_norm_forward(x, weight, bias, eps):
    """(y, mean, rstd) with mean and rstd of shape (rows,); weight/bias (cols,) or None."""
    mean = x.mean(axis=1)
    var = ((x - mean[:, None]) ** 2).mean(axis=1)
    rstd = 1 / np.sqrt(var + eps)
    y = (x - mean[:, None]) * rstd[:, None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype), mean.astype(x.dtype), rstd.astype(x.dtype)


def layer_norm_backward(x, mean, rstd, weight, grad_out, need_weight, need_bias):
    """(grad_x, grad_weight or None, grad_bias or None)."""
    xhat = (x - mean[:, None]) * rstd[:, None]
    gxh = grad_out * weight if weight is not None else grad_out
    gx = rstd[:, None] * (gxh - gxh.mean(axis=1, keepdims=True) - xhat * (gxh * xhat).mean(axis=1, keepdims=True))
    gw = (grad_out * xhat).sum(axis=0) if need_weight else None
    gb = grad_out.sum(axis=0) if need_bias else None
    return gx.astype(x.dtype), gw, gb
