"""MNIST: the four IDX .gz files, downloaded once (torchvision's mirrors and MD5 checksums) and read
as uint8 arrays (load_mnist_arrays) or as torchvision's dataset of (image, label) items (MNIST)."""
import os

import numpy as np

from ..tensor import tensor
from .dataset import Dataset
from .download import download

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
RESOURCES = (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
             ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
             ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
             ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"))


def default_root():
    """$EMBER_DATA/mnist when EMBER_DATA is set, else ~/.cache/ember/mnist."""
    base = os.environ.get("EMBER_DATA")
    return os.path.join(base, "mnist") if base else os.path.join(os.path.expanduser("~"), ".cache", "ember", "mnist")


def _present(folder, name):
    return any(os.path.exists(os.path.join(folder, n)) for n in (name, name[:-len(".gz")]))


def ensure_files(folder, download_missing, mirrors=MIRRORS, resources=RESOURCES, op="mnist"):
    """Makes sure folder holds the four files (each .gz or not), downloading the missing ones.

    Raises FileNotFoundError (download_missing False) or RuntimeError (no mirror could give a file),
    both naming the folder and the file names to put there by hand on an offline machine.
    """
    missing = [(n, m) for n, m in resources if not _present(folder, n)]
    if not missing:
        return
    by_hand = (f"put {', '.join(n for n, _ in resources)} into '{folder}' (from {mirrors[0] if mirrors else 'a mirror'}"
               f" on a machine that is online)")
    if not download_missing:
        raise FileNotFoundError(f"[{op}] {', '.join(n for n, _ in missing)} not found in '{folder}': pass "
                                f"download=True, or {by_hand}")
    for name, checksum in missing:
        try:
            download(name, folder, mirrors, checksum, op)
        except RuntimeError as e:
            raise RuntimeError(f"{e}\nIf this machine is offline, {by_hand}.") from None


def load_mnist_arrays(root=None, download=True, *, mirrors=MIRRORS, checksums=None):
    """MNIST as uint8 arrays, downloaded into root the first time (what keras.datasets.mnist.load_data gives).

    Args:
        root: the folder of the four .gz files (default: default_root(), ~/.cache/ember/mnist or $EMBER_DATA/mnist).
        download: fetch missing files from the mirrors (checked against their MD5; resumable; atomic).
        mirrors, checksums: other mirror URLs, and {file name: MD5} replacing the standard checksums.
    Returns:
        ((x_train, y_train), (x_test, y_test)): uint8 images (N, 28, 28), uint8 labels (N,).
    Example:
        (x_train, y_train), (x_test, y_test) = load_mnist_arrays()
    """
    from .datasets import read_mnist_split
    folder = os.path.expanduser(os.fspath(root)) if root is not None else default_root()
    resources = tuple((n, (checksums or {}).get(n, m)) for n, m in RESOURCES)
    ensure_files(folder, download, mirrors, resources, "load_mnist_arrays")
    out = []
    for split in ("train", "test"):
        images, labels = read_mnist_split(folder, split)
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise ValueError(f"[load_mnist_arrays] the {split} files in '{folder}' hold {images.dtype} images and "
                             f"{labels.dtype} labels, expected uint8 (MNIST's)")
        out.append((images, labels))
    return tuple(out)


class MNIST(Dataset):
    """torchvision.datasets.MNIST: items (image, label), the files in root/MNIST/raw (torchvision's layout).

    The image is a float32 tensor (1, 28, 28) in [0, 1] when transform is None; a transform gets the
    uint8 array (28, 28) instead (ember has no PIL images) and returns what the item holds. The label
    is an int (or target_transform(int)). `data` is the uint8 array (N, 28, 28), `targets` the int64
    labels (N,).

    Example:
        train = MNIST("data", train=True, download=True)
        loader = DataLoader(train, batch_size=64, shuffle=True)
    """
    mirrors = MIRRORS
    resources = RESOURCES
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, download=False, transform=None, target_transform=None):
        from .datasets import read_mnist_split
        self.root, self.train = os.path.expanduser(os.fspath(root)), train
        self.transform, self.target_transform = transform, target_transform
        ensure_files(self.raw_folder, download, self.mirrors, self.resources, "MNIST")
        self.data, labels = read_mnist_split(self.raw_folder, "train" if train else "test")
        self.targets = labels.astype(np.int64)

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"[MNIST] index must be an int, got {type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise IndexError(f"[MNIST] index {i} is out of range for {len(self)} images")
        img, target = self.data[i], int(self.targets[i])
        if self.transform is None:
            img = tensor(img[None].astype(np.float32) / np.float32(255.0))
        else:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
