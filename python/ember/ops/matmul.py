"""matmul (@): NumPy semantics (1-D operands, broadcast batch dimensions) on the
batched 3-D kernel. A transposed view is passed as a transpose flag rather
than copied, so x @ W.T reads W in place."""
import math

import numpy as np

from .. import autograd
from ..autograd import Function
from ..tensor import Tensor, is_floating
from .arith import _operands, unbroadcast


def _as3d(x, batch, xp):
    """x (..., r, c) as a C-contiguous (B or 1, r, c) array and a transpose flag.

    A batch that broadcasts only partially against `batch` is materialised."""
    r, c = x.shape[-2:]
    nb = 1 if math.prod(x.shape[:-2]) == 1 else math.prod(batch)
    if nb != 1 and x.shape[:-2] != batch:
        x = xp.broadcast_to(x, batch + (r, c))
    if x.flags.c_contiguous:
        return x.reshape((nb, r, c)), False
    xt = x.swapaxes(-1, -2)
    if xt.flags.c_contiguous:
        return xt.reshape((nb, c, r)), True
    return xp.ascontiguousarray(x).reshape((nb, r, c)), False


def _matrix(x, xp):
    """A 2-D x as a C-contiguous matrix and a transpose flag (x.T of a contiguous array is read in place)."""
    if x.flags.c_contiguous:
        return x, False
    if x.T.flags.c_contiguous:
        return x.T, True
    return xp.ascontiguousarray(x), False


class MatMulBackward(Function):
    saved_inputs = (0, 1)

    def forward(self, a, b):
        if a.ndim == 2 and b.ndim == 2:  # the common case: no batch, no reshapes
            if a.flags.c_contiguous and b.flags.c_contiguous:
                self.saved, self.batch = (a, False, b, False), None
                return self.backend.ops.matmul_forward(a, b, False, False)
            xp = self.backend.xp
            (a2, ta), (b2, tb) = _matrix(a, xp), _matrix(b, xp)
            self.saved, self.batch = (a2, ta, b2, tb), None
            return self.backend.ops.matmul_forward(a2, b2, ta, tb)
        self.a_shape, self.b_shape = a.shape, b.shape
        a1 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
        b1 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
        batch = a1.shape[:-2] if a1.shape[:-2] == b1.shape[:-2] else np.broadcast_shapes(a1.shape[:-2], b1.shape[:-2])
        self.batch, self.a1, self.b1 = batch, a1.shape, b1.shape
        xp = self.backend.xp
        (a3, ta), (b3, tb) = _as3d(a1, batch, xp), _as3d(b1, batch, xp)
        self.saved = a3, ta, b3, tb
        out = self.backend.ops.matmul_forward(a3, b3, ta, tb)
        out = out.reshape(batch + out.shape[1:])
        if a.ndim == 1:
            out = out.reshape(out.shape[:-2] + out.shape[-1:])
        if b.ndim == 1:
            out = out.reshape(out.shape[:-1])
        return out

    def backward(self, g):
        a3, ta, b3, tb = self.saved
        xp = self.backend.xp
        if self.batch is None:
            ga, gb = self.backend.ops.matmul_backward(a3, b3, xp.ascontiguousarray(g), self.needs[0], self.needs[1],
                                                      ta, tb)
            return (ga.T if ta else ga) if ga is not None else None, (gb.T if tb else gb) if gb is not None else None
        m, n = self.a1[-2], self.b1[-1]
        g3 = self.backend.xp.ascontiguousarray(g).reshape((math.prod(self.batch), m, n))
        ga, gb = self.backend.ops.matmul_backward(a3, b3, g3, self.needs[0], self.needs[1], ta, tb)
        return (self._restore(ga, ta, self.a1, self.a_shape), self._restore(gb, tb, self.b1, self.b_shape))

    def _restore(self, g3, trans, shape1, shape):
        """A gradient in the kernel's storage layout back to the operand's shape."""
        if g3 is None:
            return None
        g = g3.swapaxes(-1, -2) if trans else g3
        if g.shape[0] == 1:
            return g.reshape(shape)
        return unbroadcast(g.reshape(self.batch + g.shape[-2:]), shape1).reshape(shape)


def matmul(a, b):
    """Matrix product with NumPy's rules for 1-D operands and broadcast batch dimensions.

    Example:
        y = ember.matmul(x, w)   # (B, M, K) @ (K, N) -> (B, M, N)
    """
    if type(a) is Tensor and type(b) is Tensor and a._backend is b._backend:
        # the common case, checked on the arrays: tiny products are overhead-bound
        ad, bd = a._data, b._data
        if ad.ndim == 2 and bd.ndim == 2 and ad.shape[1] == bd.shape[0] and ad.dtype == bd.dtype \
                and ad.dtype.kind == "f":
            if not (a.requires_grad or b.requires_grad or autograd._trace or autograd._autocast) \
                    and ad.flags.c_contiguous and bd.flags.c_contiguous:  # no node to record: the kernel straight away
                return Tensor._wrap(a._backend.ops.matmul_forward(ad, bd, False, False), a._backend)
            return MatMulBackward.apply(a, b)
    a, b = _operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"[matmul] both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    k1 = a.shape[-1]
    k2 = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k1 != k2:
        raise ValueError(f"[matmul] shapes {a.shape} and {b.shape} are not aligned ({k1} != {k2})")
    if a.ndim > 2 or b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"[matmul] batch dimensions of {a.shape} and {b.shape} do not broadcast") from None
    if not is_floating(a.dtype):
        return Tensor._wrap(a._backend.xp.matmul(a._data, b._data), a._backend)
    return MatMulBackward.apply(a, b)


class LinearBackward(Function):
    """y = x @ W.T (+ b) as one node: the kernel reads W (out, in) transposed in place."""
    saved_inputs = (0, 1)

    def forward(self, x, w, b=None):
        xp = self.backend.xp
        w = w if w.flags.c_contiguous else xp.ascontiguousarray(w)
        x2 = x if x.ndim == 2 else x.reshape((math.prod(x.shape[:-1]), x.shape[-1]))
        if not x2.flags.c_contiguous:
            x2 = xp.ascontiguousarray(x2)
        self.x2, self.w, self.x_shape = x2, w, x.shape
        y = self.backend.ops.matmul_forward(x2, w, False, True)
        if b is not None:
            y += b
        return y if x.ndim == 2 else y.reshape(x.shape[:-1] + w.shape[:1])

    def backward(self, g):
        g2 = g if g.ndim == 2 else g.reshape((self.x2.shape[0], self.w.shape[0]))
        if not g2.flags.c_contiguous:
            g2 = self.backend.xp.ascontiguousarray(g2)
        gx, gw = self.backend.ops.matmul_backward(self.x2, self.w, g2, self.needs[0], self.needs[1], False, True)
        gb = g2.sum(axis=0) if len(self.needs) > 2 and self.needs[2] else None
        return (None if gx is None else gx.reshape(self.x_shape), gw, gb)


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight (out_features, in_features) as PyTorch."""
    if x.shape[-1:] != weight.shape[1:] or weight.ndim != 2:
        raise ValueError(f"[linear] input of shape {x.shape} does not match weight of shape {weight.shape} "
                         f"(in_features {weight.shape[1] if weight.ndim == 2 else '?'})")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"[linear] bias of shape {bias.shape} does not match weight of shape {weight.shape}")
    mixed = x.dtype != weight.dtype and autograd._autocast is None  # autocast casts both (amp/autocast.py)
    if mixed or x._backend is not weight._backend or x.ndim == 0:
        y = matmul(x, weight.T)
        return y + bias if bias is not None else y
    return LinearBackward.apply(x, weight) if bias is None else LinearBackward.apply(x, weight, bias)
