"""default_collate / default_convert give PyTorch's structure, dtypes and values; bad batches raise as PyTorch's."""
import collections

import numpy as np
import pytest

import ember as em
from ember.data import default_collate, default_convert

from .plain import plain

torch = pytest.importorskip("torch")
from torch.utils.data import default_collate as torch_collate  # noqa: E402
from torch.utils.data import default_convert as torch_convert  # noqa: E402

Point = collections.namedtuple("Point", "x y")


def _batches():
    rng = np.random.default_rng(0)
    return {
        "arrays_f32": [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3)],
        "arrays_f64": [rng.standard_normal(4) for _ in range(2)],
        "arrays_int32": [np.arange(3, dtype=np.int32) + i for i in range(2)],
        "arrays_bool": [np.array([True, False]), np.array([False, False])],
        "np_scalars": [np.float32(1.5), np.float32(-2.0)],
        "floats": [1.5, 2.0, -3.25], "ints": [1, 2, 3], "bools": [True, False], "strings": ["a", "bc"],
        "tuples": [(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)],
        "lists": [[1.0, 2], [3.0, 4]],
        "dicts": [{"img": np.zeros((1, 2), np.float32), "label": 3, "meta": {"id": "a", "w": 0.5}},
                  {"img": np.ones((1, 2), np.float32), "label": 4, "meta": {"id": "b", "w": 1.5}}],
        "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
        "empty_arrays": [np.zeros((0, 2), np.float32)] * 2,
    }


@pytest.mark.parametrize("name", list(_batches()))
def test_collate_matches_torch(name):
    batch = _batches()[name]
    got = default_collate(batch)
    want = torch_collate(batch)
    assert plain(got) == plain(want)
    if name == "namedtuples":
        assert type(got) is Point


def test_collate_tensors_stacks_and_keeps_the_device():
    xs = [em.randn(2, 3) for _ in range(4)]
    out = default_collate(xs)
    assert out.shape == (4, 2, 3) and out.device == xs[0].device
    np.testing.assert_array_equal(out.numpy(), np.stack([x.numpy() for x in xs]))
    want = torch_collate([torch.from_numpy(x.numpy()) for x in xs])
    assert plain(out) == plain(want)


@pytest.mark.parametrize("name", ["arrays_f32", "np_scalars", "tuples", "dicts", "namedtuples", "strings"])
def test_convert_matches_torch(name):
    for sample in _batches()[name]:
        assert plain(default_convert(sample)) == plain(torch_convert(sample))


@pytest.mark.parametrize("batch, exc", [
    ([None, None], TypeError), ([object()], TypeError), ([np.array(["a"]), np.array(["b"])], TypeError),
    ([(1, 2), (3,)], RuntimeError),
])
def test_bad_batches_raise_as_torch(batch, exc):
    with pytest.raises(exc):
        torch_collate(batch)
    with pytest.raises(exc, match="default_collate|equal size"):
        default_collate(batch)


def test_ragged_arrays_name_the_shapes():
    with pytest.raises(ValueError, match=r"\[default_collate\].*\(2,\), \(3,\)"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match=r"\[stack\]"):
        default_collate([em.zeros(2), em.zeros(3)])
