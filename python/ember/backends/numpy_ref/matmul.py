"""Batched matmul on 3-D arrays (a batch of 1 broadcasts), or 2-D @ 2-D."""
import numpy as np

__all__ = ["matmul_forward", "matmul_backward"]


def _op(x, trans):
    return np.swapaxes(x, -1, -2) if trans else x


def _sum_batch(g, like):
    return g.sum(axis=0, keepdims=True) if like.ndim == 3 and like.shape[0] == 1 and g.shape[0] != 1 else g


def matmul_forward(a, b, trans_a=False, trans_b=False):
    return np.matmul(_op(a, trans_a), _op(b, trans_b))


def matmul_backward(a, b, grad_out, need_a, need_b, trans_a=False, trans_b=False):
    ga = gb = None
    if need_a:
        g = np.matmul(grad_out, np.swapaxes(_op(b, trans_b), -1, -2))
        ga = np.ascontiguousarray(_op(_sum_batch(g, a), trans_a))
    if need_b:
        g = np.matmul(np.swapaxes(_op(a, trans_a), -1, -2), grad_out)
        gb = np.ascontiguousarray(_op(_sum_batch(g, b), trans_b))
    return ga, gb
