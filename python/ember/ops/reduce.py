"""Reductions over an int or a tuple of axes, with PyTorch's (dim, keepdim) or
NumPy's (axis, keepdims) spelling: sum, mean, max, min, var, std, argmax, argmin."""
import builtins
import math

from ..autograd import Function
from ..tensor import Tensor, float32, int64, is_floating


def axes_arg(ndim, dim=None, axis=None, name="dim"):
    """The normalised tuple of axes (None = all) from dim= or axis=."""
    if dim is not None and axis is not None:
        raise TypeError("give dim or axis, not both")
    d = dim if dim is not None else axis
    if d is None:
        return None
    ds = (d,) if isinstance(d, int) else tuple(d)
    out = []
    for a in ds:
        if not isinstance(a, int):
            raise TypeError(f"{name} must be an int or a tuple of ints, got {type(a).__name__}")
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise IndexError(f"{name} {a} is out of range for a tensor of {ndim} dimensions")
        out.append(a % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} {d} repeats an axis")
    return tuple(out)


def _keep(keepdim, keepdims):
    return bool(keepdim or keepdims)


def _expand(g, shape, axes, keep):
    """g reduced over axes (without kept dims) reshaped to broadcast against shape."""
    if keep or axes is None and g.ndim == 0 and len(shape) == 0:
        return g
    if axes is None:
        return g.reshape((1,) * len(shape))
    return g.reshape([1 if i in axes else n for i, n in enumerate(shape)])


class SumBackward(Function):
    def forward(self, a, axes, keep):
        self.shape, self.axes, self.keep = a.shape, axes, keep
        return a.sum(axis=axes, keepdims=keep)

    def backward(self, g):
        xp = self.backend.xp
        return (xp.broadcast_to(_expand(g, self.shape, self.axes, self.keep), self.shape),)


class MeanBackward(Function):
    def forward(self, a, axes, keep):
        self.shape, self.axes, self.keep = a.shape, axes, keep
        self.count = _count(a.shape, axes)
        return a.mean(axis=axes, keepdims=keep)

    def backward(self, g):
        xp = self.backend.xp
        g = _expand(g, self.shape, self.axes, self.keep) / g.dtype.type(builtins.max(self.count, 1))
        return (xp.broadcast_to(g, self.shape),)


class MaxMinBackward(Function):
    """max or min over axes; the gradient is split evenly among tied extremes."""
    saved_inputs = (0,)
    saved_output = True

    def forward(self, a, axes, keep, mode):
        if a.size == 0:
            raise ValueError(f"{mode}() of an empty tensor of shape {a.shape}")
        self.a, self.axes, self.keep = a, axes, keep
        self.out = a.max(axis=axes, keepdims=True) if mode == "max" else a.min(axis=axes, keepdims=True)
        return self.out if keep else self.out.reshape(_reduced_shape(a.shape, axes))

    def backward(self, g):
        mask = (self.a == self.out).astype(g.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return (mask * _expand(g, self.a.shape, self.axes, self.keep),)


def _count(shape, axes):
    return math.prod(shape if axes is None else (shape[i] for i in axes))


def _reduced_shape(shape, axes):
    return tuple(n for i, n in enumerate(shape) if axes is not None and i not in axes)


def _floating(a):
    return a if is_floating(a.dtype) else a.to(dtype=float32)


def sum(a, dim=None, keepdim=False, axis=None, keepdims=False):
    axes = axes_arg(a.ndim, dim, axis)
    if a.dtype.kind == "b":
        a = a.to(dtype=int64)
    return SumBackward.apply(a, axes=axes, keep=_keep(keepdim, keepdims))


def mean(a, dim=None, keepdim=False, axis=None, keepdims=False):
    return MeanBackward.apply(_floating(a), axes=axes_arg(a.ndim, dim, axis), keep=_keep(keepdim, keepdims))


def max(a, dim=None, keepdim=False, axis=None, keepdims=False):
    return MaxMinBackward.apply(a, axes=axes_arg(a.ndim, dim, axis), keep=_keep(keepdim, keepdims), mode="max")


def min(a, dim=None, keepdim=False, axis=None, keepdims=False):
    return MaxMinBackward.apply(a, axes=axes_arg(a.ndim, dim, axis), keep=_keep(keepdim, keepdims), mode="min")


def var(a, dim=None, keepdim=False, axis=None, keepdims=False, unbiased=True, correction=None):
    """Variance; unbiased (divides by n - 1) by default, as PyTorch."""
    axes = axes_arg(a.ndim, dim, axis)
    keep = _keep(keepdim, keepdims)
    a = _floating(a)
    n = _count(a.shape, axes)
    ddof = (1 if unbiased else 0) if correction is None else correction
    d = a - mean(a, dim=axes, keepdim=True)
    return sum(d * d, dim=axes, keepdim=keep) / builtins.max(n - ddof, 0)


def std(a, dim=None, keepdim=False, axis=None, keepdims=False, unbiased=True, correction=None):
    return var(a, dim, keepdim, axis, keepdims, unbiased, correction) ** 0.5


def _arg(a, dim, keepdim, axis, keepdims, mode):
    axes = axes_arg(a.ndim, dim, axis)
    if axes is not None and len(axes) != 1:
        raise ValueError(f"arg{mode} takes one axis, got {axes}")
    if a.numel() == 0:
        raise ValueError(f"arg{mode}() of an empty tensor of shape {a.shape}")
    f = a._data.argmax if mode == "max" else a._data.argmin
    if axes is None:
        r = f()
        r = r.reshape((1,) * a.ndim) if _keep(keepdim, keepdims) else r
    else:
        r = f(axis=axes[0], keepdims=_keep(keepdim, keepdims))
    return Tensor._wrap(a._backend.xp.asarray(r, dtype=int64), a._backend)


def argmax(a, dim=None, keepdim=False, axis=None, keepdims=False):
    return _arg(a, dim, keepdim, axis, keepdims, "max")


def argmin(a, dim=None, keepdim=False, axis=None, keepdims=False):
    return _arg(a, dim, keepdim, axis, keepdims, "min")


def _truth(a, dim, keepdim, mode):
    """all / any: a bool tensor, over every item or along dim (no gradient, as in PyTorch)."""
    if not isinstance(a, Tensor):
        raise TypeError(f"[{mode}] input must be a Tensor, got {type(a).__name__}")
    axes = axes_arg(a.ndim, dim, None)
    f = a._backend.xp.all if mode == "all" else a._backend.xp.any
    r = f(a._data, axis=axes, keepdims=bool(keepdim))
    return Tensor._wrap(a._backend.xp.asarray(r, dtype=bool), a._backend)


def all(a, dim=None, keepdim=False):
    return _truth(a, dim, keepdim, "all")


def any(a, dim=None, keepdim=False):
    return _truth(a, dim, keepdim, "any")
