"""save / load a dict of tensors in the safetensors format, atomically."""
import os
import tempfile

import numpy as np

from .tensor import Tensor, from_numpy


def save(state_dict, path):
    """Write {name: tensor or array} to `path` (safetensors); a crash mid-write leaves no partial file."""
    from safetensors.numpy import save as _dumps
    arrays = {}
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(f"save: keys must be strings, got {type(k).__name__}")
        a = v.numpy() if isinstance(v, Tensor) else np.asarray(v)
        arrays[k] = np.ascontiguousarray(a)
    blob = _dumps(arrays)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".ember-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path):
    """Read a safetensors file into {name: tensor} (device cpu)."""
    from safetensors.numpy import load as _loads
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: '{path}'")
    with open(path, "rb") as f:
        blob = f.read()
    try:
        arrays = _loads(blob)
    except Exception as e:
        raise ValueError(f"load: '{path}' is not a valid safetensors file ({e})") from None
    return {k: from_numpy(np.array(v)) for k, v in arrays.items()}
