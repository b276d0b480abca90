"""scaled_dot_product_attention and MultiheadAttention, decomposed into MatMul / Softmax / MatMul,
with bool and float masks, key padding masks given as graph inputs, and causal masks."""
import numpy as np
import pytest

import ember as em
from ember import nn
from ember.nn import functional as F

from .common import check_export, randn
from .test_ops import Fn

B, H, L, S, D = 2, 3, 5, 4, 8


def _bool_mask(*shape, seed=3):
    m = np.random.default_rng(seed).random(shape) > 0.3
    m[..., 0] = True  # every query sees a key
    return em.tensor(m)


SDPA = {
    "plain": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
    "scale": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
    "causal": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
    "float_mask": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=randn(L, S, seed=4)),
    "bool_mask": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=_bool_mask(L, S)),
}


@pytest.mark.parametrize("name", sorted(SDPA))
def test_sdpa(name):
    q, k, v = randn(B, H, L, D), randn(B, H, S, D, seed=1), randn(B, H, S, D, seed=2)
    check_export(Fn(SDPA[name]), (q, k, v), input_names=["q", "k", "v"],
                 dynamic_axes={"q": [0], "k": [0], "v": [0]},
                 others=[(randn(4, H, L, D), randn(4, H, S, D, seed=1), randn(4, H, S, D, seed=2))])


def test_sdpa_mask_as_input():
    q, k, v = randn(B, H, L, D), randn(B, H, S, D, seed=1), randn(B, H, S, D, seed=2)
    check_export(Fn(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
                 (q, k, v, _bool_mask(B, 1, L, S)))


def test_causal_with_dynamic_length():
    q = randn(B, H, L, D)
    check_export(Fn(lambda q: F.scaled_dot_product_attention(q, q, q, is_causal=True)), (q,), input_names=["q"],
                 dynamic_axes={"q": [0, 2]}, others=[(randn(3, H, 9, D, seed=5),)])


def _mha(**kw):
    em.manual_seed(0)
    mha = nn.MultiheadAttention(D, 2, **kw)
    if mha.in_proj_bias is not None:  # not the zeros they start with
        mha.in_proj_bias._data[...] = np.random.default_rng(0).standard_normal(3 * D)
    return mha


class SelfAttention(nn.Module):
    def __init__(self, need_weights, mask=None, causal=False, **kw):
        super().__init__()
        self.attn, self.need_weights, self.mask, self.causal = _mha(**kw), need_weights, mask, causal

    def forward(self, x, key_padding_mask=None):
        return self.attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=self.need_weights,
                         attn_mask=self.mask, is_causal=self.causal)


CAUSAL = nn.Transformer.generate_square_subsequent_mask(L)
MHA = {
    "weights": dict(need_weights=True),
    "fused": dict(need_weights=False),
    "batch_first": dict(need_weights=False, batch_first=True),
    "float_mask_weights": dict(need_weights=True, mask=CAUSAL),
    "causal_fused": dict(need_weights=False, mask=CAUSAL, causal=True),
    "bool_mask": dict(need_weights=False, mask=_bool_mask(L, L).numpy() == 0),
    "no_bias": dict(need_weights=True, bias=False),
}


@pytest.mark.parametrize("name", sorted(MHA))
def test_multihead_self_attention(name):
    kw = dict(MHA[name])
    kw["mask"] = em.tensor(kw["mask"]) if isinstance(kw.get("mask"), np.ndarray) else kw.get("mask")
    model = SelfAttention(**kw)
    shape, other = ((B, L, D), (4, L, D)) if kw.get("batch_first") else ((L, B, D), (L, 4, D))
    axis = 0 if kw.get("batch_first") else 1
    check_export(model, (randn(*shape),), input_names=["x"], dynamic_axes={"x": [axis]},
                 others=[(randn(*other, seed=1),)])


@pytest.mark.parametrize("need_weights", [True, False])
def test_key_padding_mask_input(need_weights):
    pad = np.zeros((B, L), dtype=bool)
    pad[0, -2:] = True
    other = np.zeros((3, L), dtype=bool)
    other[2, 1:] = True
    check_export(SelfAttention(need_weights), (randn(L, B, D), em.tensor(pad)), input_names=["x", "pad"],
                 dynamic_axes={"x": [1], "pad": [0]}, others=[(randn(L, 3, D, seed=1), em.tensor(other))])


def test_cross_attention_kdim_vdim():
    mha = nn.MultiheadAttention(D, 2, kdim=6, vdim=5)
    check_export(Fn(lambda q, k, v: mha(q, k, v)), (randn(L, B, D), randn(S, B, 6), randn(S, B, 5)))


def test_unbatched_multihead_attention():
    check_export(SelfAttention(need_weights=True), (randn(L, D),))
