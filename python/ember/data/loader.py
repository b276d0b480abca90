"""Dataset, TensorDataset and DataLoader (batches, shuffling from ember's seeded generator)."""
import numpy as np

from ..random import generator
from ..tensor import Tensor, tensor


class Dataset:
    def __getitem__(self, i):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Rows of equally long tensors (or arrays), indexed together."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
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


def random_split(dataset, lengths, seed=None):
    """Split a dataset into non-overlapping random Subsets of the given lengths (or fractions summing to 1).

    Args:
        lengths: ints summing to len(dataset), or fractions summing to 1 (remainders go round-robin, as PyTorch).
        seed: a private generator seed (default: ember's generator, see manual_seed).
    Example:
        train, val = random_split(TensorDataset(x, y), [0.8, 0.2], seed=0)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(f, float) for f in lengths) and abs(sum(lengths) - 1) < 1e-6:
        if any(f < 0 or f > 1 for f in lengths):
            raise ValueError(f"[random_split] fractions must be in [0, 1], got {lengths}")
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in lengths) or sum(lengths) != n:
        raise ValueError(f"[random_split] lengths {lengths} must be non-negative ints summing to the dataset's "
                         f"length {n} (or fractions summing to 1)")
    order = (np.random.default_rng(seed) if seed is not None else generator()).permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, order[start:start + k]))
        start += k
    return out


class DataLoader:
    """Iterates over a dataset in batches.

    Args:
        batch_size: rows per batch; shuffle: reshuffle each epoch; drop_last: skip a short last batch;
        seed: a private generator for the shuffle (default: ember's, see manual_seed);
        sampler: the indices to visit, in order (e.g. a DistributedSampler); excludes shuffle.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, sampler=None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"[DataLoader] batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("[DataLoader] sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
            n = len(order)
        else:
            order = (self.rng or generator()).permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                break
            if isinstance(self.dataset, TensorDataset):
                yield tuple(t[idx] for t in self.dataset.tensors)
            elif isinstance(self.dataset, Subset) and isinstance(self.dataset.dataset, TensorDataset):
                rows = self.dataset.indices[idx]
                yield tuple(t[rows] for t in self.dataset.dataset.tensors)
            else:
                items = [self.dataset[int(i)] for i in idx]
                yield tuple(_stack([it[j] for it in items]) for j in range(len(items[0])))


def _stack(xs):
    from ..ops import stack
    if isinstance(xs[0], Tensor):
        return stack(xs)
    return tensor(np.stack([np.asarray(x) for x in xs]))
