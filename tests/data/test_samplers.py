"""Samplers: PyTorch's semantics (what is drawn, how many, per-epoch redraws, seeded by a generator)
and PyTorch's errors for bad arguments."""
import numpy as np
import pytest

from ember.data import (BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler,
                        WeightedRandomSampler)

torch_data = pytest.importorskip("torch.utils.data")


def test_sequential_and_batch_samplers_match_torch():
    for n, size, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False), (0, 2, False)]:
        mine = BatchSampler(SequentialSampler(range(n)), size, drop)
        theirs = torch_data.BatchSampler(torch_data.SequentialSampler(range(n)), size, drop)
        assert list(mine) == list(theirs) and len(mine) == len(theirs)


def test_random_sampler_permutations_and_draws():
    rng = np.random.default_rng(0)
    s = RandomSampler(range(10), generator=rng)
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(10)) and a != b  # a new order each epoch
    more = list(RandomSampler(range(4), num_samples=10, generator=rng))
    assert len(more) == 10 and sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3] and set(more[8:]) <= set(range(4))
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=rng))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    assert list(RandomSampler(range(6), generator=np.random.default_rng(5))) == \
        list(RandomSampler(range(6), generator=np.random.default_rng(5)))
    assert len(RandomSampler(range(7))) == 7 and len(RandomSampler(range(7), num_samples=3)) == 3


def test_subset_random_sampler():
    s = SubsetRandomSampler([3, 7, 11], generator=np.random.default_rng(0))
    assert sorted(s) == [3, 7, 11] and len(s) == 3


def test_weighted_random_sampler():
    rng = np.random.default_rng(0)
    drawn = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=rng))
    counts = np.bincount(drawn, minlength=3)
    assert counts[0] == 0 and 2.5 < counts[2] / counts[1] < 3.5
    once = list(WeightedRandomSampler([1, 1, 1, 0, 5], 4, replacement=False, generator=rng))
    assert sorted(once) == [0, 1, 2, 4]
    with pytest.raises(ValueError, match=r"\[WeightedRandomSampler\].*without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match=r"\[WeightedRandomSampler\].*non-negative"):
        WeightedRandomSampler([-1.0, 1.0], 2)


@pytest.mark.parametrize("make", [
    lambda m: m.RandomSampler(range(3), replacement=1), lambda m: m.RandomSampler(range(3), num_samples=0),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], 0), lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement=1),
    lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2), lambda m: m.BatchSampler(range(3), 0, False),
    lambda m: m.BatchSampler(range(3), 2, 1), lambda m: m.BatchSampler(range(3), True, False),
])
def test_bad_arguments_raise_as_torch(make):
    import ember.data
    with pytest.raises(Exception) as theirs:
        make(torch_data)
    with pytest.raises(type(theirs.value), match=r"^\[\w+\] "):
        make(ember.data)


def test_generator_must_be_a_numpy_generator():
    with pytest.raises(TypeError, match=r"\[RandomSampler\] generator"):
        RandomSampler(range(3), generator=3)
