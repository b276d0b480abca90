"""Dropout: zero elements with probability p in training (scaling the rest by 1/(1-p)), identity in eval."""
from ..ops.dropout import dropout, dropout2d
from .module import Module


class Dropout(Module):
    """Example:
        drop = em.nn.Dropout(0.5)
        model.eval()   # drop becomes the identity
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"[Dropout] p must be a probability in [0, 1], got {p!r}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout2d(Module):
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability p in training, scaling
    the kept ones by 1/(1-p); identity in eval.

    Example:
        drop = em.nn.Dropout2d(0.2)
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"[Dropout2d] p must be a probability in [0, 1], got {p!r}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return dropout2d(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
