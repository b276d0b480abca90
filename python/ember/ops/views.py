"""PyTorch's view and copy spellings on top of ops/shape.py: view (which, unlike reshape, refuses
to copy), split, chunk, narrow (views through slicing), repeat, clone and contiguous."""
import math

from ..autograd import Function
from ..tensor import Tensor
from .reduce import axes_arg
from .shape import _shape_arg, getitem, reshape


def _view_strides(shape, strides, new_shape):
    """The strides (in elements) that view `shape`/`strides` as `new_shape` without a copy, or None
    when none exist (PyTorch's computeStride: each run of dims that is contiguous in memory must
    map onto whole dims of the new shape)."""
    if not shape or 0 in shape:
        return [1] * len(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    base = strides[-1]  # the stride of the innermost element of the current contiguous run
    run = view_run = 1
    for d in range(len(shape) - 1, -1, -1):
        run *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != run * base):
            while view_d >= 0 and (view_run < run or new_shape[view_d] == 1):
                new_strides[view_d] = view_run * base
                view_run *= new_shape[view_d]
                view_d -= 1
            if view_run != run:
                return None
            if d > 0:
                base, run, view_run = strides[d - 1], 1, 1
    return new_strides if view_d == -1 else None


def view(a, *shape):
    """a with a new shape, sharing its memory; RuntimeError (as PyTorch) where the strides do not allow it."""
    shape = _shape_arg(shape)
    n = a.numel()
    if shape.count(-1) == 1:
        known = math.prod(s for s in shape if s != -1)
        if known and n % known == 0:
            shape = tuple(n // known if s == -1 else s for s in shape)
    if -1 not in shape and math.prod(shape) == n:
        item = a._data.itemsize
        if _view_strides(a.shape, [s // item for s in a._data.strides], shape) is None:
            raise RuntimeError(f"view size is not compatible with input tensor's size and stride (at least one "
                               f"dimension spans across two contiguous subspaces): shape {a.shape} as {shape}. "
                               f"Use .reshape(...) instead.")
    return reshape(a, shape)  # checks the sizes; a viewable shape reshapes without a copy


def _dim(a, dim, op):
    try:
        return axes_arg(a.ndim, dim)[0]
    except (IndexError, TypeError) as e:
        raise type(e)(f"[{op}] {e} (shape {a.shape})") from None


def _slice(a, dim, start, stop):
    return getitem(a, (slice(None),) * dim + (slice(start, stop),))


def split(tensor, split_size_or_sections, dim=0):
    """Views of consecutive pieces along dim: each of split_size (the last may be smaller), or of the
    listed sizes (which must add up to the size of dim)."""
    if tensor.ndim == 0:
        raise ValueError("[split] needs a tensor with at least one dimension, got a 0-d tensor")
    d = _dim(tensor, dim, "split")
    n = tensor.shape[d]
    s = split_size_or_sections
    if isinstance(s, int) and not isinstance(s, bool):
        if s < 0 or (s == 0 and n):
            raise ValueError(f"[split] split_size must be positive, got {s} for size {n} (shape {tensor.shape})")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
    else:
        sizes = list(s)
        if any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in sizes) or sum(sizes) != n:
            raise ValueError(f"[split] split sizes {sizes} must be non-negative ints adding up to {n}, the size "
                             f"of dim {dim} of shape {tensor.shape}")
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return tuple(_slice(tensor, d, b, b + k) for b, k in zip(starts, sizes))


def chunk(input, chunks, dim=0):
    """split into pieces of ceil(size / chunks) along dim (so there may be fewer than chunks)."""
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"[chunk] chunks must be a positive int, got {chunks!r}")
    if input.ndim == 0:
        raise ValueError("[chunk] needs a tensor with at least one dimension, got a 0-d tensor")
    n = input.shape[_dim(input, dim, "chunk")]
    if n == 0:
        return split(input, [0] * chunks, dim)
    return split(input, -(-n // chunks), dim)


def narrow(input, dim, start, length):
    """The view input[..., start:start + length, ...] along dim; start may count from the end."""
    if input.ndim == 0:
        raise ValueError("[narrow] needs a tensor with at least one dimension, got a 0-d tensor")
    d = _dim(input, dim, "narrow")
    n = input.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"[narrow] start {start} is out of range for dim {dim} of size {n}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise ValueError(f"[narrow] start ({start}) + length ({length}) exceeds the size {n} of dim {dim}")
    return _slice(input, d, start, start + length)


class RepeatBackward(Function):
    def forward(self, a, reps):
        self.shape, self.reps = a.shape, reps
        lead = (1,) * (len(reps) - a.ndim)
        self.padded = lead + a.shape
        return self.backend.xp.tile(a.reshape(self.padded), reps)

    def backward(self, g):
        # each output axis of size r * s is (r copies, s elements): sum over the copies
        split = [n for r, s in zip(self.reps, self.padded) for n in (r, s)]
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (g.reshape(self.shape),)


def repeat(a, *sizes):
    """a tiled sizes[i] times along each dim (sizes may add leading dims), as torch.Tensor.repeat."""
    reps = _shape_arg(sizes)
    if len(reps) < a.ndim:
        raise ValueError(f"[repeat] got {len(reps)} repeat counts {reps} for a tensor of {a.ndim} dimensions "
                         f"(shape {a.shape}); give at least one per dimension")
    if any(r < 0 for r in reps):
        raise ValueError(f"[repeat] repeat counts must be non-negative, got {reps}")
    return RepeatBackward.apply(a, reps=reps)


class CloneBackward(Function):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


def clone(input):
    """A copy with its own memory (and version counter), differentiable."""
    if not isinstance(input, Tensor):
        raise TypeError(f"[clone] input must be a Tensor, got {type(input).__name__}")
    return CloneBackward.apply(input)


def contiguous(input):
    """input itself when its memory is row-major contiguous, else a contiguous copy."""
    return input if input._data.flags.c_contiguous else CloneBackward.apply(input)
