"""Elementwise glue ops with NumPy broadcasting: + - * / ** neg abs exp log sqrt, where, clip.

These run on the device's array module (numpy or cupy); backward undoes
broadcasting by summing over the broadcast axes.
"""
import operator

from .. import autograd
from ..autograd import Function
from ..tensor import Tensor, as_tensor, float32, is_floating, promote_types
from .cast import cast_array


def unbroadcast(g, shape):
    """Sum g down to `shape`, undoing NumPy broadcasting."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _promote(a, b):
    """PyTorch's rule for mixed dtypes: float64 > float32 > bfloat16, float16 > int64 > bool."""
    da, db = a._data.dtype, b._data.dtype  # the arrays' own (a Tensor property costs a call per op)
    if da == db:
        return a, b
    dt = promote_types(da, db)
    return (a if da == dt else a.to(dtype=dt)), (b if db == dt else b.to(dtype=dt))


def _operands(a, b):
    if not isinstance(a, Tensor):
        a = as_tensor(a, b)
    elif not isinstance(b, Tensor):
        b = as_tensor(b, a)
    if a._backend is not b._backend:
        raise ValueError(f"operands are on different devices: '{a.device}' and '{b.device}'; move one with .to()")
    return _promote(a, b)


def _binary(cls, a, b):
    """a (op) b for the elementwise classes with a `direct` forward: the operands checked and
    promoted, and a node only when one is recorded. Tiny tensors are overhead-bound, so the common
    case (two tensors of one device and dtype, no grad) takes one test and no node (unless ember.onnx
    is tracing: it records ops through apply)."""
    if type(a) is Tensor and type(b) is Tensor and a._backend is b._backend and a._data.dtype == b._data.dtype:
        if not (a.requires_grad or b.requires_grad or autograd._trace):
            data, be = cls.direct(a._data, b._data), a._backend
            return Tensor._wrap(data if type(data) is be.array_type else be.xp.asarray(data), be)
        return cls.apply(a, b)
    a, b = _operands(a, b)
    return cls.apply(a, b)


class AddBackward(Function):
    direct = staticmethod(operator.add)  # the forward when no node is recorded (see _binary)

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class SubBackward(Function):
    direct = staticmethod(operator.sub)  # the forward when no node is recorded (see _binary)

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class MulBackward(Function):
    direct = staticmethod(operator.mul)  # the forward when no node is recorded (see _binary)
    saved_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        return (unbroadcast(g * b, a.shape) if self.needs[0] else None,
                unbroadcast(g * a, b.shape) if self.needs[1] else None)


class DivBackward(Function):
    saved_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        return (unbroadcast(g / b, a.shape) if self.needs[0] else None,
                unbroadcast(-g * a / (b * b), b.shape) if self.needs[1] else None)


class PowBackward(Function):
    saved_inputs = (0, 1)
    saved_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b, xp = self.a, self.b, self.backend.xp
        ga = gb = None
        if self.needs[0]:
            ga = unbroadcast(g * b * a ** (b - 1), a.shape)
        if self.needs[1]:
            # d(a^b)/db = a^b log a, taken as 0 where a == 0 (as PyTorch does)
            loga = xp.log(xp.where(a > 0, a, 1))
            gb = unbroadcast(g * self.out * loga, b.shape)
        return ga, gb


class PowScalarBackward(Function):
    saved_inputs = (0,)

    def forward(self, a, p):
        self.a, self.p = a, p
        return a ** a.dtype.type(p)

    def backward(self, g):
        a, p = self.a, self.p
        return (g * p * a ** a.dtype.type(p - 1),)


class NegBackward(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class AbsBackward(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return abs(a)

    def backward(self, g):
        return (g * self.backend.xp.sign(self.a),)


class ExpBackward(Function):
    saved_output = True

    def forward(self, a):
        self.out = self.backend.xp.exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class LogBackward(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return self.backend.xp.log(a)

    def backward(self, g):
        return (g / self.a,)


class SqrtBackward(Function):
    saved_output = True

    def forward(self, a):
        self.out = self.backend.xp.sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class CastBackward(Function):
    def forward(self, a, dtype):
        self.dtype = a.dtype
        return cast_array(self.backend, a, dtype)

    def backward(self, g):
        return (cast_array(self.backend, g, self.dtype, backward=True),)


class WhereBackward(Function):
    """where(cond, a, b); cond is a bool tensor without gradient."""
    saved_inputs = (0,)

    def forward(self, cond, a, b):
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return self.backend.xp.where(cond, a, b)

    def backward(self, g):
        xp, zero = self.backend.xp, g.dtype.type(0)
        return (None,
                unbroadcast(xp.where(self.cond, g, zero), self.shapes[0]) if self.needs[1] else None,
                unbroadcast(xp.where(self.cond, zero, g), self.shapes[1]) if self.needs[2] else None)


class ClipBackward(Function):
    saved_inputs = (0,)

    def forward(self, a, lo, hi):
        self.a, self.lo, self.hi = a, lo, hi
        return self.backend.xp.clip(a, lo, hi)

    def backward(self, g):
        a, lo, hi = self.a, self.lo, self.hi
        inside = (a >= lo if lo is not None else True) & (a <= hi if hi is not None else True)
        return (g * inside,)


def add(a, b):
    return _binary(AddBackward, a, b)


def sub(a, b):
    return _binary(SubBackward, a, b)


def mul(a, b):
    return _binary(MulBackward, a, b)


def div(a, b):
    a, b = _operands(a, b)
    if not is_floating(a.dtype):
        a, b = a.to(dtype=float32), b.to(dtype=float32)
    return DivBackward.apply(a, b)


def pow(a, b):
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if not is_floating(a.dtype) and (isinstance(b, float) or b < 0):
            a = a.to(dtype=float32)
        return PowScalarBackward.apply(a, p=b)
    a, b = _operands(a, b)
    return PowBackward.apply(a, b)


def neg(a):
    return NegBackward.apply(a)


def abs_(a):
    return AbsBackward.apply(a)


def _float(a):
    return a if is_floating(a.dtype) else a.to(dtype=float32)


def exp(a):
    return ExpBackward.apply(_float(a))


def log(a):
    return LogBackward.apply(_float(a))


def sqrt(a):
    return SqrtBackward.apply(_float(a))


def where(cond, a, b):
    """Elementwise cond ? a : b, broadcasting all three."""
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if ref is None:
        raise TypeError("[where] a or b must be a Tensor")
    cond = cond if isinstance(cond, Tensor) else as_tensor(cond, ref)
    a, b = _operands(a, b)
    if cond._backend is not a._backend:
        raise ValueError(f"[where] condition is on '{cond.device}' but values are on '{a.device}'")
    c = cond._data if cond.dtype.kind == "b" else cond._data != 0
    mask = Tensor._wrap(c, cond._backend)
    if c is cond._data:
        mask._version = cond._version
    return WhereBackward.apply(mask, a, b)


def clip(a, min=None, max=None):
    """Clamp a into [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("[clip] at least one of min and max must be given")
    if min is not None and max is not None and min > max:
        raise ValueError(f"[clip] min ({min}) is greater than max ({max})")
    return ClipBackward.apply(a, lo=min, hi=max)


def _compare(name):
    def op(a, b):
        a, b = _operands(a, b)
        return Tensor._wrap(getattr(a._data, name)(b._data), a._backend)
    op.__name__ = name
    return op


eq, ne, lt, le, gt, ge = (_compare(n) for n in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"))
