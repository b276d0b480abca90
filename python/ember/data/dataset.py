"""Datasets as PyTorch's torch.utils.data: map-style (Dataset) and iterable (IterableDataset), and
the ways to combine them (TensorDataset, Subset, ConcatDataset, random_split)."""
import bisect
import math

import numpy as np

from ..tensor import Tensor, tensor
from .sampler import as_rng


class Dataset:
    """A map-style dataset: dataset[i] is one sample, len(dataset) how many."""

    def __getitem__(self, i):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream: iter(dataset) yields its samples.

    With DataLoader(num_workers=n) every worker iterates its own copy; split the work with
    get_worker_info() (as PyTorch), or each sample comes n times.
    """

    def __iter__(self):
        raise NotImplementedError

    def __getitem__(self, i):
        raise TypeError(f"[IterableDataset] {type(self).__name__} is iterable, not indexable")


class TensorDataset(Dataset):
    """Rows of equally long tensors (or arrays), indexed together."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("[TensorDataset] needs at least one tensor")
        self.tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
        n = len(self.tensors[0])
        if any(len(t) != n for t in self.tensors):
            raise ValueError(f"[TensorDataset] tensors have different lengths {[len(t) for t in self.tensors]}")

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


class Subset(Dataset):
    """The rows `indices` of a dataset."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __getitem__(self, i):
        return self.dataset[int(self.indices[i])]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after the other: index len(a) is b[0]."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("[ConcatDataset] needs at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError(f"[ConcatDataset] does not take an IterableDataset ({type(d).__name__})")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, i):
        n = len(self)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"[ConcatDataset] index must be an int, got {type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"[ConcatDataset] index {i} is out of range for a dataset of length {n}")
        i = int(i) % n
        d = bisect.bisect_right(self.cumulative_sizes, i)
        return self.datasets[d][i - (self.cumulative_sizes[d - 1] if d else 0)]


def _split_lengths(n, lengths):
    """Fractions summing to 1 become counts (floor, remainders round-robin, as PyTorch)."""
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and not all(
            isinstance(k, (int, np.integer)) for k in lengths):
        if any(f < 0 or f > 1 for f in lengths):
            raise ValueError(f"[random_split] fractions must be in [0, 1], got {lengths}")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    if any(not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0 for k in lengths) or sum(lengths) != n:
        raise ValueError(f"[random_split] lengths {lengths} must be non-negative ints summing to the dataset's "
                         f"length {n} (or fractions summing to 1)")
    return [int(k) for k in lengths]


def random_split(dataset, lengths, generator=None, seed=None):
    """Split a dataset into non-overlapping random Subsets of the given lengths (or fractions summing to 1).

    Args:
        lengths: ints summing to len(dataset), or fractions summing to 1 (remainders go round-robin, as PyTorch).
        generator: a numpy.random.Generator to draw the permutation from (default: ember's, see manual_seed).
        seed: instead of generator, a seed for a private one.
    Example:
        train, val = random_split(TensorDataset(x, y), [0.8, 0.2], generator=np.random.default_rng(0))
    """
    if seed is not None and generator is not None:
        raise ValueError("[random_split] give generator or seed, not both")
    rng = np.random.default_rng(seed) if seed is not None else as_rng(generator, "random_split")
    counts = _split_lengths(len(dataset), lengths)
    order = rng.permutation(len(dataset))
    out, start = [], 0
    for k in counts:
        out.append(Subset(dataset, order[start:start + k]))
        start += k
    return out
