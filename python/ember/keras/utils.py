"""keras.utils: to_categorical, set_random_seed."""
import numpy as np

from ..random import manual_seed


def to_categorical(x, num_classes=None):
    """One-hot rows (float64, as Keras) for integer labels; a trailing axis of 1 is dropped first.

    Example:
        y = keras.utils.to_categorical([0, 2, 1], 3)   # shape (3, 3)
    """
    x = np.asarray(x)
    if x.dtype.kind == "f" and not np.all(x == np.round(x)):
        raise ValueError("[to_categorical] labels must be integers")
    x = x.astype(np.int64)
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"[to_categorical] labels must be in [0, {num_classes}), got values in "
                         f"[{x.min()}, {x.max()}]")
    out = np.zeros((x.size, num_classes))
    out[np.arange(x.size), x] = 1
    return out.reshape(shape + (num_classes,))


def set_random_seed(seed):
    """Seed ember's generator and NumPy's global one, as keras.utils.set_random_seed."""
    np.random.seed(seed)
    manual_seed(seed)
