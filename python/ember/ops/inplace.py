"""PyTorch's in-place methods: add_, sub_, mul_, div_, clamp_, normal_, uniform_, and the graph-recorded
forms of copy_, fill_/zero_ and item assignment (t[key] = value).

Each writes into the tensor's own memory and bumps its version counter, so a node that saved the
old value raises in backward. On a leaf that requires grad they raise outside no_grad (as PyTorch);
on a tensor inside a graph the arithmetic ones rebase its node (Tensor._inplace)."""
import numpy as np

from ..autograd import Function
from ..random import generator
from ..tensor import Tensor, as_tensor
from .arith import add, clip, div, mul, sub, unbroadcast
from .shape import _index_key


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


def add_(t, other, alpha=1):
    """t += alpha * other."""
    return t._inplace(add, _scaled(other, alpha))


def sub_(t, other, alpha=1):
    """t -= alpha * other."""
    return t._inplace(sub, _scaled(other, alpha))


def mul_(t, other):
    return t._inplace(mul, other)


def div_(t, other):
    return t._inplace(div, other)


def clamp_(t, min=None, max=None):
    return t._inplace(lambda a, _: clip(a, min, max), None)


class CopyBackward(Function):
    """The value of src broadcast to a's shape and dtype; a's old value gets no gradient."""

    def forward(self, a, src):
        self.src_shape, self.src_dtype = src.shape, src.dtype
        return self.backend.xp.broadcast_to(src, a.shape).astype(a.dtype)

    def backward(self, g):
        return None, unbroadcast(g, self.src_shape).astype(self.src_dtype, copy=False)


def copy_(t, src):
    """t <- src, recorded in the graph so src's gradient flows through t."""
    try:
        ok = np.broadcast_shapes(src.shape, t.shape) == t.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"[copy_] src of shape {src.shape} does not broadcast to the tensor's shape {t.shape}")
    if src._backend is not t._backend:
        src = src.to(t._backend)
    return t._inplace(CopyBackward.apply, src)


class FillBackward(Function):
    """A constant: nothing flows back to the overwritten value."""

    def forward(self, a, value):
        return self.backend.xp.full_like(a, value)

    def backward(self, g):
        return (None,)


def fill_(t, value):
    """t <- value everywhere, recorded in the graph t belongs to."""
    return t._inplace(lambda a, v: FillBackward.apply(a, value=v), value)


class IndexPutBackward(Function):
    """a[key] = v, written into a's own array (only the slice is touched); a's gradient is zero at key,
    v's is the gradient there (summed where v was broadcast)."""

    def forward(self, a, v, key):
        self.key, self.v_shape = key, v.shape
        a[key] = v
        return a

    def backward(self, g):
        ga = gv = None
        if self.needs[0]:
            ga = g.copy()
            ga[self.key] = 0
        if self.needs[1]:
            gv = unbroadcast(g[self.key], self.v_shape)
        return ga, gv


def setitem(t, key, value):
    """t[key] = value, recorded: value's gradient flows through t."""
    t._check_inplace(leaf_only=True)
    value = as_tensor(value, t)
    if value._backend is not t._backend:
        value = value.to(t._backend)
    if value.dtype != t.dtype:
        value = value.to(dtype=t.dtype)
    key = _index_key(t, key)
    # the old value's node stays on an alias: the new node saves nothing of it, so no copy is needed
    old = Tensor._wrap(t._data, t._backend, t.requires_grad)
    old._ctx, old._version = t._ctx, t._version
    r = IndexPutBackward.apply(old, value, key=key)
    t._bump()
    if r._ctx is not None:
        t._ctx, t.requires_grad = r._ctx, True
    return t


def _random_(t, draw, op):
    if t.dtype.kind != "f":
        raise TypeError(f"[{op}] needs a floating-point tensor, got {t.dtype}")
    t._check_inplace()
    t._data[...] = t._backend.from_host(draw(generator(), t.shape).astype(t.dtype))
    t._bump()
    return t


def normal_(t, mean=0.0, std=1.0):
    """Fill t with samples of N(mean, std^2) from ember's seeded generator."""
    if std < 0:
        raise ValueError(f"[normal_] std must be non-negative, got {std}")
    return _random_(t, lambda g, s: g.normal(mean, std, s), "normal_")


def uniform_(t, a=0.0, b=1.0):
    """Fill t with samples of U[a, b) from ember's seeded generator."""
    if a > b:
        raise ValueError(f"[uniform_] expects a <= b, got a={a} and b={b}")
    return _random_(t, lambda g, s: g.uniform(a, b, s), "uniform_")
