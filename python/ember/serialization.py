"""save / load in the safetensors format, atomically, to a path or a binary file object.

A flat {name: tensor} (a model's state_dict) is written as plain safetensors, which any
safetensors reader opens. Anything else (a single tensor, NumPy arrays, an optimizer's
state_dict, a checkpoint dict holding both, lists, tuples, numbers, strings, None) is
flattened: its arrays become safetensors entries named by their path ("state.0.exp_avg") and
the rest (numbers, strings, tuples, key types, which entries were tensors and which NumPy
arrays) goes into the file's metadata as JSON. Nothing is pickled, so loading runs no code.

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
    """obj as JSON-able structure; arrays go into `arrays` under their path.

    Tags: {"__array__": key} a tensor (with "requires_grad": true when it did), {"__ndarray__": key}
    a NumPy (or CuPy) array, {"__npscalar__": key} a NumPy scalar, stored as a 0-d array."""
    if isinstance(obj, Tensor):
        _put(arrays, path, obj)
        return {"__array__": path, "requires_grad": True} if obj.requires_grad else {"__array__": path}
    if _is_array(obj):
        _put(arrays, path, obj)
        return {"__ndarray__": path}
    if isinstance(obj, np.generic):
        _put(arrays, path, np.asarray(obj))
        return {"__npscalar__": path}
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
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if callable(getattr(obj, "state_dict", None)):
        raise TypeError(f"[save] cannot store a {type(obj).__name__} object (at '{path or 'the top'}'): ember never "
                        "pickles objects; save its state_dict() instead, e.g. em.save(model.state_dict(), f), and "
                        "restore with load_state_dict(em.load(f))")
    raise TypeError(f"[save] cannot store a {type(obj).__name__} (at '{path}'); use tensors, arrays, numbers, "
                    "strings, lists, tuples and dicts")


def _unflatten(obj, arrays, device):
    if isinstance(obj, dict):
        if "__array__" in obj:
            return _as_tensor(arrays[obj["__array__"]], device, obj.get("requires_grad", False))
        if "__ndarray__" in obj:
            return arrays[obj["__ndarray__"]]
        if "__npscalar__" in obj:
            return arrays[obj["__npscalar__"]][()]
        if "__tuple__" in obj:
            return tuple(_unflatten(v, arrays, device) for v in obj["__tuple__"])
        return {k: _unflatten(v, arrays, device) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_unflatten(v, arrays, device) for v in obj]
    return obj


def _as_tensor(a, device, requires_grad=False):
    t = from_numpy(a)
    if device is not None:
        try:
            t = t.to(device)
        except (TypeError, ValueError, RuntimeError) as e:
            raise type(e)(f"[load] map_location={device!r}: {e}") from None
    if requires_grad:
        t.requires_grad = True
    return t


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


def save(obj, f):
    """Write obj to f in the safetensors format.

    Args:
        obj: a tensor, a state dict, or any nest of dicts (str or int keys), lists, tuples, tensors,
            NumPy arrays, numbers, strings and None. Modules and optimizers are refused: save their
            state_dict().
        f: a path (str or os.PathLike), written atomically (a temporary file renamed over the target,
            so a crash mid-write leaves the old file or the new one, whole), or a binary file object
            (anything with write()), which gets the whole file in one write.
    Raises ValueError for keys that collide once nested keys are joined with '.', TypeError for
    values safetensors cannot store, FileNotFoundError for a missing folder.

    Example:
        em.save(model.state_dict(), "model.safetensors")
        em.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, "ckpt.safetensors")
    """
    target = _target(f, "save", "write")
    arrays, metadata = {}, None
    if (isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj)
            and all(isinstance(v, Tensor) and not v.requires_grad for v in obj.values())):
        arrays = {k: _host(v) for k, v in obj.items()}
    else:
        structure = _flatten(obj, "", arrays)
        metadata = {_STRUCTURE: json.dumps(structure, allow_nan=True)}
    blob = _serialize(arrays, metadata)
    if isinstance(target, str):
        _write_atomic(blob, target)
        return
    try:
        target.write(blob)
    except TypeError:
        raise TypeError("[save] the file object must be opened in binary mode ('wb')") from None


def _target(f, op, method):
    """f as a path string, or the file object itself when it has `method`."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    if callable(getattr(f, method, None)):
        return f
    raise TypeError(f"[{op}] expected a path (str or os.PathLike) or a binary file object with {method}(), "
                    f"got {type(f).__name__}")


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


def load(f, map_location=None):
    """Read what save wrote (or any safetensors file): the saved object, or {name: tensor}.

    Tensors come back as tensors (on the cpu, or on map_location), NumPy arrays as NumPy arrays,
    tuples as tuples and int keys as ints; every array is a fresh writable copy.

    Args:
        f: a path (str or os.PathLike) or a binary file object (anything with read()).
        map_location: None, a device name such as "cpu" or "cuda", or an ember device: where tensors go.
    Raises FileNotFoundError for a missing file and ValueError naming the file for a corrupt or truncated one.

    Example:
        model.load_state_dict(em.load("model.safetensors"))
    """
    if map_location is not None and (callable(map_location) or isinstance(map_location, dict)):
        raise TypeError(f"[load] map_location must be None, a device name or an ember device, got "
                        f"{type(map_location).__name__} (ember takes no callables or dicts here)")
    if map_location is not None:
        _as_tensor(np.zeros(0, np.float32), map_location)  # a bad device fails here, before reading
    source = _target(f, "load", "read")
    name = source if isinstance(source, str) else getattr(source, "name", repr(source))
    blob = _read(source)
    try:
        arrays, metadata = _decode(blob)
    except Exception as e:
        raise ValueError(f"[load] '{name}' is not a valid safetensors file ({e})") from None
    if metadata and _STRUCTURE in metadata:
        try:
            structure = json.loads(metadata[_STRUCTURE])
        except (ValueError, RecursionError) as e:
            raise ValueError(f"[load] '{name}' has a corrupt ember structure ({e})") from None
        try:
            return _unflatten(structure, arrays, map_location)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as e:
            raise ValueError(f"[load] '{name}' has a corrupt ember structure ({type(e).__name__}: {e})") from None
    return {k: _as_tensor(v, map_location) for k, v in arrays.items()}


def _read(source):
    if isinstance(source, str):
        if not os.path.exists(source):
            raise FileNotFoundError(f"[load] no such file: '{source}'")
        with open(source, "rb") as fh:
            return fh.read()
    blob = source.read()
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError(f"[load] the file object must be opened in binary mode ('rb'), its read() gave "
                        f"{type(blob).__name__}")
    return bytes(blob)


def _metadata(blob):
    """The __metadata__ of a safetensors blob (8-byte little-endian header length, then JSON)."""
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n]).get("__metadata__")
