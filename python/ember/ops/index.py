"""Indexing along a dimension with PyTorch's semantics, on the device's array module:
gather, scatter (and scatter_add), masked_fill, sort, argsort, topk, cumsum.

gather/scatter address, for each element of `index`, the position index[...] along `dim` and the
element's own coordinates in the other dimensions (index may be smaller than the input there).
"""
import collections

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, int64
from .arith import where
from .reduce import axes_arg

SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])


def _key(xp, index, dim):
    """The advanced-indexing key of (index along dim, own coordinate elsewhere) for every index element."""
    key = []
    for d, n in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            key.append(xp.arange(n).reshape([n if e == d else 1 for e in range(index.ndim)]))
    return tuple(key)


def _add_at(xp, out, key, values):
    """out[key] += values, accumulating repeated positions (values shaped like the key's broadcast)."""
    if xp is np and out.dtype.kind == "f":
        # a histogram of the flat positions: about twice as fast as np.add.at, and summed in float64
        flat = np.ravel_multi_index(np.broadcast_arrays(*key), out.shape).ravel()
        out += np.bincount(flat, weights=values.ravel(), minlength=out.size).reshape(out.shape).astype(out.dtype)
    elif xp is np:
        np.add.at(out, key, values)
    else:
        import cupyx
        cupyx.scatter_add(out, key, values)


def _region(index_shape):
    """The slice of a source (or gradient) tensor covered by an index of index_shape."""
    return tuple(slice(0, n) for n in index_shape)


class GatherBackward(Function):
    saved_inputs = (1,)  # the index: backward scatters through it

    def forward(self, a, index, dim):
        self.shape, self.dim = a.shape, dim
        self.key = _key(self.backend.xp, index, dim)
        return a[self.key]

    def backward(self, g):
        xp = self.backend.xp
        out = xp.zeros(self.shape, dtype=g.dtype)
        _add_at(xp, out, self.key, g)
        return out, None


class ScatterBackward(Function):
    """out = a with out[key] = src (or += src for add); src's gradient is the gradient at those positions."""
    saved_inputs = (1,)

    def forward(self, a, index, src=None, dim=0, value=None, add=False):
        xp = self.backend.xp
        self.key, self.add, self.index_shape = _key(xp, index, dim), add, index.shape
        self.src_shape = None if src is None else src.shape
        out = a.copy()
        vals = value if src is None else src[_region(index.shape)]
        if add:
            _add_at(xp, out, self.key, vals)
        else:
            out[self.key] = vals
        return out

    def backward(self, g):
        xp = self.backend.xp
        ga = g
        if not self.add and self.needs[0]:
            ga = g.copy()
            ga[self.key] = 0
        gs = None
        if self.src_shape is not None and self.needs[2]:
            gs = xp.zeros(self.src_shape, dtype=g.dtype)
            gs[_region(self.index_shape)] = g[self.key]
        return (ga, None) if self.src_shape is None else (ga, None, gs)


class SortBackward(Function):
    """(values, indices) along dim, ascending or descending, stable; NaN sorts as the largest value.
    Only the first k are kept (topk). The values' gradient goes back to where each came from."""
    non_differentiable = (1,)

    def forward(self, a, dim, descending, k):
        xp, n = self.backend.xp, a.shape[dim]
        if k is not None and 0 < k < n:
            # topk: partition out the k first (NaN counts as the largest), then sort only those
            part = xp.argpartition(a, n - k if descending else k - 1, axis=dim)
            part = part[(slice(None),) * dim + (slice(n - k, n) if descending else slice(0, k),)]
            idx = xp.take_along_axis(part, _argsort(xp, xp.take_along_axis(a, part, axis=dim), dim, descending),
                                     axis=dim)
        else:
            idx = _argsort(xp, a, dim, descending)
            if k is not None:
                idx = idx[(slice(None),) * dim + (slice(0, k),)]
        self.shape, self.dim = a.shape, dim
        self.idx = xp.ascontiguousarray(idx.astype(int64, copy=False))
        return xp.take_along_axis(a, self.idx, axis=dim), self.idx

    def backward(self, g, _):
        out = self.backend.xp.zeros(self.shape, dtype=g.dtype)
        out[_key(self.backend.xp, self.idx, self.dim)] = g
        return (out,)


def _argsort(xp, a, dim, descending):
    """Stable argsort along dim, NaN last ascending (first descending)."""
    if descending:  # sort the reversed axis ascending, reverse, map the indices back: ties keep their order
        return a.shape[dim] - 1 - xp.flip(xp.argsort(xp.flip(a, dim), axis=dim, kind="stable"), dim)
    return xp.argsort(a, axis=dim, kind="stable")


class CumsumBackward(Function):
    def forward(self, a, dim):
        self.dim = dim
        return self.backend.xp.cumsum(a, axis=dim)

    def backward(self, g):
        xp = self.backend.xp
        return (xp.flip(xp.cumsum(xp.flip(g, self.dim), axis=self.dim), self.dim),)


def _dim(a, dim, op):
    try:
        return axes_arg(a.ndim, dim)[0]
    except (IndexError, TypeError) as e:
        raise type(e)(f"[{op}] {e} (shape {a.shape})") from None


def _check_index(a, dim, index, op, src=None):
    """index: an integer tensor on a's device with a's rank, no larger than a outside dim (and than src
    everywhere), each value a position in [0, a.size(dim))."""
    if not isinstance(index, Tensor):
        raise TypeError(f"[{op}] index must be a Tensor, got {type(index).__name__}")
    if index.dtype.kind != "i":
        raise TypeError(f"[{op}] index must be an integer tensor (int64), got {index.dtype}")
    if index._backend is not a._backend:
        raise ValueError(f"[{op}] index is on '{index.device}' but the input is on '{a.device}'")
    if index.ndim != a.ndim:
        raise ValueError(f"[{op}] index of shape {index.shape} must have as many dimensions as the input "
                         f"of shape {a.shape}")
    if any(n > m for d, (n, m) in enumerate(zip(index.shape, a.shape)) if d != dim):
        raise ValueError(f"[{op}] index of shape {index.shape} is larger than the input of shape {a.shape} "
                         f"outside dim {dim}")
    if src is not None and any(n > m for n, m in zip(index.shape, src.shape)):
        raise ValueError(f"[{op}] index of shape {index.shape} is larger than src of shape {src.shape}")
    if index.numel():
        lo, hi = int(index._data.min()), int(index._data.max())
        if lo < 0 or hi >= a.shape[dim]:
            raise IndexError(f"[{op}] index {lo if lo < 0 else hi} is out of bounds for dimension {dim} "
                             f"with size {a.shape[dim]}")


def _no_scalar(a, op):
    if not isinstance(a, Tensor):
        raise TypeError(f"[{op}] input must be a Tensor, got {type(a).__name__}")
    if a.ndim == 0:
        raise ValueError(f"[{op}] needs a tensor with at least one dimension, got a 0-d tensor")


def gather(input, dim, index):
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for any dim), as torch.gather."""
    _no_scalar(input, "gather")
    dim = _dim(input, dim, "gather")
    _check_index(input, dim, index, "gather")
    return GatherBackward.apply(input, index, dim=dim)


def _scatter(input, dim, index, src, add, op):
    _no_scalar(input, op)
    dim = _dim(input, dim, op)
    if isinstance(src, Tensor):
        if src._backend is not input._backend:
            raise ValueError(f"[{op}] src is on '{src.device}' but the input is on '{input.device}'")
        if src.ndim != input.ndim:
            raise ValueError(f"[{op}] src of shape {src.shape} must have as many dimensions as the input "
                             f"of shape {input.shape}")
        _check_index(input, dim, index, op, src)
        if src.dtype != input.dtype:
            src = src.to(dtype=input.dtype)
        return ScatterBackward.apply(input, index, src, dim=dim, add=add)
    if add:
        raise TypeError(f"[{op}] src must be a Tensor, got {type(src).__name__}")
    _check_index(input, dim, index, op)
    return ScatterBackward.apply(input, index, dim=dim, value=src)


def scatter(input, dim, index, src=None, value=None):
    """A copy of input with out[index[i][j]][j] = src[i][j] for dim 0 (src a tensor or a number)."""
    if (src is None) == (value is None):
        raise TypeError("[scatter] give exactly one of src and value")
    return _scatter(input, dim, index, src if value is None else value, False, "scatter")


def scatter_add(input, dim, index, src):
    """A copy of input with src added at the positions of index (repeats accumulate)."""
    return _scatter(input, dim, index, src, True, "scatter_add")


def masked_fill(input, mask, value):
    """input with value wherever the bool mask (broadcast against it) is True; value a number or a 0-d tensor."""
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        raise TypeError(f"[masked_fill] mask must be a bool tensor, got "
                        f"{mask.dtype if isinstance(mask, Tensor) else type(mask).__name__}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise ValueError(f"[masked_fill] value must be a number or a 0-d tensor, got shape {value.shape}")
        value = value.to(input._backend, input.dtype)
    else:
        value = Tensor._wrap(input._backend.xp.asarray(value, dtype=input.dtype), input._backend)
    if mask._backend is not input._backend:
        raise ValueError(f"[masked_fill] mask is on '{mask.device}' but the input is on '{input.device}'")
    try:
        np.broadcast_shapes(mask.shape, input.shape)
    except ValueError:
        raise ValueError(f"[masked_fill] mask of shape {mask.shape} does not broadcast with the input of shape "
                         f"{input.shape}") from None
    return where(mask, value, input)


def _sorted(input, dim, descending, k, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"[{op}] input must be a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        values, indices = _sorted(input.reshape(1), 0, descending, k, op)
        return values.reshape(()), indices.reshape(())
    return SortBackward.apply(input, dim=_dim(input, dim, op), descending=descending, k=k)


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along dim; ties keep their order (every sort here is stable)."""
    return SortResult(*_sorted(input, dim, bool(descending), None, "sort"))


def argsort(input, dim=-1, descending=False, stable=False):
    return _sorted(input, dim, bool(descending), None, "argsort")[1]


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) elements along dim, in sorted order."""
    n = input.shape[_dim(input, dim, "topk")] if isinstance(input, Tensor) and input.ndim else 1
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise ValueError(f"[topk] k must be an int in [0, {n}] (the size of dim {dim}), got {k!r}")
    return TopkResult(*_sorted(input, dim, bool(largest), k, "topk"))


def cumsum(input, dim, dtype=None):
    """Running sums along dim; bool and integer inputs sum as int64 (as PyTorch)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"[cumsum] input must be a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype=dtype)
    elif input.dtype.kind in "biu" and input.dtype != int64:
        input = input.to(dtype=int64)
    if input.ndim == 0:
        return CumsumBackward.apply(input.reshape(1), dim=_dim(input, dim, "cumsum")).reshape(())
    return CumsumBackward.apply(input, dim=_dim(input, dim, "cumsum"))
