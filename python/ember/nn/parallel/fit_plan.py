"""How Module.fit trains when a process group of several ranks is up: each rank takes its
DistributedSampler shard of the training set every epoch, gradients are averaged by a
DistributedDataParallel on the model (unless the model already is or has one), validation runs
on disjoint shards (no padding), and the loss and metric sums and counts are all-reduced, so
every rank logs the same exact values (and callbacks such as EarlyStopping agree)."""
import numpy as np

from ... import distributed as dist
from ...data.sampler import DistributedSampler
from .distributed import DistributedDataParallel


class _Length:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def fit_plan(model, n_train, shuffle, seed):
    """A FitPlan when this process is one of several in a process group, else None."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    return FitPlan(model, n_train, shuffle, seed)


class FitPlan:
    def __init__(self, model, n_train, shuffle, seed):
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        self.is_main = self.rank == 0
        wrapped = isinstance(model, DistributedDataParallel) or model.__dict__.get("_ddp_wrappers")
        self.ddp = None if wrapped else DistributedDataParallel(model)
        if seed is None and shuffle:
            from ...random import generator
            seed = dist.default_group().comm.bcast(int(generator().integers(2 ** 31)), root=0)
        self.sampler = DistributedSampler(_Length(n_train), self.size, self.rank, shuffle, seed or 0)

    def train_order(self, epoch):
        self.sampler.set_epoch(epoch)
        return self.sampler.indices()

    def val_order(self, n):
        return np.arange(self.rank, n, self.size)

    def reduce(self, total, count, sums):
        """(total, count, sums) summed over every rank."""
        names = list(sums)
        a = np.array([total, count] + [v for k in names for v in sums[k]], dtype=np.float64)
        dist.host_all_reduce(a)
        return a[0], int(a[1]), {k: [a[2 + 2 * i], a[3 + 2 * i]] for i, k in enumerate(names)}

    def close(self):
        if self.ddp is not None:
            self.ddp.detach_hooks()
