"""Recurrent layers with PyTorch's names, shapes, defaults and initialisation.

Cells (RNNCell, LSTMCell, GRUCell): one step; sequence layers (RNN, LSTM, GRU): num_layers,
batch_first, bidirectional, dropout between layers, bias, optional initial state, and a
PackedSequence input (nn.utils.rnn), answered with a PackedSequence. Every
parameter is drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch does, and
named as PyTorch names it (weight_ih_l0 (gates * hidden, input), ..., *_reverse), so a
state_dict copies across by name.
"""
import math

import numpy as np

from ..creation import empty, zeros
from ..ops import cat, stack
from ..ops._checks import int64
from ..ops.rnn import GATES, rnn_cell, rnn_layer
from ..random import generator
from ..tensor import Tensor, is_floating
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, batch_lengths, check_batch_sizes, host_ints, step_offsets


def _mode(name, nonlinearity):
    if name != "RNN":
        return name.lower()
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"[RNN] nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return "rnn_" + nonlinearity


def _check_sizes(name, input_size, hidden_size):
    for arg, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        int64(v, arg, name)
    if int(input_size) < 1 or int(hidden_size) < 1:
        raise ValueError(f"[{name}] input_size and hidden_size must be positive, got {input_size} and {hidden_size}")


def _length_groups(batch_sizes):
    """The sorted batch's runs of sequences of one length: [(start, end, length, their rows of the
    packed data, step-major)], and perm: packed row -> row of the runs' outputs concatenated."""
    lens, offsets = batch_lengths(batch_sizes), step_offsets(batch_sizes)
    starts = np.flatnonzero(np.diff(lens, prepend=-1))
    groups, perm, base = [], np.empty(int(batch_sizes.sum()), dtype=np.int64), 0
    for s, e in zip(starts.tolist(), [*starts[1:].tolist(), lens.size]):
        rows = (offsets[:lens[s], None] + np.arange(s, e)[None, :]).reshape(-1)
        perm[rows] = base + np.arange(rows.size)
        base += rows.size
        groups.append((s, e, int(lens[s]), rows))
    return groups, perm


class _CellBase(Module):
    _name = ""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__()
        _check_sizes(self._name, input_size, hidden_size)
        self.mode = _mode(self._name.replace("Cell", ""), nonlinearity)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = GATES[self.mode] * hidden_size
        self.weight_ih = Parameter(empty(g, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(g, hidden_size, device=device, dtype=dtype))
        self.bias_ih = Parameter(empty(g, device=device, dtype=dtype)) if bias else None
        self.bias_hh = Parameter(empty(g, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        k = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def forward(self, input, hx=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"[{self._name}] input must be a Tensor, got {type(input).__name__}")
        unbatched = input.ndim == 1
        if input.ndim not in (1, 2):
            raise ValueError(f"[{self._name}] input must be (batch, input_size) or (input_size,), got {input.shape}")
        x = input.unsqueeze(0) if unbatched else input
        lstm = self.mode == "lstm"
        if hx is None:
            h = zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            hx = (h, h) if lstm else h
        if lstm and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"[{self._name}] hx must be a pair (h, c)")
        states = list(hx) if lstm else [hx]
        if unbatched:
            states = [s.unsqueeze(0) if isinstance(s, Tensor) and s.ndim == 1 else s for s in states]
        out = rnn_cell(self.mode, x, states[0], states[1] if lstm else None, self.weight_ih, self.weight_hh,
                       self.bias_ih, self.bias_hh)
        if unbatched:
            return tuple(o.squeeze(0) for o in out) if lstm else out.squeeze(0)
        return out

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "rnn_relu":
            s += ", nonlinearity='relu'"
        return s


class RNNCell(_CellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    Example:
        cell = nn.RNNCell(10, 20)
        h = cell(x, h)              # x (N, 10), h (N, 20)
    """
    _name = "RNNCell"


class LSTMCell(_CellBase):
    """One LSTM step, gates i, f, g, o; returns (h', c').

    Example:
        cell = nn.LSTMCell(10, 20)
        h, c = cell(x, (h, c))
    """
    _name = "LSTMCell"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)


class GRUCell(_CellBase):
    """One GRU step, gates r, z, n with b_hn inside r * (...), as PyTorch.

    Example:
        cell = nn.GRUCell(10, 20)
        h = cell(x, h)
    """
    _name = "GRUCell"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)


class _RNNBase(Module):
    _name = ""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, nonlinearity="tanh", device=None, dtype=None):
        super().__init__()
        _check_sizes(self._name, input_size, hidden_size)
        if int64(num_layers, "num_layers", self._name) < 1:
            raise ValueError(f"[{self._name}] num_layers must be >= 1, got {num_layers}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"[{self._name}] dropout must be in [0, 1], got {dropout}")
        self.mode = _mode(self._name, nonlinearity)
        self.nonlinearity = nonlinearity
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, int(num_layers)
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        g = GATES[self.mode] * hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(self.num_layers):
            in_l = input_size if layer == 0 else hidden_size * dirs
            for suffix in ([""] if dirs == 1 else ["", "_reverse"]):
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(empty(g, in_l, device=device, dtype=dtype)))
                setattr(self, f"weight_hh_l{layer}{suffix}",
                        Parameter(empty(g, hidden_size, device=device, dtype=dtype)))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(empty(g, device=device, dtype=dtype)))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(empty(g, device=device, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self):
        k = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def flatten_parameters(self):
        """A no-op kept for PyTorch code: ember's weights are already one contiguous array each, and
        there is no cuDNN weight buffer to compact."""

    def _state(self, hx, x, name, dirs, batch=None):
        want = (self.num_layers * dirs, x.shape[1] if batch is None else batch, self.hidden_size)
        if hx is None:
            return zeros(*want, dtype=x.dtype, device=x.device)
        if not isinstance(hx, Tensor):
            raise TypeError(f"[{self._name}] {name} must be a Tensor, got {type(hx).__name__}")
        if hx.shape != want:
            raise ValueError(f"[{self._name}] {name} of shape {hx.shape} must be {want} (num_layers * num_directions, "
                             f"batch, hidden_size) for input of shape {x.shape}")
        if hx.dtype != x.dtype or hx._backend is not x._backend:
            raise ValueError(f"[{self._name}] {name} ({hx.dtype}, '{hx.device}') must match input "
                             f"({x.dtype}, '{x.device}')")
        return hx

    def _dropout(self, y):
        keep = 1.0 - self.dropout
        if keep == 0:
            return y * 0.0
        mask = (generator().random(y.shape) < keep).astype(y.dtype) / np.asarray(keep, dtype=y.dtype)
        return y * Tensor._wrap(y._backend.from_host(mask), y._backend)

    def forward(self, input, hx=None):
        name, lstm = self._name, self.mode == "lstm"
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if not isinstance(input, Tensor):
            raise TypeError(f"[{name}] input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"[{name}] input must be 3-D ({'batch, seq' if self.batch_first else 'seq, batch'}, "
                             f"input_size) or 2-D (seq, input_size), got shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"[{name}] input of shape {input.shape} has {input.shape[-1]} features, expected "
                             f"input_size={self.input_size}")
        if not is_floating(input.dtype):
            raise TypeError(f"[{name}] input must be float32 or float64, got {input.dtype}")
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        if x.shape[0] == 0:
            raise ValueError(f"[{name}] input of shape {input.shape} has no time steps")
        h0, c0 = (hx if hx is not None else (None, None)) if lstm else (hx, None)
        if lstm and hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"[{name}] hx must be a pair (h_0, c_0)")
        if unbatched:
            h0 = h0.unsqueeze(1) if isinstance(h0, Tensor) and h0.ndim == 2 else h0
            c0 = c0.unsqueeze(1) if isinstance(c0, Tensor) and c0.ndim == 2 else c0
        dirs = 2 if self.bidirectional else 1
        h0 = self._state(h0, x, "h_0" if lstm else "hx", dirs)
        c0 = self._state(c0, x, "c_0", dirs) if lstm else None
        x, h_n, c_n = self._layers(x, h0, c0)
        out = x.squeeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
        if unbatched:
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def _layers(self, x, h0, c0):
        """Every layer and direction over x (T, N, I) from h0 (and c0) (L*D, N, H).
        Returns (y (T, N, D*H), h_n, c_n or None)."""
        lstm, dirs = self.mode == "lstm", 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            ys = []
            for d in range(dirs):
                sfx = f"l{layer}{'_reverse' if d else ''}"
                i = layer * dirs + d
                y, h_n, c_n = rnn_layer(self.mode, x, h0[i], c0[i] if lstm else None,
                                        getattr(self, "weight_ih_" + sfx), getattr(self, "weight_hh_" + sfx),
                                        getattr(self, "bias_ih_" + sfx) if self.bias else None,
                                        getattr(self, "bias_hh_" + sfx) if self.bias else None, reverse=bool(d))
                ys.append(y)
                hs.append(h_n)
                cs.append(c_n)
            x = ys[0] if dirs == 1 else cat(ys, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = self._dropout(x)
        return x, stack(hs, dim=0), stack(cs, dim=0) if lstm else None

    def _packed_state(self, packed, hx, data, batch):
        """h_0 (and c_0) for a packed batch, in its sorted order (the caller gives them in the batch's order)."""
        name, lstm, dirs = self._name, self.mode == "lstm", 2 if self.bidirectional else 1
        if lstm and hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"[{name}] hx must be a pair (h_0, c_0)")
        h0, c0 = (hx if hx is not None else (None, None)) if lstm else (hx, None)
        h0 = self._state(h0, data, "h_0" if lstm else "hx", dirs, batch=batch)
        c0 = self._state(c0, data, "c_0", dirs, batch=batch) if lstm else None
        if packed.sorted_indices is not None and hx is not None:
            order = host_ints(packed.sorted_indices, name, "sorted_indices")
            h0, c0 = h0[:, order], c0[:, order] if lstm else None
        return h0, c0

    def _forward_packed(self, packed, hx):
        """The layers over a PackedSequence: one dense run per group of equal-length sequences
        (exact: every sequence stops at its own last step, both directions), the outputs
        scattered back into packed order and h_n / c_n into the caller's batch order."""
        name, lstm = self._name, self.mode == "lstm"
        data = packed.data
        if not isinstance(data, Tensor) or data.ndim != 2 or data.shape[1] != self.input_size:
            raise ValueError(f"[{name}] a PackedSequence's data must be (sum of lengths, input_size="
                             f"{self.input_size}), got {getattr(data, 'shape', type(data).__name__)}")
        if data.dtype.kind != "f":
            raise TypeError(f"[{name}] input must be float32 or float64, got {data.dtype}")
        bs = check_batch_sizes(packed.batch_sizes, data, name)
        h0, c0 = self._packed_state(packed, hx, data, int(bs[0]))
        groups, perm = _length_groups(bs)
        ys, hs, cs = [], [], []
        for s, e, steps, rows in groups:
            x = data if len(groups) == 1 else data[rows]  # one group: data is already its (L, N) steps
            y, h_n, c_n = self._layers(x.reshape(steps, e - s, self.input_size), h0[:, s:e],
                                       c0[:, s:e] if lstm else None)
            ys.append(y.reshape(rows.size, y.shape[2]))
            hs.append(h_n)
            cs.append(c_n)
        out = cat(ys, dim=0)[perm] if len(ys) > 1 else ys[0]
        h_n = cat(hs, dim=1) if len(hs) > 1 else hs[0]
        c_n = (cat(cs, dim=1) if len(cs) > 1 else cs[0]) if lstm else None
        if packed.unsorted_indices is not None:
            back = host_ints(packed.unsorted_indices, name, "unsorted_indices")
            h_n, c_n = h_n[:, back], c_n[:, back] if lstm else None
        out = PackedSequence(out, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "rnn_relu":
            s += ", nonlinearity='relu'"
        for k, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s


class RNN(_RNNBase):
    """Elman RNN, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), as torch.nn.RNN.

    Returns (output (T, N, D*H), h_n (L*D, N, H)).
    Example:
        rnn = nn.RNN(10, 20, num_layers=2, batch_first=True)
        out, h_n = rnn(x)           # x (N, T, 10)
    """
    _name = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         nonlinearity, device=device, dtype=dtype)


class LSTM(_RNNBase):
    """Long short-term memory, gates i, f, g, o, as torch.nn.LSTM.

    Returns (output (T, N, D*H), (h_n, c_n) each (L*D, N, H)).
    Example:
        lstm = nn.LSTM(28, 128, batch_first=True)
        out, (h_n, c_n) = lstm(x)   # x (N, 28, 28)
    """
    _name = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class GRU(_RNNBase):
    """Gated recurrent unit, gates r, z, n with b_hn inside r * (...), as torch.nn.GRU.

    Returns (output (T, N, D*H), h_n (L*D, N, H)).
    Example:
        gru = nn.GRU(10, 20, bidirectional=True)
        out, h_n = gru(x)           # x (T, N, 10)
    """
    _name = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
