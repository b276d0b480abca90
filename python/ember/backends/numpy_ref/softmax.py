"""softmax and log_softmax over the last axis of a 2-D array, max-shifted."""
import numpy as np

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]


def log_softmax_forward(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_forward(x):
    return np.exp(log_softmax_forward(x))


def softmax_backward(y, grad_out):
    return y * (grad_out - (grad_out * y).sum(axis=-1, keepdims=True))


def log_softmax_backward(y, grad_out):
    return grad_out - np.exp(y) * grad_out.sum(axis=-1, keepdims=True)
