"""BatchNorm1d / BatchNorm2d: PyTorch's parameters, buffers (running_mean, running_var,
num_batches_tracked int64) and momentum rules, so state_dicts copy by name."""
import numpy as np

from ..creation import ones, zeros
from ..ops.batch_norm import batch_norm
from ..tensor import tensor
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _dims = ()  # accepted input ranks
    _name = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        super().__init__()
        if not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"[{self._name}] num_features must be a positive int, got {num_features!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"[{self._name}] momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, device=device, dtype=dtype))
            self.bias = Parameter(zeros(num_features, device=device, dtype=dtype))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(np.array(0, dtype=np.int64), device=device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def forward(self, x):
        if getattr(x, "ndim", None) not in self._dims:
            raise ValueError(f"[{self._name}] expected a {' or '.join(f'{d}-D' for d in self._dims)} input, "
                             f"got shape {getattr(x, 'shape', None)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"[{self._name}] expected input with {self.num_features} channels (dim 1), got input "
                             f"of shape {x.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or not self.track_running_stats
        keep = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if keep else None, self.running_var if keep else None, self.weight,
                          self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs.

    Example:
        bn = em.nn.BatchNorm1d(64)
    """
    _dims = (2, 3)
    _name = "BatchNorm1d"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs.

    Example:
        bn = em.nn.BatchNorm2d(32)
    """
    _dims = (4,)
    _name = "BatchNorm2d"
