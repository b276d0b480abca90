"""scaled_dot_product_attention with PyTorch's semantics, on one fused kernel per device.

q, k, v (..., T, D) are made contiguous (BH, T, D) with the leading dims folded into
BH = B*H (H the last leading dim); a bool mask (True = take part) becomes an additive one
(0 / -inf); the mask is broadcast to (..., Tq, Tk) as a strided view, addressed by the kernel
through element strides (sb, sh, sq) over (b, h, query row), so a key-padding or (Tq, Tk) mask
is never expanded to B*H copies. Dropout draws one uint64 seed from ember's generator per call;
the kernels hash it into the same keep mask on every device (csrc/attention_hash.h)."""
import math

import numpy as np

from ..autograd import Function
from ..random import generator
from ..tensor import Tensor
from ._checks import check_like, float_tensor

OP = "scaled_dot_product_attention"


class AttentionBackward(Function):
    saved_inputs = (0, 1, 2)
    saved_output = True

    def forward(self, q, k, v, *, mask, H, scale, causal, mask_strides, dropout_p, seed):
        xp = self.backend.xp
        self.shapes = q.shape, k.shape, v.shape
        bh = math.prod(q.shape[:-2])
        self.q, self.k, self.v = (xp.ascontiguousarray(a).reshape((bh,) + a.shape[-2:]) for a in (q, k, v))
        self.args = H, scale, causal, mask_strides, dropout_p, seed
        self.mask = mask
        self.out, self.lse = self.backend.ops.attention_forward(self.q, self.k, self.v, mask, *self.args)
        return self.out.reshape(q.shape[:-1] + v.shape[-1:])

    def backward(self, g):
        g3 = self.backend.xp.ascontiguousarray(g).reshape(self.out.shape)
        grads = self.backend.ops.attention_backward(self.q, self.k, self.v, self.mask, self.out, self.lse, g3,
                                                    *self.args)
        return tuple(gr.reshape(shape) for gr, shape in zip(grads, self.shapes))


def _merged_stride(dims, strides):
    """The one element stride that walks the folded axes `dims` in order, or None if there is none."""
    kept = [(d, s) for d, s in zip(dims, strides) if d != 1]
    if not kept:
        return 0
    for (_, s_outer), (d_inner, s_inner) in zip(kept, kept[1:]):
        if s_outer != s_inner * d_inner:
            return None
    return kept[-1][1]


def _additive_mask(mask, q, lead, tq, tk):
    """(array, (sb, sh, sq)): the additive mask as a view whose key axis is contiguous."""
    xp = q._backend.xp
    if not isinstance(mask, Tensor):
        raise TypeError(f"[{OP}] attn_mask must be a Tensor, got {type(mask).__name__}")
    if mask._backend is not q._backend:
        raise ValueError(f"[{OP}] attn_mask is on '{mask.device}' but query is on '{q.device}'")
    m = xp.ascontiguousarray(mask._data)
    if m.dtype == np.bool_:
        m = xp.where(m, q.dtype.type(0), q.dtype.type(-np.inf))
    elif m.dtype != q.dtype:
        raise TypeError(f"[{OP}] attn_mask must be bool or of query's dtype {q.dtype}, got {m.dtype}")
    full = lead + (tq, tk)
    try:
        np.broadcast_shapes(m.shape, full)
    except ValueError:
        raise ValueError(f"[{OP}] attn_mask of shape {tuple(mask.shape)} does not broadcast to {full}") from None
    if m.ndim > len(full):
        raise ValueError(f"[{OP}] attn_mask of shape {tuple(mask.shape)} does not broadcast to {full}")
    m = m.reshape((1,) * (len(full) - m.ndim) + m.shape)
    if m.shape[-1] != tk:  # the kernel walks keys contiguously
        m = xp.ascontiguousarray(xp.broadcast_to(m, m.shape[:-1] + (tk,)))
    view = xp.broadcast_to(m, full)
    el = [s // view.itemsize for s in view.strides]
    sb = _merged_stride(full[:-3], el[:-3]) if len(full) > 3 else 0
    if sb is None:  # leading dims that no one stride walks: expand them, keep the rest broadcast
        m = xp.ascontiguousarray(xp.broadcast_to(m, full[:-3] + m.shape[-3:]))
        view = xp.broadcast_to(m, full)
        el = [s // view.itemsize for s in view.strides]
        sb = _merged_stride(full[:-3], el[:-3])
    sh = el[-3] if len(full) > 2 else 0
    return m, (sb, sh, el[-2])


def _check_qkv(query, key, value):
    float_tensor(query, "query", OP)
    check_like(key, "key", query, OP)
    check_like(value, "value", query, OP)
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ValueError(f"[{OP}] {name} must be (..., T, D), got shape {tuple(t.shape)}")
    qs, ks, vs = tuple(query.shape), tuple(key.shape), tuple(value.shape)
    if not (qs[:-2] == ks[:-2] == vs[:-2]):
        raise ValueError(f"[{OP}] query {qs}, key {ks} and value {vs} must share their leading dims")
    if ks[-1] != qs[-1]:
        raise ValueError(f"[{OP}] key {ks} must have query's head dim {qs[-1]} (query {qs})")
    if vs[-2] != ks[-2]:
        raise ValueError(f"[{OP}] value {vs} must have key's length {ks[-2]} (key {ks})")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """softmax(query key^T * scale + attn_mask) value, fused (PyTorch's F.scaled_dot_product_attention).

    Args:
        query (..., Tq, D), key (..., Tk, D), value (..., Tk, Dv): float tensors, the same leading dims.
        attn_mask: None, a bool tensor (True = take part) or a float additive one, broadcastable to
            (..., Tq, Tk). dropout_p: probability of zeroing an attention weight (applied whenever > 0).
        is_causal: query i sees keys j <= i (not with attn_mask). scale: default 1 / sqrt(D).
    Returns:
        (..., Tq, Dv).
    Example:
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    """
    _check_qkv(query, key, value)
    if is_causal and attn_mask is not None:
        raise ValueError(f"[{OP}] give attn_mask or is_causal=True, not both")
    if not isinstance(dropout_p, (int, float)) or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"[{OP}] dropout_p must be in [0, 1), got {dropout_p!r}")
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    elif not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise ValueError(f"[{OP}] scale must be a finite number, got {scale!r}")
    lead, tq, tk = tuple(query.shape[:-2]), query.shape[-2], key.shape[-2]
    H = lead[-1] if lead else 1
    mask, strides = None, (0, 0, 0)
    if attn_mask is not None:
        mask, strides = _additive_mask(attn_mask, query, lead, tq, tk)
    seed = int(generator().integers(0, 2**64, dtype=np.uint64)) if dropout_p > 0 else 0
    return AttentionBackward.apply(query, key, value, mask=mask, H=max(H, 1), scale=float(scale),
                                   causal=bool(is_causal), mask_strides=strides, dropout_p=float(dropout_p),
                                   seed=seed)
