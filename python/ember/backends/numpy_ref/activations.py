"""Elementwise activations and their derivatives."""
import math

import numpy as np

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "gelu_forward", "gelu_backward", "elu_forward", "elu_backward", "silu_forward", "silu_backward",
    "softplus_forward", "softplus_backward", "hardtanh_forward", "hardtanh_backward",
]

_erf = np.frompyfunc(math.erf, 1, 1)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def erf(x):
    """math.erf elementwise: exact to double precision, slow, fine for a reference."""
    x = np.asarray(x)  # frompyfunc gives a Python float for a 0-d array or a NumPy scalar
    return np.asarray(_erf(x)).astype(x.dtype) if x.size else x.copy()


def relu_forward(x):  # x <= 0, not x > 0: a NaN passes through, as in PyTorch
    return np.where(x <= 0, np.zeros_like(x), x)


def relu_backward(x, grad_out):
    return np.where(x <= 0, np.zeros_like(grad_out), grad_out)


def leaky_relu_forward(x, slope):
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_backward(x, grad_out, slope):
    return np.where(x > 0, grad_out, grad_out * x.dtype.type(slope))


def sigmoid_forward(x):
    # exp of -|x| never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def sigmoid_backward(y, grad_out):
    return grad_out * y * (1 - y)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(y, grad_out):
    return grad_out * (1 - y * y)


def gelu_forward(x, approximate):
    if approximate:
        return (0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))).astype(x.dtype)
    return (0.5 * x * (1 + erf(x / math.sqrt(2.0)))).astype(x.dtype)


def gelu_backward(x, grad_out, approximate):
    if approximate:
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    else:
        d = 0.5 * (1 + erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return (grad_out * d).astype(x.dtype)


def elu_forward(x, alpha):
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))


def elu_backward(saved, grad_out, alpha, is_result):
    """From x (alpha e^x), or from the output y (y + alpha) when is_result; where saved <= 0."""
    a = saved.dtype.type(alpha)
    d = saved + a if is_result else a * np.exp(np.minimum(saved, 0))
    return np.where(saved <= 0, grad_out * d, grad_out)


def silu_forward(x):
    return np.where(x < -800, x.dtype.type(-0.0), x * sigmoid_forward(np.maximum(x, -800)))


def silu_backward(x, grad_out):
    v = np.clip(x, -800, 800)
    s = sigmoid_forward(v)
    return (grad_out * (s * (1 + v * (1 - s)))).astype(x.dtype)


def softplus_forward(x, beta, threshold):
    b = x.dtype.type(beta)
    u = x * b
    return np.where(u > threshold, x, (np.maximum(u, 0) + np.log1p(np.exp(-np.abs(u)))) / b).astype(x.dtype)


def softplus_backward(x, grad_out, beta, threshold):
    u = x * x.dtype.type(beta)
    return np.where(u > threshold, grad_out, grad_out * sigmoid_forward(u)).astype(x.dtype)


def hardtanh_forward(x, min_val, max_val):
    lo, hi = x.dtype.type(min_val), x.dtype.type(max_val)
    return np.where(x < lo, lo, np.where(x > hi, hi, x))  # a NaN passes


def hardtanh_backward(x, grad_out, min_val, max_val):
    return np.where((x <= min_val) | (x >= max_val), np.zeros_like(grad_out), grad_out)
