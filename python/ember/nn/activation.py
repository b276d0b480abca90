"""MultiheadAttention, as PyTorch's: the same arguments, masks, shapes and state_dict names
(in_proj_weight / in_proj_bias, or q_proj_weight / k_proj_weight / v_proj_weight when kdim or vdim
differ from embed_dim; out_proj.weight / out_proj.bias), so weights copy from a torch model by name.

Layout inside: (L, B, E) sequences, heads split as (B, H, L, E / H). With need_weights the
attention matrix is formed (softmax(Q K^T / sqrt(d) + mask)) because it is returned; without it,
the fused F.scaled_dot_product_attention runs and the L x S matrix is never stored.
"""
import math

import numpy as np

from .. import ops
from ..creation import empty
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import Linear
from .module import Module
from .parameter import Parameter


def additive_mask(mask, like, name):
    """mask (bool: True = masked out, or float: added to the scores) as a constant float tensor of
    like's dtype on like's device: -inf where a bool mask is True, 0 elsewhere."""
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        if mask._backend is not like._backend:
            raise ValueError(f"[MultiheadAttention] {name} is on '{mask.device}' but the inputs are on "
                             f"'{like.device}'")
        a = mask._data
    else:
        a = like._backend.from_host(np.asarray(mask))
    xp = like._backend.xp
    if a.dtype.kind == "b":
        a = xp.where(a, xp.asarray(-np.inf, like.dtype), xp.asarray(0, like.dtype))
    elif a.dtype.kind == "f":
        a = a.astype(like.dtype, copy=False)
    else:
        raise TypeError(f"[MultiheadAttention] only bool and floating {name} are supported, got {a.dtype}")
    return Tensor._wrap(a, like._backend)


def _heads(x, length, batch, heads):
    """(length, batch, heads * d) -> (batch, heads, length, d)."""
    return x.reshape(length, batch, heads, -1).permute(1, 2, 0, 3)


def _each_once(fn, *tensors):
    """fn of each tensor, computed once per distinct object, so that self-attention's query, key
    and value stay one object (and share one projection)."""
    done = {}
    for t in tensors:
        if id(t) not in done:
            done[id(t)] = fn(t)
    return [done[id(t)] for t in tensors]


class MultiheadAttention(Module):
    """Attention over H heads: softmax(Q K^T / sqrt(d) + mask) V with Q, K, V projections of
    query, key and value, concatenated heads projected by out_proj.

    Args:
        embed_dim: E (divisible by num_heads). num_heads: H. dropout: on the attention weights.
        bias: in_proj_bias and out_proj.bias. kdim, vdim: key/value feature sizes (default E).
        batch_first: inputs (B, L, E) rather than (L, B, E).
    Example:
        mha = nn.MultiheadAttention(64, 8, batch_first=True)
        out, weights = mha(x, x, x)        # x (B, L, 64): out (B, L, 64), weights (B, L, L)
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(f"[MultiheadAttention] embed_dim ({embed_dim}) must be a positive multiple of "
                             f"num_heads ({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise ValueError("[MultiheadAttention] add_bias_kv=True and add_zero_attn=True are not supported")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"[MultiheadAttention] dropout must be in [0, 1), got {dropout!r}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        kw = {"device": device, "dtype": dtype}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
        self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **kw)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """Returns (output, weights): output like query; weights (B, L, S) averaged over heads,
        (B, H, L, S) with average_attn_weights=False, None with need_weights=False.

        key_padding_mask (B, S) and attn_mask (L, S) or (B * H, L, S): bool (True = ignore that key)
        or float (added to the scores). is_causal is a hint that attn_mask is the causal mask."""
        batched = self._check_inputs(query, key, value)
        if not batched:
            query, key, value = _each_once(lambda t: ops.unsqueeze(t, 1), query, key, value)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.reshape(1, -1)
        elif self.batch_first:
            query, key, value = _each_once(lambda t: ops.transpose(t, 0, 1), query, key, value)
        out, weights = self._attend(query, key, value, key_padding_mask, need_weights, attn_mask,
                                    average_attn_weights, is_causal)
        if not batched:
            return ops.squeeze(out, 1), None if weights is None else ops.squeeze(weights, 0)
        return (ops.transpose(out, 0, 1) if self.batch_first else out), weights

    def _check_inputs(self, query, key, value):
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"[MultiheadAttention] query, key and value must all be 2-D (unbatched) or 3-D, got "
                             f"shapes {query.shape}, {key.shape}, {value.shape}")
        dims = (query.shape[-1], key.shape[-1], value.shape[-1])
        if dims != (self.embed_dim, self.kdim, self.vdim):
            raise ValueError(f"[MultiheadAttention] expected feature sizes (embed_dim, kdim, vdim) = "
                             f"{(self.embed_dim, self.kdim, self.vdim)}, got query {query.shape}, key {key.shape}, "
                             f"value {value.shape}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"[MultiheadAttention] key {key.shape} and value {value.shape} differ in length or batch")
        batch_axis = 0 if self.batch_first else 1
        if query.ndim == 3 and query.shape[batch_axis] != key.shape[batch_axis]:
            raise ValueError(f"[MultiheadAttention] query {query.shape} and key {key.shape} have different batch "
                             f"sizes (batch_first={self.batch_first})")
        return query.ndim == 3

    def _project(self, query, key, value):
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if not self._qkv_same_embed_dim:
            return (F.linear(query, self.q_proj_weight, bq), F.linear(key, self.k_proj_weight, bk),
                    F.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if query is key and key is value:  # self-attention: one product for all three
            qkv = F.linear(query, w, b)
            return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        return F.linear(query, w[:e], bq), F.linear(key, w[e:2 * e], bk), F.linear(value, w[2 * e:], bv)

    def _mask(self, attn_mask, key_padding_mask, like, shape):
        """attn_mask and key_padding_mask merged into one additive mask broadcastable to (B, H, L, S)."""
        batch, length, src = shape
        mask = additive_mask(attn_mask, like, "attn_mask")
        if mask is not None:
            if mask.shape == (length, src):
                mask = mask.reshape(1, 1, length, src)
            elif mask.shape == (batch * self.num_heads, length, src):
                mask = mask.reshape(batch, self.num_heads, length, src)
            else:
                raise ValueError(f"[MultiheadAttention] attn_mask must be ({length}, {src}) or "
                                 f"({batch * self.num_heads}, {length}, {src}), got {tuple(mask.shape)}")
        kpm = additive_mask(key_padding_mask, like, "key_padding_mask")
        if kpm is not None:
            if kpm.shape != (batch, src):
                raise ValueError(f"[MultiheadAttention] key_padding_mask must be ({batch}, {src}), got "
                                 f"{tuple(kpm.shape)}")
            kpm = kpm.reshape(batch, 1, 1, src)
            mask = kpm if mask is None else mask + kpm
        return mask

    def _attend(self, query, key, value, key_padding_mask, need_weights, attn_mask, average, is_causal):
        length, batch, src = query.shape[0], query.shape[1], key.shape[0]
        if is_causal and attn_mask is None:
            raise ValueError("[MultiheadAttention] is_causal needs attn_mask too (it is only a hint); "
                             "Transformer.generate_square_subsequent_mask makes one")
        q, k, v = self._project(query, key, value)
        q, k, v = (_heads(t, n, batch, self.num_heads) for t, n in ((q, length), (k, src), (v, src)))
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            mask = self._mask(attn_mask, key_padding_mask, q, (batch, length, src))
            scores = ops.matmul(q * (1.0 / math.sqrt(self.head_dim)), ops.transpose(k, -2, -1))
            # returned after dropout, as torch returns them
            weights = F.dropout(ops.softmax(scores if mask is None else scores + mask, dim=-1), p, True)
            heads = ops.matmul(weights, v)
            if average:
                weights = ops.mean(weights, dim=1)
        elif is_causal and key_padding_mask is None:
            heads = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            mask = self._mask(attn_mask, key_padding_mask, q, (batch, length, src))
            heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = heads.permute(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        return self.out_proj(out), weights
