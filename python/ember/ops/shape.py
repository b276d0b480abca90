"""Views and data movement: reshape/view, permute/transpose, squeeze/unsqueeze,
flatten, expand, indexing, cat, stack, and moves between devices."""
import math

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor, as_tensor
from .reduce import axes_arg


class _View(Function):
    """An op whose output may be a view of its input: a view shares its base's version counter,
    so an in-place write through either is seen by the nodes that saved the other."""

    @classmethod
    def apply(cls, a, **kwargs):
        out = super().apply(a, **kwargs)
        if a._backend.xp.may_share_memory(out._data, a._data):
            out._version = a._version
        return out


class ReshapeBackward(_View):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class PermuteBackward(_View):
    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, g):
        return (g.transpose(np.argsort(self.axes)),)


class ExpandBackward(_View):
    def forward(self, a, shape):
        self.shape = a.shape
        return self.backend.xp.broadcast_to(a, shape)

    def backward(self, g):
        from .arith import unbroadcast
        return (unbroadcast(g, self.shape),)


class IndexBackward(_View):
    def forward(self, a, key):
        self.shape, self.dtype, self.key = a.shape, a.dtype, key
        return a[key]

    def backward(self, g):
        xp = self.backend.xp
        out = self.backend.mem.zeros(self.shape, dtype=self.dtype)  # the host pool (or CuPy's)
        if _is_basic(self.key):
            out[self.key] = g
        elif xp is np:  # fancy indices may repeat: accumulate
            np.add.at(out, self.key, g)
        else:
            import cupyx
            cupyx.scatter_add(out, self.key, g)
        return (out,)


class CatBackward(Function):
    def forward(self, *arrays, axis):
        self.axis, self.sizes = axis, [a.shape[axis] for a in arrays]
        return self.backend.xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = self.backend.xp
        return tuple(xp.split(g, np.cumsum(self.sizes)[:-1].tolist(), axis=self.axis))


class StackBackward(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        return self.backend.xp.stack(arrays, axis=axis)

    def backward(self, g):
        xp = self.backend.xp
        return tuple(xp.squeeze(p, axis=self.axis) for p in xp.split(g, g.shape[self.axis], axis=self.axis))


class ToDeviceBackward(Function):
    """Moves data between devices; its output lives on another backend than its input."""

    @classmethod
    def apply(cls, a, device):
        fn = cls((a,))
        fn.src, fn.dst = a._backend, device
        out = Tensor._wrap(device.move(a._data, a._backend), device)
        if a.requires_grad and is_grad_enabled():
            out.requires_grad, out._ctx = True, fn
        return out

    def backward(self, g):
        return (self.src.move(g, self.dst),)


def _is_basic(key):
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice, np.integer)) for k in keys)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(a, *shape):
    shape = _shape_arg(shape)
    known = math.prod(s for s in shape if s != -1)
    if shape.count(-1) > 1 or (shape.count(-1) == 0 and known != a.numel()) or \
            (shape.count(-1) == 1 and (known == 0 or a.numel() % known)):
        raise ValueError(f"cannot reshape a tensor of shape {a.shape} ({a.numel()} elements) into {shape}")
    return ReshapeBackward.apply(a, shape=shape)


def permute(a, *axes):
    axes = _shape_arg(axes)
    if sorted(x % max(a.ndim, 1) for x in axes) != list(range(a.ndim)):
        raise ValueError(f"[permute] {axes} is not a permutation of the {a.ndim} axes of shape {a.shape}")
    return PermuteBackward.apply(a, axes=tuple(x % a.ndim for x in axes))


def transpose(a, dim0=-2, dim1=-1):
    d0, d1 = axes_arg(a.ndim, dim0)[0], axes_arg(a.ndim, dim1)[0]
    axes = list(range(a.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return PermuteBackward.apply(a, axes=tuple(axes))


def flatten(a, start_dim=0, end_dim=-1):
    if a.ndim == 0:
        return reshape(a, 1)
    s, e = axes_arg(a.ndim, start_dim)[0], axes_arg(a.ndim, end_dim)[0]
    if s > e:
        raise ValueError(f"[flatten] start_dim {start_dim} comes after end_dim {end_dim} for shape {a.shape}")
    return reshape(a, a.shape[:s] + (math.prod(a.shape[s:e + 1]),) + a.shape[e + 1:])


def squeeze(a, dim=None, axis=None):
    axes = axes_arg(a.ndim, dim, axis)
    if axes is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    shape = tuple(n for i, n in enumerate(a.shape) if not (i in axes and n == 1))
    return ReshapeBackward.apply(a, shape=shape)


def unsqueeze(a, dim):
    if not -a.ndim - 1 <= dim <= a.ndim:
        raise IndexError(f"[unsqueeze] dim {dim} is out of range for a tensor of {a.ndim} dimensions")
    dim = dim % (a.ndim + 1)
    return ReshapeBackward.apply(a, shape=a.shape[:dim] + (1,) + a.shape[dim:])


def expand(a, *shape):
    shape = _shape_arg(shape)
    lead = len(shape) - a.ndim
    if lead < 0:
        raise ValueError(f"[expand] cannot expand shape {a.shape} to fewer dimensions {shape}")
    full = tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    try:
        np.broadcast_shapes(a.shape, full)
    except ValueError:
        raise ValueError(f"[expand] shape {a.shape} cannot be expanded to {shape}") from None
    return ExpandBackward.apply(a, shape=full)


def _index_key(a, key):
    """Tensors in a key become device arrays; bool masks and integer arrays are checked against a's shape."""
    keys = key if isinstance(key, tuple) else (key,)
    out, dim = [], 0
    for k in keys:
        if isinstance(k, Tensor):
            if k._backend is not a._backend and not (k._backend.host and a._backend.host):
                raise ValueError(f"index on device '{k.device}' for a tensor on '{a.device}'")
            k = k._data
        elif isinstance(k, list):
            k = np.asarray(k)
        if isinstance(k, (np.ndarray,)) or hasattr(k, "__cuda_array_interface__"):
            if k.dtype.kind == "b":
                if k.shape != a.shape[dim:dim + k.ndim]:
                    raise IndexError(f"boolean index of shape {k.shape} does not match the indexed shape "
                                     f"{a.shape[dim:dim + k.ndim]} of tensor {a.shape}")
                dim += k.ndim
            elif k.dtype.kind in "iu":
                if dim >= a.ndim:
                    raise IndexError(f"too many indices for a tensor of shape {a.shape}")
                n = a.shape[dim]
                if k.size and (int(k.max()) >= n or int(k.min()) < -n):
                    raise IndexError(f"index {int(k.max()) if int(k.max()) >= n else int(k.min())} is out of "
                                     f"bounds for dimension {dim} with size {n}")
                dim += 1
            else:
                raise IndexError(f"tensors used as indices must be integer or bool, got {k.dtype}")
            k = k if a._backend.host else a._backend.xp.asarray(k)
        elif k is not None and k is not Ellipsis:
            dim += 1
        out.append(k)
    return tuple(out) if isinstance(key, tuple) else out[0]


def getitem(a, key):
    key = _index_key(a, key)
    try:
        return IndexBackward.apply(a, key=key)
    except IndexError as e:
        raise IndexError(f"{e} (tensor of shape {a.shape})") from None


def setitem(a, key, value):
    a._check_inplace()
    value = as_tensor(value, a)
    a._data[_index_key(a, key)] = a._backend.move(value._data, value._backend)
    a._bump()


def _same_device(tensors, op):
    if not tensors:
        raise ValueError(f"[{op}] expected a non-empty sequence of tensors")
    be = tensors[0]._backend
    for t in tensors:
        if t._backend is not be:
            raise ValueError(f"[{op}] tensors are on different devices: '{tensors[0].device}' and '{t.device}'")


def cat(tensors, dim=0, axis=None):
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    _same_device(tensors, "cat")
    ax = axes_arg(tensors[0].ndim, dim if axis is None else None, axis)[0]
    ref = tensors[0].shape
    for t in tensors:
        if t.ndim != len(ref) or any(t.shape[i] != ref[i] for i in range(len(ref)) if i != ax):
            raise ValueError(f"[cat] shapes {[tuple(x.shape) for x in tensors]} differ outside axis {ax}")
    return CatBackward.apply(*tensors, axis=ax)


def stack(tensors, dim=0, axis=None):
    """Join same-shaped tensors along a new axis."""
    tensors = list(tensors)
    _same_device(tensors, "stack")
    d = dim if axis is None else axis
    if not -tensors[0].ndim - 1 <= d <= tensors[0].ndim:
        raise IndexError(f"[stack] axis {d} is out of range for tensors of {tensors[0].ndim} dimensions")
    if any(t.shape != tensors[0].shape for t in tensors):
        raise ValueError(f"[stack] all tensors must have the same shape, got {[tuple(t.shape) for t in tensors]}")
    return StackBackward.apply(*tensors, axis=d % (tensors[0].ndim + 1))
