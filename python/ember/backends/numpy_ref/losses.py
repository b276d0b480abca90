"""Elementwise losses of input x against target t (per item) and their gradients w.r.t. x."""
import numpy as np

__all__ = [
    "mse_forward", "mse_backward", "l1_forward", "l1_backward", "smooth_l1_forward", "smooth_l1_backward",
    "bce_forward", "bce_backward", "bce_with_logits_forward", "bce_with_logits_backward",
]


def mse_forward(x, t):
    return (x - t) ** 2


def mse_backward(x, t, grad_out):
    return grad_out * (2 * (x - t))


def l1_forward(x, t):
    return np.abs(x - t)


def l1_backward(x, t, grad_out):
    return grad_out * np.sign(x - t)


def smooth_l1_forward(x, t, beta):
    d = x - t
    if beta == 0:
        return np.abs(d)
    return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta).astype(x.dtype)


def smooth_l1_backward(x, t, grad_out, beta):
    d = x - t
    if beta == 0:
        return grad_out * np.sign(d)
    return (grad_out * np.where(np.abs(d) < beta, d / beta, np.sign(d))).astype(x.dtype)


def bce_forward(x, t):
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log(x), -100)
        l1x = np.maximum(np.log1p(-x), -100)
    return (-(t * lx + (1 - t) * l1x)).astype(x.dtype)


def bce_backward(x, t, grad_out):
    return (grad_out * (x - t) / np.maximum((1 - x) * x, x.dtype.type(1e-12))).astype(x.dtype)


def _softplus_neg(x):
    return np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def bce_with_logits_forward(x, t, pos_weight):
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
    return ((1 - t) * x + lw * _softplus_neg(x)).astype(x.dtype)


def bce_with_logits_backward(x, t, pos_weight, grad_out):
    s = _sigmoid(x)
    d = s - t if pos_weight is None else (pos_weight * t + 1 - t) * s - pos_weight * t
    return (grad_out * d).astype(x.dtype)
