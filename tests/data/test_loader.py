"""Datasets (Concat, Subset, random_split) and DataLoader in one process, against PyTorch: the
batches, their order and count, batch_sampler / batch_size=None / drop_last, IterableDataset, and
PyTorch's errors for conflicting arguments."""
import numpy as np
import pytest

import ember as em
from ember.data import (BatchSampler, ConcatDataset, DataLoader, IterableDataset, SequentialSampler, Subset,
                        TensorDataset, random_split)

from . import samples
from .plain import flat

torch_data = pytest.importorskip("torch.utils.data")


def test_concat_dataset_matches_torch():
    a, b, c = list(range(3)), list(range(10, 15)), list(range(20, 21))
    mine, theirs = ConcatDataset([a, b, c]), torch_data.ConcatDataset([a, b, c])
    assert len(mine) == len(theirs) == 9
    assert [mine[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    with pytest.raises(IndexError, match=r"\[ConcatDataset\] index 9"):
        mine[9]
    assert len(samples.Items(3) + samples.Items(2)) == 5
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([samples.Stream()])


@pytest.mark.parametrize("n, lengths", [(10, [7, 3]), (10, [0.5, 0.3, 0.2]), (11, [0.33, 0.33, 0.34]),
                                        (7, [0.5, 0.5]), (5, [5, 0])])
def test_random_split_lengths_as_torch(n, lengths):
    parts = random_split(range(n), lengths, generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [len(p) for p in torch_data.random_split(range(n), lengths)]
    assert sorted(int(i) for p in parts for i in p.indices) == list(range(n))
    again = random_split(range(n), lengths, generator=np.random.default_rng(0))
    assert [list(p.indices) for p in parts] == [list(p.indices) for p in again]


def test_random_split_errors():
    with pytest.raises(ValueError, match=r"\[random_split\] lengths"):
        random_split(range(10), [5, 6])
    with pytest.raises(ValueError, match=r"\[random_split\]"):
        random_split(range(10), [0.5, 0.6])
    with pytest.raises(ValueError, match="not both"):
        random_split(range(10), [5, 5], generator=np.random.default_rng(0), seed=1)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None),
    dict(batch_sampler=[[3, 1], [0], [2, 4, 5]]), dict(sampler=[5, 0, 2], batch_size=2),
], ids=["default", "batches", "drop_last", "no_batching", "batch_sampler", "sampler"])
def test_batches_match_torch(kwargs):
    ds = samples.Items(n=6)
    mine, theirs = DataLoader(ds, **kwargs), torch_data.DataLoader(ds, **kwargs)
    assert flat(mine) == flat(theirs)
    assert len(mine) == len(theirs)


def test_tensor_dataset_and_subset_batches_equal_stacked_items():
    x, y = em.randn(9, 2), em.arange(9)
    ds = TensorDataset(x, y)
    slow = DataLoader(ds, batch_size=4, collate_fn=lambda items: [em.stack([it[j] for it in items]) for j in (0, 1)])
    assert flat(DataLoader(ds, batch_size=4)) == flat(slow)
    sub = Subset(ds, [8, 1, 4])
    assert flat(DataLoader(sub, batch_size=2)) == flat([[x[[8, 1]], y[[8, 1]]], [x[[4]], y[[4]]]])


def test_shuffle_reproducible_and_new_each_epoch():
    ds = TensorDataset(em.arange(20))
    loader = DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(3))
    e1, e2 = (np.concatenate([b[0].numpy() for b in loader]) for _ in range(2))
    assert sorted(e1) == sorted(e2) == list(range(20)) and not (e1 == e2).all()
    again = DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in again]), e1)
    by_seed = DataLoader(ds, batch_size=5, shuffle=True, seed=3)  # the earlier spelling
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in by_seed]), e1)
    em.manual_seed(4)
    a = [b[0].tolist() for b in DataLoader(ds, batch_size=20, shuffle=True)]
    em.manual_seed(4)
    assert a == [b[0].tolist() for b in DataLoader(ds, batch_size=20, shuffle=True)]


def test_iterable_dataset_in_process_matches_torch():
    class TorchStream(torch_data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    for kwargs in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        mine = DataLoader(samples.Stream(n=7), **kwargs)
        assert flat(mine) == flat(torch_data.DataLoader(TorchStream(), **kwargs))
    assert len(DataLoader(samples.Stream(n=7), batch_size=3)) == 3
    assert len(DataLoader(samples.Stream(n=7), batch_size=3, drop_last=True)) == 2
    with pytest.raises(TypeError, match="iterable"):
        samples.Stream()[0]


class _Plain(IterableDataset):
    def __iter__(self):
        return iter(range(3))


@pytest.mark.parametrize("kwargs", [
    dict(num_workers=-1), dict(prefetch_factor=2), dict(persistent_workers=True), dict(timeout=-1),
    dict(batch_size=None, drop_last=True), dict(sampler=[0], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=0),
])
def test_conflicting_arguments_raise_as_torch(kwargs):
    with pytest.raises(ValueError):
        torch_data.DataLoader(range(3), **kwargs)
    with pytest.raises(ValueError, match=r"^\[DataLoader\] "):
        DataLoader(range(3), **kwargs)


@pytest.mark.parametrize("kwargs", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])])
def test_iterable_dataset_refuses_samplers(kwargs):
    with pytest.raises(ValueError, match=r"\[DataLoader\] with an IterableDataset"):
        DataLoader(_Plain(), **kwargs)


def test_loader_attributes():
    loader = DataLoader(range(10), batch_size=4, drop_last=True)
    assert isinstance(loader.sampler, SequentialSampler) and isinstance(loader.batch_sampler, BatchSampler)
    assert (loader.batch_size, loader.drop_last, len(loader)) == (4, True, 2)
    assert DataLoader(range(3), batch_sampler=[[0, 1]]).batch_size is None
    assert DataLoader(range(3), num_workers=2).prefetch_factor == 2
