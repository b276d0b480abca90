"""Fetchers: one batch (or one sample) from a list of indices, in the main process or a worker."""
import numpy as np

from .collate import default_collate
from .dataset import Subset, TensorDataset


def _tensor_rows(dataset):
    """(tensors, row map) when batches of dataset are a plain index of its tensors, else None."""
    if isinstance(dataset, TensorDataset):
        return dataset.tensors, None
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, TensorDataset):
        return dataset.dataset.tensors, dataset.indices
    return None


class MapFetcher:
    """dataset[i] for each index, then collate_fn; a TensorDataset (or a Subset of one) under
    default_collate is indexed once per tensor instead (the same batch, without a stack)."""
    iterable = False

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def start(self):
        pass

    def fetch(self, indices):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        rows = _tensor_rows(self.dataset) if self.collate_fn is default_collate else None
        if rows is not None:
            tensors, row_map = rows
            idx = np.asarray(indices, dtype=np.int64)
            if row_map is not None:
                idx = row_map[idx]
            return [t[idx] for t in tensors]
        return self.collate_fn([self.dataset[i] for i in indices])


class IterFetcher:
    """The next batch_size samples of iter(dataset) (the indices are placeholders), then collate_fn;
    StopIteration at the end."""
    iterable = True

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        self.drop_last, self.it = drop_last, None

    def start(self):
        self.it = iter(self.dataset)

    def fetch(self, indices):
        if self.it is None:
            self.start()
        if not self.auto_collation:
            return self.collate_fn(next(self.it))
        items = []
        for _ in indices:
            try:
                items.append(next(self.it))
            except StopIteration:
                break
        if not items or (self.drop_last and len(items) < len(indices)):
            raise StopIteration
        return self.collate_fn(items)
