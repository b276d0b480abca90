"""DataLoader: batches from a dataset, in the main process or in worker processes (PyTorch's)."""
import itertools

import numpy as np

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import IterFetcher, MapFetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, as_rng


class _Placeholders(Sampler):
    """For an IterableDataset: the 'indices' are placeholders, the dataset decides when it ends."""

    def __iter__(self):
        return itertools.repeat(None)


def _check_args(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, drop_last, timeout,
                prefetch_factor, persistent_workers):
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"[DataLoader] num_workers option should be a non-negative int; use num_workers=0 to "
                         f"disable multiprocessing, got {num_workers!r}")
    if not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"[DataLoader] timeout option should be non-negative, got {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("[DataLoader] prefetch_factor option could only be specified in multiprocessing: let "
                         "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
    if prefetch_factor is not None and (not isinstance(prefetch_factor, int) or prefetch_factor < 1):
        raise ValueError(f"[DataLoader] prefetch_factor should be a positive int, got {prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("[DataLoader] persistent_workers option needs num_workers > 0")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"[DataLoader] batch_size should be a positive int or None, got {batch_size!r}")
    if isinstance(dataset, IterableDataset):
        for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
            if value not in (False, None):
                raise ValueError(f"[DataLoader] with an IterableDataset: expected unspecified {name} option, "
                                 f"but got {name}={value!r}")
    if sampler is not None and shuffle:
        raise ValueError("[DataLoader] sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError("[DataLoader] batch_sampler option is mutually exclusive with batch_size, shuffle, "
                         "sampler, and drop_last")
    if batch_size is None and drop_last:
        raise ValueError("[DataLoader] batch_size=None option disables auto-batching and is mutually exclusive "
                         "with drop_last")


class DataLoader:
    """Iterates over a dataset in batches, as torch.utils.data.DataLoader.

    Args:
        dataset: a map-style Dataset (anything with __getitem__ and __len__) or an IterableDataset.
        batch_size: samples per batch; None yields single samples (through default_convert).
        shuffle: a new random order each epoch (RandomSampler); sampler / batch_sampler: the indices
            (or lists of indices) to visit, in order, instead.
        num_workers: worker processes that load batches in parallel (0: in this process). Workers
            start by 'forkserver' ('spawn' where there is none), so the dataset, collate_fn and
            worker_init_fn must be picklable; batches come in the sampler's order; an exception in a
            worker is raised here with the worker's traceback; workers stop when the pass ends,
            breaks or raises (persistent_workers keeps them for the next epoch).
        collate_fn: samples -> batch (default_collate); pin_memory: accepted, no effect (batches are
            host memory already); drop_last: skip a short last batch; timeout: seconds to wait for a
            worker's batch (0: forever); worker_init_fn(worker_id): run in each worker at its start;
        generator: a numpy.random.Generator for the shuffle and the workers' seeds (default: ember's);
            seed: instead of generator, a seed for a private one; prefetch_factor: batches asked of
            each worker ahead (default 2); multiprocessing_context: a start method name or context.
    Example:
        loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, num_workers=2)
        for xb, yb in loader:
            ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 seed=None):
        _check_args(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, drop_last, timeout,
                    prefetch_factor, persistent_workers)
        if seed is not None:
            if generator is not None:
                raise ValueError("[DataLoader] give generator or seed, not both")
            generator = np.random.default_rng(seed)
        as_rng(generator, "DataLoader")
        self.dataset, self.num_workers, self.pin_memory, self.timeout = dataset, num_workers, pin_memory, timeout
        self.worker_init_fn, self.multiprocessing_context, self.generator = (worker_init_fn, multiprocessing_context,
                                                                              generator)
        self.prefetch_factor = (2 if prefetch_factor is None else prefetch_factor) if num_workers else None
        self.persistent_workers, self._iterator = persistent_workers, None
        if isinstance(dataset, IterableDataset):
            sampler = _Placeholders()
        elif sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        elif batch_sampler is not None:  # as PyTorch: the batch sampler decides sizes
            batch_size, drop_last = None, False
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.batch_size, self.drop_last = batch_size, drop_last
        self.collate_fn = collate_fn or (default_collate if batch_sampler is not None else default_convert)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _fetcher(self):
        kind = IterFetcher if isinstance(self.dataset, IterableDataset) else MapFetcher
        return kind(self.dataset, self._auto_collation, self.collate_fn, self.drop_last)

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError when the dataset has no length, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return _single_process(self)
        from .pool import MultiProcessIter, Workers
        seed = int(as_rng(self.generator, "DataLoader").integers(0, 2 ** 62))
        if not self.persistent_workers:
            return MultiProcessIter(self, Workers(self, self._fetcher(), seed), persistent=False)
        if self._iterator is None or not self._iterator.workers.alive:
            self._iterator = MultiProcessIter(self, Workers(self, self._fetcher(), seed), persistent=True)
        else:
            self._iterator.workers.resume(seed, self.timeout)
            self._iterator.reset()
        return self._iterator

    def __del__(self):
        it = getattr(self, "_iterator", None)
        if it is not None:
            it.workers.shutdown()


def _single_process(loader):
    fetcher = loader._fetcher()
    fetcher.start()
    for indices in loader._index_sampler:
        try:
            batch = fetcher.fetch(indices)
        except StopIteration:
            if fetcher.iterable:  # the dataset ended
                return
            raise RuntimeError(f"[DataLoader] the dataset raised StopIteration for the indices {indices}") from None
        yield batch
