"""Batches as plain Python to compare ember's with PyTorch's: a tensor becomes ("tensor", dtype name,
values as a nested list); containers keep their type."""
import numpy as np

import ember as em

# ember keeps bool, floats and int64: an int32/uint8 sample becomes int64 (PyTorch keeps the width)
_WIDER = {"int8": "int64", "int16": "int64", "int32": "int64", "uint8": "int64"}


def plain(x):
    try:
        import torch
        if isinstance(x, torch.Tensor):
            name = str(x.dtype).replace("torch.", "")
            return ("tensor", _WIDER.get(name, name), x.tolist())
    except ImportError:
        pass
    if isinstance(x, em.Tensor):
        return ("tensor", str(np.dtype(x.dtype)), x.tolist())
    if isinstance(x, dict):
        return (type(x).__name__, {k: plain(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [plain(v) for v in x])
    return x


def flat(batches):
    return [plain(b) for b in batches]
