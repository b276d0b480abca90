"""DistributedSampler (PyTorch's semantics) and DataLoader(sampler=), in one process."""
import ember as em
import numpy as np
import pytest
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset


def shards(n, replicas, **kw):
    return [DistributedSampler(range(n), replicas, r, **kw) for r in range(replicas)]


@pytest.mark.parametrize("n,replicas", [(10, 2), (11, 2), (7, 3), (2, 4)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_item_once_per_epoch_tail_padded_by_repeating(n, replicas, shuffle):
    samplers = shards(n, replicas, shuffle=shuffle, seed=3)
    parts = [list(s) for s in samplers]
    per_rank = -(-n // replicas)
    assert all(len(p) == per_rank == len(s) for p, s in zip(parts, samplers))
    everything = [i for p in parts for i in p]
    assert set(everything) == set(range(n))
    counts = np.bincount(everything, minlength=n)
    assert counts.sum() - n == per_rank * replicas - n  # only the padding repeats
    assert counts.max() <= 1 + -(-(per_rank * replicas - n) // n)


def test_unshuffled_shards_interleave_as_pytorch():
    assert [list(s) for s in shards(5, 2, shuffle=False)] == [[0, 2, 4], [1, 3, 0]]


def test_drop_last_cuts_the_tail_instead():
    parts = [list(s) for s in shards(11, 2, shuffle=False, drop_last=True)]
    assert parts == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]


def test_set_epoch_reshuffles_the_same_way_on_every_rank():
    a, b = shards(20, 2, shuffle=True, seed=1)
    first = list(a) + list(b)
    a.set_epoch(1)
    assert list(a) != first[:10]
    b.set_epoch(1)
    second = list(a) + list(b)
    assert sorted(second) == sorted(first) == list(range(20)) and second != first
    again = shards(20, 2, shuffle=True, seed=1)
    for s in again:
        s.set_epoch(1)
    assert list(again[0]) + list(again[1]) == second


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), 0, 0)


def test_dataloader_takes_a_sampler():
    x = np.arange(10, dtype=np.float32)[:, None]
    ds = TensorDataset(x, np.arange(10))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert len(loader) == 3
    assert [yb.numpy().tolist() for _, yb in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=DistributedSampler(ds, 2, 0), shuffle=True)
    assert em.utils.data.DataLoader is em.data.DataLoader
