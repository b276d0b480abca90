"""Datasets the worker tests send to DataLoader worker processes: at module level (picklable), and
in a module that imports no pytest, so workers start fast."""
import os
import random
import time

import numpy as np

import ember as em
from ember.data import Dataset, IterableDataset, get_worker_info

_initialised = None


def record_init(worker_id):
    global _initialised
    _initialised = worker_id


class Items(Dataset):
    """Sample i: (a float32 row of i's, i as an int, a dict of a float and a string)."""

    def __init__(self, n=11, fail_at=None, slow_first=0.0):
        self.n, self.fail_at, self.slow_first = n, fail_at, slow_first

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"sample {i} is broken")
        if i == 0 and self.slow_first:  # the first batch is the last to finish: order must still hold
            time.sleep(self.slow_first)
        return np.full(3, i, np.float32), i, {"half": i / 2, "name": f"s{i}"}


class WhoLoads(Dataset):
    """Sample i: (i, this worker's id, what worker_init_fn recorded, a draw from ember's and Python's
    generators, the pid)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return (i, -1 if info is None else info.id, -1 if _initialised is None else _initialised,
                float(em.rand(1).item()), random.random(), os.getpid())


class Meet(Dataset):
    """Its first two samples wait for each other at a barrier: they load only when two workers run at once."""

    def __init__(self, barrier):
        self.barrier = barrier

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i < 2:
            self.barrier.wait(timeout=60)
        return i


class Sleepy(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(30)
        return i


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


class Stream(IterableDataset):
    """range(n), split between workers with get_worker_info() (shard=True) or whole in each."""

    def __init__(self, n=11, shard=True):
        self.n, self.shard = n, shard

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def failing_init(worker_id):
    raise OSError(f"worker {worker_id} cannot open its shard")


def keep(batch):
    """A collate_fn that returns the samples as they are."""
    return batch


class Raises(Dataset):
    """Raises `kind` (a name in this module or builtins) for every sample."""

    def __init__(self, kind):
        self.kind = kind

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if self.kind == "KeyError":
            raise KeyError(f"no key {i}")
        if self.kind == "TwoArgs":
            raise TwoArgs(i, "two")
        return lambda: i  # unpicklable: the batch cannot be sent back


class TwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} {b}")


class Span(IterableDataset):
    """range(start, end); split between workers by split_span (PyTorch's worker_init_fn example)."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return iter(range(self.start, self.end))


def split_span(worker_id):
    info = get_worker_info()
    ds = info.dataset  # this worker's copy
    per = -(-(ds.end - ds.start) // info.num_workers)
    ds.start, ds.end = ds.start + worker_id * per, min(ds.end, ds.start + (worker_id + 1) * per)


class Stops(Dataset):
    """A map-style dataset whose item 1 raises StopIteration: an error, not the end of the data."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 1:
            raise StopIteration
        return i
