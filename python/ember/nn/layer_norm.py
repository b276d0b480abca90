"""LayerNorm: normalisation over the trailing dimensions of each sample, as PyTorch's."""
from ..creation import empty
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims.

    Example:
        ln = nn.LayerNorm(128)
        y = ln(x)          # x (..., 128)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not ns or any(int(d) < 1 for d in ns):
            raise ValueError(f"[LayerNorm] normalized_shape must be positive sizes, got {normalized_shape}")
        self.normalized_shape, self.eps, self.elementwise_affine = ns, eps, elementwise_affine
        self.weight = Parameter(empty(*ns, device=device, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(empty(*ns, device=device, dtype=dtype)) if elementwise_affine and bias else None
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
