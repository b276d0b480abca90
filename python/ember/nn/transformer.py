"""Transformer, TransformerEncoder(Layer), TransformerDecoder(Layer), as PyTorch's: the same
arguments, defaults, masks and submodule names (self_attn, multihead_attn, linear1, linear2,
norm1..3, layers.N), so a torch model's state_dict loads by name.

Sequences are (S, N, E), or (N, S, E) with batch_first. norm_first=False is the original post-norm
block x = norm(x + sublayer(x)); norm_first=True the pre-norm x = x + sublayer(norm(x)).
"""
import copy

import numpy as np

from ..tensor import tensor
from . import functional as F
from . import init
from .activation import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .layer_norm import LayerNorm
from .layers import Linear
from .module import Module

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation):
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"[Transformer] activation should be 'relu' or 'gelu' (or a callable), got "
                             f"{activation!r}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"[Transformer] activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return activation


def _detect_is_causal(mask, is_causal, size):
    """is_causal, or (when None) whether mask is exactly the square causal mask: a hint the
    attention layers use to skip the mask, as torch's _detect_is_causal_mask."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    if tuple(mask.shape) != (size, size):
        return False
    a = mask.numpy() if hasattr(mask, "numpy") else np.asarray(mask)
    return a.dtype.kind == "f" and bool(np.array_equal(a, np.triu(np.full((size, size), -np.inf), 1)))


class _Block(Module):
    """What the encoder and decoder layers share: the feed-forward sublayer and its dropouts."""

    def _init_ff(self, d_model, dim_feedforward, dropout, activation, batch_first, bias, kw):
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.activation = _activation(activation)
        self.batch_first = batch_first

    def _ff_block(self, x, drop):
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _attn_block(self, attn, x, mem, mask, key_padding_mask, is_causal, drop):
        out = attn(x, mem, mem, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
                   is_causal=is_causal)[0]
        return drop(out)


class TransformerEncoderLayer(_Block):
    """Self-attention and a feed-forward network, each in a residual block with LayerNorm.

    Example:
        layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, batch_first=True)
        y = layer(x)        # x (N, S, 64) -> y (N, S, 64)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self._init_ff(d_model, dim_feedforward, dropout, activation, batch_first, bias, kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x, self.dropout2))

    def _sa_block(self, x, mask, key_padding_mask, is_causal):
        return self._attn_block(self.self_attn, x, x, mask, key_padding_mask, is_causal, self.dropout1)


class TransformerDecoderLayer(_Block):
    """Self-attention over the target, attention over the encoder's memory, and a feed-forward
    network, each in a residual block with LayerNorm.

    Example:
        layer = nn.TransformerDecoderLayer(d_model=64, nhead=4)
        y = layer(tgt, memory)      # tgt (T, N, 64), memory (S, N, 64) -> (T, N, 64)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                                 **kw)
        self._init_ff(d_model, dim_feedforward, dropout, activation, batch_first, bias, kw)
        self.norm_first = norm_first
        self.norm1, self.norm2, self.norm3 = (LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
                                              for _ in range(3))
        self.dropout1, self.dropout2, self.dropout3 = Dropout(dropout), Dropout(dropout), Dropout(dropout)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x, self.dropout3))

    def _sa_block(self, x, mask, key_padding_mask, is_causal):
        return self._attn_block(self.self_attn, x, x, mask, key_padding_mask, is_causal, self.dropout1)

    def _mha_block(self, x, mem, mask, key_padding_mask, is_causal):
        return self._attn_block(self.multihead_attn, x, mem, mask, key_padding_mask, is_causal, self.dropout2)


def _clones(layer, n):
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"[Transformer] num_layers must be a positive int, got {n!r}")
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


def _seq_len(x, layer):
    batch_first = getattr(layer, "batch_first", False)  # a custom layer may not say
    return x.shape[0] if x.ndim == 2 or not batch_first else x.shape[1]


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer (deep copies, as torch), then an optional norm.

    Example:
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), num_layers=2)
        y = enc(x, mask=nn.Transformer.generate_square_subsequent_mask(x.shape[0]))
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        is_causal = _detect_is_causal(mask, is_causal, _seq_len(src, self.layers[0]))
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return self.norm(out) if self.norm is not None else out


class TransformerDecoder(Module):
    """num_layers copies of decoder_layer (deep copies, as torch), then an optional norm."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        tgt_is_causal = _detect_is_causal(tgt_mask, tgt_is_causal, _seq_len(tgt, self.layers[0]))
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """The encoder-decoder Transformer (Vaswani et al., 2017) with PyTorch's arguments and defaults.

    Example:
        model = nn.Transformer(d_model=64, nhead=4, num_encoder_layers=2, num_decoder_layers=2)
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[0])
        out = model(src, tgt, tgt_mask=mask)     # src (S, N, 64), tgt (T, N, 64) -> (T, N, 64)
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*args, **kw), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*args, **kw), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise ValueError(f"[Transformer] the batch sizes of src {src.shape} and tgt {tgt.shape} must be equal "
                             f"(batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"[Transformer] the feature sizes of src {src.shape} and tgt {tgt.shape} must equal "
                             f"d_model ({self.d_model})")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) float causal mask: -inf above the diagonal (position i sees j <= i), 0 elsewhere."""
        if not isinstance(sz, (int, np.integer)) or sz < 1:
            raise ValueError(f"[Transformer] generate_square_subsequent_mask needs a positive size, got {sz!r}")
        return tensor(np.triu(np.full((sz, sz), -np.inf, np.float32), 1), device=device, dtype=dtype)

