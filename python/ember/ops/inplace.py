"""PyTorch's in-place methods: add_, sub_, mul_, div_, clamp_, copy_ (from a tensor in a graph),
normal_, uniform_.

Each writes into the tensor's own memory and bumps its version counter, so a node that saved the
old value raises in backward. On a leaf that requires grad they raise outside no_grad (as PyTorch);
on a tensor inside a graph the arithmetic ones rebase its node (Tensor._inplace)."""
from ..autograd import Function
from ..random import generator
from .arith import add, clip, div, mul, sub, unbroadcast


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
    if src._backend is not t._backend:
        src = src.to(t._backend)
    return t._inplace(CopyBackward.apply, src)


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
