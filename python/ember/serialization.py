"""save / load in the safetensors format, atomically.

A flat {name: tensor or array} (a model's state_dict) is written as plain safetensors, which
any safetensors reader opens. Anything nested (an optimizer's state_dict, a checkpoint dict
holding both) is flattened: its arrays become tensors named by their path ("state.0.exp_avg")
and the rest (numbers, strings, tuples, key types) goes into the file's metadata as JSON.

Writing goes to a temporary file next to the target (named after the target, the host and
the writer's pid), fsynced, then renamed over the target: a reader sees the old file or the
new one, whole. A writer killed mid-save leaves its temporary file; the next save of the same
target removes those whose writer is gone.
"""
import hashlib
import json
import os
import secrets
import socket
import time

import numpy as np

from .tensor import Tensor, from_numpy

_STRUCTURE = "ember.structure"
_RESERVED = "__metadata__"  # safetensors' header key: a tensor of that name would corrupt the file
# A temporary file this old is stale even if a process with its writer's pid runs (pids are reused);
# no save takes a day between creating its file and renaming it.
STALE_AFTER_S = 24 * 3600


def _is_array(v):
    return isinstance(v, (Tensor, np.ndarray)) or hasattr(v, "__cuda_array_interface__")


def _host(v):
    """v as a C-contiguous NumPy array of its own shape (np.ascontiguousarray would make 0-d 1-d)."""
    if isinstance(v, Tensor):
        v = v.numpy()
    elif hasattr(v, "__cuda_array_interface__") and not isinstance(v, np.ndarray):
        v = v.get()
    return np.asarray(v, order="C")


def _put(arrays, path, value):
    if path in arrays:
        raise ValueError(f"[save] two entries are both stored under the key '{path}' once nested keys are joined "
                         "with '.' (e.g. {'a.b': x, 'a': {'b': y}} or {1: x, '1': y}); rename one")
    arrays[path] = _host(value)


def _flatten(obj, path, arrays):
    """obj as JSON-able structure; arrays go into `arrays` under their path."""
    if _is_array(obj):
        _put(arrays, path, obj)
        return {"__array__": path}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"[save] dict keys must be str or int, got {type(k).__name__} at '{path}'")
            items.append([k, _flatten(v, f"{path}.{k}" if path else str(k), arrays)])
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        out = [_flatten(v, f"{path}.{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return {"__tuple__": out} if isinstance(obj, tuple) else out
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"[save] cannot store a {type(obj).__name__} (at '{path}'); use tensors, arrays, numbers, "
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


def _serialize(arrays, metadata):
    """The safetensors bytes; the package's errors become TypeError/ValueError naming the entry."""
    from safetensors.numpy import save as _dumps
    if _RESERVED in arrays:
        raise ValueError(f"[save] the key '{_RESERVED}' is reserved by the safetensors format; rename it")
    try:
        return _dumps(arrays, metadata=metadata)
    except Exception as e:
        cause = e
    for k, a in arrays.items():
        try:
            _dumps({k: np.empty((0,), a.dtype)})
        except Exception as e:
            raise TypeError(f"[save] entry '{k}' has dtype {a.dtype}, which safetensors cannot store ({e})") from None
    raise ValueError(f"[save] safetensors refused the data ({type(cause).__name__}: {cause})") from None


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _temp_prefix(path):
    """The temporary files of one target share this prefix (a hash: any target name fits NAME_MAX)."""
    base = os.path.basename(path).encode("utf-8", "surrogateescape")
    return f".ember-{hashlib.sha256(base).hexdigest()[:16]}-"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _remove_stale_temps(folder, prefix):
    """Removes this target's temporary files whose writer has gone (same host, pid not running)
    or that are older than STALE_AFTER_S. A live writer's file is left alone."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    now = time.time()
    for name in names:
        fields = name[len(prefix):-len(".tmp")].split("-")
        p = os.path.join(folder, name)
        try:
            gone = len(fields) == 3 and fields[0] == _HOST and fields[1].isdigit() and not _alive(int(fields[1]))
            if gone or now - os.stat(p).st_mtime > STALE_AFTER_S:
                os.unlink(p)
        except OSError:  # another saver removed it first, or it is not ours to remove
            pass


def _write_atomic(blob, path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"[save] folder '{folder}' does not exist (saving to '{path}')")
    prefix = _temp_prefix(path)
    _remove_stale_temps(folder, prefix)
    tmp = os.path.join(folder, f"{prefix}{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp")
    # O_EXCL on a fresh name, mode 0o666: the kernel applies the umask (and default ACLs), as open() would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Makes the rename itself durable; some systems cannot open a folder for this, which is harmless."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj, path):
    """Write a state dict (or any nest of dicts, lists, tensors and numbers) to `path` as safetensors.

    The file is written to a temporary name and renamed, so a crash mid-write leaves no partial file.
    Raises ValueError for keys that collide once nested keys are joined with '.', TypeError for
    values safetensors cannot store, FileNotFoundError for a missing folder.

    Example:
        em.save(model.state_dict(), "model.safetensors")
        em.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, "ckpt.safetensors")
    """
    if not isinstance(obj, dict):
        raise TypeError(f"[save] expected a dict, got {type(obj).__name__}")
    arrays, metadata = {}, None
    if all(isinstance(k, str) for k in obj) and all(_is_array(v) for v in obj.values()):
        arrays = {k: _host(v) for k, v in obj.items()}
    else:
        structure = _flatten(obj, "", arrays)
        metadata = {_STRUCTURE: json.dumps(structure)}
    _write_atomic(_serialize(arrays, metadata), path)


def _dtype(name):
    """A safetensors dtype name as a NumPy dtype; the low-precision floats come from ml_dtypes."""
    plain = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "U64": np.uint64,
             "I32": np.int32, "U32": np.uint32, "I16": np.int16, "U16": np.uint16, "I8": np.int8,
             "U8": np.uint8, "BOOL": np.bool_, "C64": np.complex64}
    if name in plain:
        return np.dtype(plain[name])
    import ml_dtypes
    low = {"BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}
    if name not in low:
        raise ValueError(f"unsupported dtype {name}")
    return np.dtype(getattr(ml_dtypes, low[name]))


def _decode(blob):
    """({name: array}, metadata) of a safetensors blob, each array a fresh writable copy."""
    from safetensors import deserialize
    arrays = {}
    for name, view in deserialize(blob):
        a = np.frombuffer(view["data"], dtype=_dtype(view["dtype"]))
        arrays[name] = a.reshape(view["shape"]).copy()
    return arrays, _metadata(blob)


def load(path):
    """Read a file written by save (or any safetensors file): {name: tensor}, or the saved nest.

    Raises FileNotFoundError for a missing file and ValueError for a corrupt one.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"[load] no such file: '{path}'")
    with open(path, "rb") as f:
        blob = f.read()
    try:
        arrays, metadata = _decode(blob)
    except Exception as e:
        raise ValueError(f"[load] '{path}' is not a valid safetensors file ({e})") from None
    tensors = {k: from_numpy(v) for k, v in arrays.items()}
    if metadata and _STRUCTURE in metadata:
        try:
            return _unflatten(json.loads(metadata[_STRUCTURE]), tensors)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"[load] '{path}' has a corrupt ember structure ({e})") from None
    return tensors


def _metadata(blob):
    """The __metadata__ of a safetensors blob (8-byte little-endian header length, then JSON)."""
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n]).get("__metadata__")
