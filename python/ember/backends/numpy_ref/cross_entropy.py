"""Cross-entropy from logits (N, C) and int64 labels (N,), per row."""
import numpy as np

from .softmax import log_softmax_forward

__all__ = ["cross_entropy_forward", "cross_entropy_backward", "check_labels"]


def check_labels(labels, classes):
    bad = np.flatnonzero((labels < 0) | (labels >= classes))
    if bad.size:
        r = int(bad[0])
        raise IndexError(f"[cross_entropy] label {int(labels[r])} at row {r} is out of range for {classes} classes")


def cross_entropy_forward(logits, labels):
    check_labels(labels, logits.shape[1])
    logp = log_softmax_forward(logits)
    return -logp[np.arange(len(labels)), labels]


def cross_entropy_backward(logits, labels, grad_loss):
    check_labels(labels, logits.shape[1])
    g = np.exp(log_softmax_forward(logits))
    g[np.arange(len(labels)), labels] -= 1
    return g * grad_loss[:, None]
