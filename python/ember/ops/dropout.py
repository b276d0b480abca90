"""dropout: the keep-mask is drawn on the host from ember's seeded generator (so a seed drops
the same items on every device), then one kernel applies it forward and one backward."""
import numpy as np

from ..autograd import Function
from ..random import generator
from ._checks import float_tensor


class DropoutBackward(Function):
    # asarray(order="C"), not ascontiguousarray: that one makes a 0-d input 1-d
    def forward(self, x, mask, scale):
        self.mask, self.scale = mask, scale
        return self.backend.ops.dropout_forward(self.backend.xp.asarray(x, order="C"), mask, scale)

    def backward(self, g):
        return (self.backend.ops.dropout_backward(self.mask, self.backend.xp.asarray(g, order="C"), self.scale),)


def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (identity unless training).

    Args:
        input: any float tensor. p: drop probability in [0, 1]. training: off -> returns input.
    Example:
        em.manual_seed(0); y = F.dropout(x, 0.2)
    """
    float_tensor(input, "input", "dropout")
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"[dropout] p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    mask = generator().random(input.shape) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return DropoutBackward.apply(input, mask=input._backend.from_host(np.asarray(mask, order="C")), scale=scale)


def dropout2d(input, p=0.5, training=True):
    """Zero whole channels with probability p and scale the rest by 1 / (1 - p) (identity unless training).

    Args:
        input: (N, C, H, W), or (C, H, W) without a batch dimension; each (n, c) plane is kept or dropped.
    Example:
        y = F.dropout2d(feature_maps, 0.1)
    """
    float_tensor(input, "input", "dropout2d")
    if input.ndim not in (3, 4):
        raise ValueError(f"[dropout2d] input must be (N, C, H, W) or (C, H, W), got shape {input.shape}")
    if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"[dropout2d] p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    planes = input.shape[:-2]
    keep = generator().random(planes) >= p  # one draw per channel, broadcast over its plane
    mask = np.ascontiguousarray(np.broadcast_to(keep[..., None, None], input.shape))
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return DropoutBackward.apply(input, mask=input._backend.from_host(mask), scale=scale)
