"""random_split and load_mnist on tiny IDX files the tests write (plain, gzip, truncated, corrupt)."""
import gzip

import numpy as np
import pytest

import ember as em
from ember.data import DataLoader, TensorDataset, random_split
from ember.data.datasets import load_mnist, read_idx


def _idx(array, code=0x08):
    head = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_mnist(d, n_train=5, n_test=3, gz=False):
    rng = np.random.default_rng(0)
    data = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            blob = _idx(arr)
            name = d / f"{split}-{kind}-ubyte{'.gz' if gz else ''}"
            name.write_bytes(gzip.compress(blob) if gz else blob)
        data[split] = (images, labels)
    return data


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_load_mnist_reads_idx_files(tmp_path, gz):
    data = _write_mnist(tmp_path, gz=gz)
    x_train, y_train, x_test, y_test = load_mnist(tmp_path)
    assert x_train.shape == (5, 28, 28) and x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(x_train * 255, data["train"][0], atol=1e-4)
    np.testing.assert_array_equal(y_test, data["t10k"][1])
    assert x_test.shape == (3, 28, 28) and 0 <= x_test.min() and x_test.max() <= 1


def test_read_idx_types_and_errors(tmp_path):
    f = tmp_path / "x.idx"
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    f.write_bytes(_idx(a, 0x0C))
    np.testing.assert_array_equal(read_idx(f), a)
    f.write_bytes(_idx(a, 0x0C)[:-3])
    with pytest.raises(ValueError, match="x.idx.*truncated"):
        read_idx(f)
    f.write_bytes(b"\x00\x00\x08")
    with pytest.raises(ValueError, match="x.idx"):
        read_idx(f)
    f.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="x.idx.*magic"):
        read_idx(f)
    f.write_bytes(gzip.compress(_idx(a, 0x0C))[:-10])
    with pytest.raises(ValueError, match="x.idx.*gzip"):
        read_idx(f)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing")


def test_load_mnist_truncated_and_missing_files_name_them(tmp_path):
    _write_mnist(tmp_path)
    f = tmp_path / "t10k-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)
    f.unlink()
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(np.zeros((2, 28, 28), np.uint8)))
    with pytest.raises(ValueError, match="labels"):
        load_mnist(tmp_path)


def test_random_split_partitions_and_batches():
    ds = TensorDataset(em.arange(10).reshape(10, 1), em.arange(10))
    a, b = random_split(ds, [7, 3], seed=0)
    assert len(a) == 7 and len(b) == 3
    seen = sorted(int(ds[int(i)][1].item()) for s in (a, b) for i in s.indices)
    assert seen == list(range(10))
    xb, yb = next(iter(DataLoader(a, batch_size=4)))
    assert xb.shape == (4, 1) and yb.shape == (4,)
    np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy())
    c = random_split(ds, [0.5, 0.3, 0.2], seed=1)
    assert [len(s) for s in c] == [5, 3, 2]
    assert [s.indices.tolist() for s in random_split(ds, [5, 5], seed=3)] == \
        [s.indices.tolist() for s in random_split(ds, [5, 5], seed=3)]
    with pytest.raises(ValueError, match="lengths"):
        random_split(ds, [5, 6])
