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
            raise ValueError(f"TensorDataset: tensors have different lengths {[len(t) for t in self.tensors]}")

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


class DataLoader:
    """Iterates over a dataset in batches.

    Args:
        batch_size: rows per batch; shuffle: reshuffle each epoch; drop_last: skip a short last batch;
        seed: a private generator for the shuffle (default: ember's, see manual_seed).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = (self.rng or generator()).permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                break
            if isinstance(self.dataset, TensorDataset):
                yield tuple(t[idx] for t in self.dataset.tensors)
            else:
                items = [self.dataset[int(i)] for i in idx]
                yield tuple(_stack([it[j] for it in items]) for j in range(len(items[0])))


def _stack(xs):
    from ..ops import stack
    if isinstance(xs[0], Tensor):
        return stack(xs)
    return tensor(np.stack([np.asarray(x) for x in xs]))
