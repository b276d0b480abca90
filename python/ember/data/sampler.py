"""Samplers: the order in which a DataLoader visits a dataset's indices (PyTorch's semantics).

Random samplers draw from a numpy.random.Generator given as `generator`, or else from ember's
generator (see ember.manual_seed), afresh on every iteration (every epoch).
"""
import math

import numpy as np


def as_rng(generator, op):
    """The numpy Generator to draw from: `generator`, or ember's when None."""
    if generator is None:
        from ..random import generator as ember_generator
        return ember_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"[{op}] generator must be a numpy.random.Generator (e.g. np.random.default_rng(0)) or None, "
                    f"got {type(generator).__name__}")


def _positive_int(value, name, op):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"[{op}] {name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _bool(value, name, op, error=ValueError):
    if not isinstance(value, bool):
        raise error(f"[{op}] {name} should be a boolean value, but got {name}={value!r}")
    return value


class Sampler:
    """Base class: iterating yields dataset indices; len() is how many."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices: a permutation (several, then a part of one, when num_samples > len), or
    num_samples draws with replacement.

    Example:
        DataLoader(ds, batch_size=32, sampler=RandomSampler(ds, generator=np.random.default_rng(0)))
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source, self.generator = data_source, generator
        self.replacement = _bool(replacement, "replacement", "RandomSampler", TypeError)  # as PyTorch
        self._num_samples = None if num_samples is None else _positive_int(num_samples, "num_samples",
                                                                           "RandomSampler")
        as_rng(generator, "RandomSampler")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, k = len(self.data_source), self.num_samples
        rng = as_rng(self.generator, "RandomSampler")
        if self.replacement:
            return iter(rng.integers(0, n, size=k).tolist())
        if n == 0:
            return iter(())
        perms = [rng.permutation(n) for _ in range(-(-k // n))]
        return iter(np.concatenate(perms)[:k].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, a new one each iteration."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator
        as_rng(generator, "SubsetRandomSampler")

    def __iter__(self):
        order = as_rng(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices in [0, len(weights)) drawn with probability weights[i] / sum(weights).

    Without replacement an index comes at most once, so num_samples may not exceed the number of
    non-zero weights.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        op = "WeightedRandomSampler"
        self.num_samples = _positive_int(num_samples, "num_samples", op)
        self.replacement = _bool(replacement, "replacement", op)
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"[{op}] weights should be a 1d sequence but given weights have shape {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"[{op}] weights must be finite, non-negative and not all zero, got {w.tolist()[:8]}")
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"[{op}] cannot draw {self.num_samples} samples without replacement from "
                             f"{np.count_nonzero(w)} non-zero weights")
        self.weights, self.generator = w, generator
        as_rng(generator, op)

    def __iter__(self):
        rng = as_rng(self.generator, "WeightedRandomSampler")
        p = self.weights / self.weights.sum()
        return iter(rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of batch_size indices from sampler; the last one shorter unless drop_last.

    Example:
        list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = _bool(drop_last, "drop_last", "BatchSampler")

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """The share of a dataset one rank visits, PyTorch's semantics.

    Every rank gets the same number of indices, ceil(len / num_replicas) (floor with drop_last): the
    (shuffled) index list is padded by repeating its head, or cut with drop_last, to a multiple of
    num_replicas, and rank r takes every num_replicas-th index from position r. The shuffle depends only
    on seed + epoch, so every rank draws the same permutation; call set_epoch(e) before each epoch.

    Args:
        num_replicas, rank: default to the process group's world size and rank.
    Example:
        sampler = DistributedSampler(dataset, shuffle=True, seed=0)
        loader = DataLoader(dataset, batch_size=32, sampler=sampler)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("[DistributedSampler] give num_replicas and rank, or initialize the process group")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"[DistributedSampler] num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"[DistributedSampler] invalid rank {rank!r}, rank should be in [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, int(seed), drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def indices(self):
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.total_size > n:
            order = np.resize(order, self.total_size)  # repeats the head as padding
        order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Reshuffle for this epoch (the same permutation on every rank)."""
        self.epoch = int(epoch)
