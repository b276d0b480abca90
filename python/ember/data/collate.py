"""default_collate and default_convert: samples to batches, as PyTorch's.

Tensors are stacked (they keep their device); NumPy arrays and NumPy scalars become tensors of
their dtype (ember keeps bool, floats and int64, so other integers become int64); Python floats a
float64 tensor, ints an int64 one, bools a bool one; strings stay a list; dicts, namedtuples,
tuples and lists are collated entry by entry (a tuple comes back as a list, as PyTorch's).
"""
import collections.abc
import copy

import numpy as np

from ..tensor import Tensor, float64, int64, tensor

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _array_tensor(a):
    a = np.asarray(a)
    if a.dtype.kind in "SaUOV":
        raise TypeError(_ERR.format(a.dtype))
    return tensor(a, dtype=a.dtype if a.dtype.kind in "fb" else int64)


def default_collate(batch):
    """A list of samples as one batch (see the module's docstring).

    Example:
        default_collate([(np.zeros(2), 1), (np.ones(2), 0)])  # [tensor (2, 2), tensor([1, 0])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        from ..ops import stack
        return stack(list(batch))
    if isinstance(elem, np.ndarray) or (isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_))):
        if isinstance(elem, np.ndarray) and elem.dtype.kind in "SaUOV":
            raise TypeError(_ERR.format(elem.dtype))
        arrays = [np.asarray(b) for b in batch]
        if any(a.shape != arrays[0].shape for a in arrays):
            raise ValueError(f"[default_collate] arrays of different shapes cannot be stacked: "
                             f"{sorted({a.shape for a in arrays})}")
        return _array_tensor(np.stack(arrays))
    if isinstance(elem, bool):
        return tensor(list(batch))
    if isinstance(elem, float):
        return tensor(list(batch), dtype=float64)
    if isinstance(elem, int):
        return tensor(list(batch), dtype=int64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        try:
            return type(elem)(out)
        except TypeError:  # a mapping type whose constructor takes something else
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        return _same_sequence_type(elem, columns)
    raise TypeError(_ERR.format(type(elem)))


def _same_sequence_type(elem, columns):
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            out = copy.copy(elem)
            for i, c in enumerate(columns):
                out[i] = c
            return out
        return type(elem)(columns)
    except TypeError:  # a sequence type that cannot be copied or built from a list (e.g. range)
        return columns


def default_convert(data):
    """One sample with its NumPy arrays and scalars as tensors (the collate_fn for batch_size=None)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "SaUOV" else _array_tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _array_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
