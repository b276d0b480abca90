"""save / load in the safetensors format, atomically.

A flat {name: tensor or array} (a model's state_dict) is written as plain safetensors, which
any safetensors reader opens. Anything nested (an optimizer's state_dict, a checkpoint dict
holding both) is flattened: its arrays become tensors named by their path ("state.0.exp_avg")
and the rest (numbers, strings, tuples, key types) goes into the file's metadata as JSON.
"""
import json
import os
import tempfile

import numpy as np

from .tensor import Tensor, from_numpy

_STRUCTURE = "ember.structure"


def _is_array(v):
    return isinstance(v, (Tensor, np.ndarray)) or hasattr(v, "__cuda_array_interface__")


def _host(v):
    if isinstance(v, Tensor):
        return v.numpy()
    return v.get() if hasattr(v, "__cuda_array_interface__") and not isinstance(v, np.ndarray) else v


def _flatten(obj, path, arrays):
    """obj as JSON-able structure; arrays go into `arrays` under their path."""
    if _is_array(obj):
        arrays[path] = np.ascontiguousarray(_host(obj))
        return {"__array__": path}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} at '{path}'")
            items.append([k, _flatten(v, f"{path}.{k}" if path else str(k), arrays)])
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        out = [_flatten(v, f"{path}.{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return {"__tuple__": out} if isinstance(obj, tuple) else out
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} (at '{path}'); use tensors, arrays, numbers, "
                    "strings, lists, tuples and dicts")


def _unflatten(obj, arrays):
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__tuple__" in obj:
            return tuple(_unflatten(v, arrays) for v in obj["__tuple__"])
        return {k: _unflatten(v, arrays) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_unflatten(v, arrays) for v in obj]
    return obj


def save(obj, path):
    """Write a state dict (or any nest of dicts, lists, tensors and numbers) to `path` as safetensors.

    The file is written to a temporary name and renamed, so a crash mid-write leaves no partial file.

    Example:
        em.save(model.state_dict(), "model.safetensors")
        em.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, "ckpt.safetensors")
    """
    from safetensors.numpy import save as _dumps
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict, got {type(obj).__name__}")
    arrays, metadata = {}, None
    if all(isinstance(k, str) for k in obj) and all(_is_array(v) for v in obj.values()):
        arrays = {k: np.ascontiguousarray(_host(v)) for k, v in obj.items()}
    else:
        structure = _flatten(obj, "", arrays)
        metadata = {_STRUCTURE: json.dumps(structure)}
    blob = _dumps(arrays, metadata=metadata)
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
    """Read a file written by save (or any safetensors file): {name: tensor}, or the saved nest.

    Raises FileNotFoundError for a missing file and ValueError for a corrupt one.
    """
    from safetensors.numpy import load as _loads
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: '{path}'")
    with open(path, "rb") as f:
        blob = f.read()
    try:
        arrays = _loads(blob)
        metadata = _metadata(blob)
    except Exception as e:
        raise ValueError(f"load: '{path}' is not a valid safetensors file ({e})") from None
    tensors = {k: from_numpy(np.array(v)) for k, v in arrays.items()}
    if metadata and _STRUCTURE in metadata:
        try:
            return _unflatten(json.loads(metadata[_STRUCTURE]), tensors)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"load: '{path}' has a corrupt ember structure ({e})") from None
    return tensors


def _metadata(blob):
    """The __metadata__ of a safetensors blob (8-byte little-endian header length, then JSON)."""
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n]).get("__metadata__")
