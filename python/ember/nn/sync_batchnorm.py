"""SyncBatchNorm: batch normalisation whose statistics cover the whole global batch (every rank's),
so data-parallel training normalises as one process would on the concatenated batch.

Forward all-reduces each channel's (sum, sum of squares, count); backward all-reduces each channel's
(sum of dy, sum of dy * x_hat), the two terms through which every rank's input shapes the statistics.
Outside a process group of several ranks, or in eval mode, it is BatchNorm.
"""
from .. import distributed as dist
from ..autograd import Function
from ..tensor import Tensor
from .normalization import _BatchNorm


def _sum_over_ranks(be, *arrays):
    """The arrays (one per channel statistic), each summed over every rank, in one all-reduce."""
    xp = be.xp
    flat = Tensor._wrap(xp.concatenate([a.astype(xp.float64) for a in arrays]), be)
    dist.all_reduce(flat)
    return xp.split(flat._data, len(arrays))


class SyncBatchNormBackward(Function):
    """Outputs (y, mean, biased variance, count per channel), the statistics over every rank; only y
    gets a gradient (the statistics feed the running ones)."""
    non_differentiable = (1, 2, 3)
    saved_inputs = (1,)  # the weight (x enters backward through xhat, which forward keeps)

    def forward(self, x, w, b, eps):
        xp, be = self.backend.xp, self.backend
        self.shape = x.shape
        x3 = xp.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)
        local_n = xp.full(x.shape[1], x3.shape[0] * x3.shape[2], dtype=xp.float64)
        s, ss, n = _sum_over_ranks(be, x3.sum(axis=(0, 2)), (x3.astype(xp.float64) ** 2).sum(axis=(0, 2)), local_n)
        mean = s / n
        var = xp.maximum(ss / n - mean * mean, 0.0)
        rstd = 1.0 / xp.sqrt(var + eps)
        self.xhat = ((x3 - mean[:, None].astype(x.dtype)) * rstd[:, None].astype(x.dtype))
        self.w, self.rstd, self.n = w, rstd.astype(x.dtype), n
        return (self.xhat * w[:, None] + b[:, None]).reshape(x.shape), mean, var, n

    def backward(self, g, _g_mean, _g_var, _g_n):
        xp = self.backend.xp
        g3 = xp.ascontiguousarray(g).reshape(self.xhat.shape)
        gb, gw = g3.sum(axis=(0, 2)), (g3 * self.xhat).sum(axis=(0, 2))
        sum_g, sum_gx = _sum_over_ranks(self.backend, gb, gw)
        n = self.n[:, None]
        gx = (self.w * self.rstd)[:, None] * (g3 - (sum_g[:, None] / n).astype(g3.dtype)
                                              - self.xhat * (sum_gx[:, None] / n).astype(g3.dtype))
        return gx.reshape(self.shape), gw, gb


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, ...) inputs with statistics synchronised across the process group's ranks.

    Example:
        model = em.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DistributedDataParallel(model)
    """
    _dims = (2, 3, 4, 5)
    _name = "SyncBatchNorm"

    def forward(self, x):
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        if getattr(x, "ndim", None) not in self._dims or x.shape[1] != self.num_features:
            return super().forward(x)  # the base class raises with the shapes
        if not self.affine:
            raise ValueError("[SyncBatchNorm] affine=False is not supported across ranks")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        out, mean, var, count = SyncBatchNormBackward.apply(x, self.weight, self.bias, eps=float(self.eps))
        if self.track_running_stats:
            n = float(count._data[0])
            rm, rv = self.running_mean._data, self.running_var._data
            rm[...] = (1 - factor) * rm + factor * mean._data.astype(rm.dtype)
            rv[...] = (1 - factor) * rv + factor * (var._data * (n / max(n - 1, 1))).astype(rv.dtype)
            self.running_mean._bump()
            self.running_var._bump()
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """module with every BatchNorm layer replaced by a SyncBatchNorm holding the same parameters and buffers."""
        if process_group is not None:
            raise ValueError("[SyncBatchNorm] ember.distributed has only the default group; pass process_group=None")
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            new = cls.__new__(cls)
            new.__dict__.update(module.__dict__)
            return new
        for name, child in list(module._modules.items()):
            module._modules[name] = cls.convert_sync_batchnorm(child)
        return module
