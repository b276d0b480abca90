"""batch_norm over x (N, C, L): per channel c, over the N*L values of that channel.

    training: mean, var = batch mean and biased variance (returned, for the running stats)
    otherwise: mean, var = the given running statistics
    y = (x - mean) / sqrt(var + eps) * weight + bias        (weight, bias None: affine off)
backward (training): gx = w rstd (gy - mean(gy) - xhat mean(gy xhat)); eval: gx = w rstd gy;
    gw = sum(gy xhat), gb = sum(gy).
"""
import numpy as np

__all__ = ["batch_norm_forward", "batch_norm_backward"]


def batch_norm_forward(x, weight, bias, mean, var, eps, training):
    """(y, mean, var): in training the batch statistics, otherwise `mean` and `var` as given."""
    if training:
        mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    y = (x - mean[:, None]) / np.sqrt(var[:, None] + eps)
    if weight is not None:
        y = y * weight[:, None]
    if bias is not None:
        y = y + bias[:, None]
    return y, mean, var


def batch_norm_backward(x, grad_out, weight, mean, var, eps, training, need_affine=True):
    """(grad_x, grad_weight, grad_bias); the last two are None unless need_affine."""
    rstd = 1 / np.sqrt(var + eps)[:, None]
    xhat = (x - mean[:, None]) * rstd
    w = 1 if weight is None else weight[:, None]
    gy = grad_out
    if training:
        gx = w * rstd * (gy - gy.mean(axis=(0, 2))[:, None] - xhat * (gy * xhat).mean(axis=(0, 2))[:, None])
    else:
        gx = w * rstd * gy
    if not need_affine:
        return gx, None, None
    return gx, (gy * xhat).sum(axis=(0, 2)), gy.sum(axis=(0, 2))
