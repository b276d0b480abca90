"""embedding: rows of a table gathered by int64 indices; backward scatter-adds into the rows.

    out[k] = weight[indices[k]]                        indices (n,), weight (num, dim), out (n, dim)
    grad_weight[r] = sum_{k: indices[k] == r} grad_out[k]   (row padding_idx stays 0)
"""
import numpy as np

__all__ = ["embedding_forward", "embedding_backward"]


def _check(indices, num):
    bad = (indices < 0) | (indices >= num)
    if bad.any():
        k = int(np.argmax(bad))
        raise IndexError(f"[embedding] index {int(indices[k])} at position {k} is out of range for "
                         f"{num} embeddings")


def embedding_forward(weight, indices):
    _check(indices, weight.shape[0])
    return weight[indices]


def embedding_backward(indices, grad_out, num_embeddings, padding_idx):
    """padding_idx: a row in [0, num) whose gradient stays zero, or -1 for none."""
    _check(indices, num_embeddings)
    gw = np.zeros((num_embeddings, grad_out.shape[1]), dtype=grad_out.dtype)
    np.add.at(gw, indices, grad_out)
    if padding_idx >= 0:
        gw[padding_idx] = 0
    return gw
