"""Bundled and standard data sets."""
import math
import os

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits():
    """The 1,797 8x8 handwritten digits (UCI optdigits test set), bundled with ember.

    Returns:
        (images, labels): float32 array (1797, 8, 8) scaled to [0, 1], int64 array (1797,).
    """
    with np.load(os.path.join(_HERE, "digits.npz")) as f:
        return f["images"].astype(np.float32) / 16.0, f["labels"].astype(np.int64)


def load_genesis():
    """Genesis 1-18 in the King James Version (public domain), bundled with ember: a small corpus
    for language models.

    Returns:
        list of str: the verses, one per item, in order (about 10,800 words).
    """
    with open(os.path.join(_HERE, "genesis.txt"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def train_test_split(x, y, test_fraction=0.2, seed=0):
    """A seeded shuffle split of arrays x and y into (x_train, y_train, x_test, y_test)."""
    if len(x) != len(y):
        raise ValueError(f"[train_test_split] x has {len(x)} rows but y has {len(y)}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


# ---- MNIST-style IDX files --------------------------------------------------------------
# The IDX format: two zero bytes, a type code, the number of dimensions, then each dimension
# as a big-endian uint32, then the items big-endian. Files may be gzip-compressed.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path):
    """One IDX file (optionally .gz) as a NumPy array of its stored shape and type.

    Raises FileNotFoundError when missing, ValueError naming the file when truncated or corrupt.
    """
    import gzip
    import zlib
    if not os.path.exists(path):
        raise FileNotFoundError(f"[read_idx] no such file: '{path}'")
    if os.path.isdir(path):
        raise ValueError(f"[read_idx] '{path}' is a directory, not an IDX file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ValueError(f"[read_idx] cannot read '{path}' ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"[read_idx] '{path}' is a corrupt gzip file ({e})") from None
    if not raw:
        raise ValueError(f"[read_idx] '{path}' is empty, not an IDX file")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"[read_idx] '{path}' is not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise ValueError(f"[read_idx] '{path}' is truncated: its header needs {head} bytes, the file has {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    want = head + math.prod(shape) * dtype.itemsize  # Python ints: a header's product cannot wrap
    if len(raw) != want:
        what = "truncated" if len(raw) < want else "longer than its header says"
        raise ValueError(f"[read_idx] '{path}' is {what}: shape {shape} needs {want} bytes, the file has {len(raw)}")
    return np.frombuffer(raw, dtype=dtype, offset=head).reshape(shape).astype(dtype.newbyteorder("="))


def _find(directory, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"[load_mnist] no '{stem}' or '{stem}.gz' in '{directory}'")


def read_mnist_split(path, split):
    """(images, labels) of the 'train' or 'test' IDX files in directory `path`, as stored (uint8 for
    MNIST), checked: images (N, H, W), N non-negative integer labels."""
    img_file, lbl_file = (_find(path, s) for s in _MNIST_FILES[split])
    images, labels = read_idx(img_file), read_idx(lbl_file)
    if images.ndim != 3:
        raise ValueError(f"[load_mnist] '{img_file}' holds an array of shape {images.shape}, expected (N, H, W)")
    if labels.dtype.kind not in "iu" or (labels.size and int(labels.min()) < 0):
        raise ValueError(f"[load_mnist] '{lbl_file}' must hold non-negative integer labels, got {labels.dtype}"
                         + (f" with minimum {labels.min()}" if labels.size and labels.dtype.kind in "iu" else ""))
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"[load_mnist] '{lbl_file}' holds {labels.shape} labels for {len(images)} images "
                         f"in '{img_file}'")
    return images, labels


def load_mnist(path):
    """MNIST (or Fashion-MNIST) from the four standard IDX files in a directory, .gz or not.

    Args:
        path: a directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
            t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each optionally .gz).
    Returns:
        (x_train, y_train, x_test, y_test): float32 images (N, 28, 28) in [0, 1], int64 labels (N,).
    Example:
        x_train, y_train, x_test, y_test = load_mnist("~/data/mnist")
    See also load_mnist_arrays (downloads, uint8) and the MNIST dataset.
    """
    path = os.path.expanduser(str(path))
    if not os.path.isdir(path):
        raise FileNotFoundError(f"[load_mnist] '{path}' is not a directory")
    out = []
    for split in ("train", "test"):
        images, labels = read_mnist_split(path, split)
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        out += [images.astype(np.float32) / np.float32(scale), labels.astype(np.int64)]
    return tuple(out)


from .mnist import MNIST, load_mnist_arrays  # noqa: E402,F401  (they read files with the functions above)
