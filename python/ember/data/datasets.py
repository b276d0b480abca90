"""Bundled and standard data sets."""
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


def train_test_split(x, y, test_fraction=0.2, seed=0):
    """A seeded shuffle split of arrays x and y into (x_train, y_train, x_test, y_test)."""
    if len(x) != len(y):
        raise ValueError(f"train_test_split: x has {len(x)} rows but y has {len(y)}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
