"""embedding: rows of a weight table gathered by integer indices of any shape; the backward
is a scatter-add kernel into the table (rows equal to padding_idx get no gradient)."""
from ..autograd import Function
from ..tensor import Tensor, is_floating


class EmbeddingBackward(Function):
    def forward(self, weight, indices, padding_idx):
        self.idx_shape = indices.shape
        self.indices = self.backend.xp.ascontiguousarray(indices.reshape(-1))
        self.num, self.dim, self.padding_idx = weight.shape[0], weight.shape[1], padding_idx
        out = self.backend.ops.embedding_forward(self.backend.xp.ascontiguousarray(weight), self.indices)
        return out.reshape(self.idx_shape + weight.shape[1:])

    def backward(self, g):
        g2 = self.backend.xp.ascontiguousarray(g).reshape((self.indices.shape[0], self.dim))
        return (self.backend.ops.embedding_backward(self.indices, g2, self.num, self.padding_idx),)


def embedding(input, weight, padding_idx=None):
    """Look up rows of weight (num_embeddings, embedding_dim) at the int indices in input, as PyTorch.

    Args:
        input: int tensor of any shape, values in [0, num_embeddings).
        weight: float tensor (num_embeddings, embedding_dim).
        padding_idx: a row (negative counts from the end) whose gradient stays zero, or None.
    Returns:
        a tensor input.shape + (embedding_dim,).
    Raises:
        IndexError naming the first index out of range (on every device, before any kernel runs).
    Example:
        vecs = F.embedding(em.tensor([[1, 2], [4, 0]]), table)   # (2, 2, dim)
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("[embedding] input and weight must be Tensors")
    if input.dtype.kind not in "iu":
        raise TypeError(f"[embedding] input must hold integer indices, got {input.dtype}")
    if not is_floating(weight.dtype):
        raise TypeError(f"[embedding] weight must be float32 or float64, got {weight.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"[embedding] weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if input._backend is not weight._backend:
        raise ValueError(f"[embedding] input is on '{input.device}' but weight on '{weight.device}'")
    num = weight.shape[0]
    pad = -1
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"[embedding] padding_idx {padding_idx} is out of range for {num} embeddings")
        pad = padding_idx % num
    idx = input._data if input.dtype == "int64" else input._data.astype("int64")
    return EmbeddingBackward.apply(weight, indices=idx, padding_idx=pad)
