"""SimpleRNN, LSTM and GRU on ember's fused recurrent kernels, Keras' weights and defaults.

Inputs (batch, timesteps, features). Weights (Keras' layouts): kernel (features, G * units), recurrent_kernel
(units, G * units), bias (G * units,), or (2, 3 * units) for the GRU (input and recurrent biases). Gates:
LSTM i, f, c, o (PyTorch's order); GRU z, r, h in Keras, reordered to PyTorch's r, z, n for the kernel;
Keras' GRU reset_after=True is PyTorch's GRU formula.
"""
from ... import ops
from ...creation import ones, zeros
from ...nn import functional as F
from ...ops.rnn import rnn_layer
from .base import Layer


class _RNN(Layer):
    _gates = 1
    _mode = "rnn_tanh"

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, **kwargs):
        super().__init__(**kwargs)
        op = type(self).__name__
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"[{op}] units must be a positive int, got {units!r}")
        if recurrent_dropout:
            raise ValueError(f"[{op}] recurrent_dropout is not supported by the fused kernels (got "
                             f"{recurrent_dropout}); use dropout= (on the inputs)")
        if go_backwards or stateful:
            raise ValueError(f"[{op}] go_backwards and stateful are not supported")
        if not 0 <= dropout < 1:
            raise ValueError(f"[{op}] dropout must be in [0, 1), got {dropout!r}")
        self.units, self.use_bias, self.dropout = units, use_bias, float(dropout)
        self.return_sequences, self.return_state = return_sequences, return_state
        self._inits = (kernel_initializer, recurrent_initializer, bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"[{type(self).__name__}] expects inputs (batch, timesteps, features) with known "
                             f"features, got shape {input_shape}")
        g = self._gates * self.units
        self.add_weight((input_shape[-1], g), self._inits[0], name="kernel")
        self.add_weight((self.units, g), self._inits[1], name="recurrent_kernel")
        if self.use_bias:
            self.add_weight(self._bias_shape(), self._inits[2], name="bias")

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _params(self):
        """(w_ih (G*U, F), w_hh (G*U, U), b_ih, b_hh) in the kernel's layout."""
        b = self.bias if self.use_bias else None
        return self.kernel.T, self.recurrent_kernel.T, b, None if b is None else zeros(b.shape, dtype=b.dtype,
                                                                                      device=b._backend)

    def call(self, x, initial_state=None):
        op = type(self).__name__
        if x.ndim != 3 or x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"[{op}] layer '{self.name}' expects (batch, timesteps, {self.kernel.shape[0]}), "
                             f"got input of shape {x.shape}")
        if x.shape[1] == 0:
            raise ValueError(f"[{op}] input of shape {x.shape} has no time steps")
        if self.dropout and self.training:  # one mask per sequence, the same at every step, as Keras
            x = x * F.dropout(ones((x.shape[0], 1, x.shape[2]), dtype=x.dtype, device=x._backend), self.dropout)
        states = self._initial(x, initial_state)
        w_ih, w_hh, b_ih, b_hh = self._params()
        y, h, c = rnn_layer(self._mode, x.transpose(0, 1), states[0], states[1] if len(states) > 1 else None,
                            w_ih, w_hh, b_ih, b_hh)
        out = y.transpose(0, 1) if self.return_sequences else h
        if not self.return_state:
            return out
        return [out, h, c] if self._mode == "lstm" else [out, h]

    def _initial(self, x, initial_state):
        n_states = 2 if self._mode == "lstm" else 1
        if initial_state is None:
            return [zeros((x.shape[0], self.units), dtype=x.dtype, device=x._backend)] * n_states
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        want = (x.shape[0], self.units)
        if len(states) != n_states or any(tuple(s.shape) != want for s in states):
            raise ValueError(f"[{type(self).__name__}] initial_state must be {n_states} tensor(s) of shape {want}, "
                             f"got {[tuple(s.shape) for s in states]}")
        return states


class SimpleRNN(_RNN):
    """h_t = activation(x_t W + h_{t-1} U + b); activation 'tanh' (default) or 'relu'."""

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"[SimpleRNN] activation must be 'tanh' or 'relu', got {activation!r}")
        self._mode = "rnn_" + activation


class LSTM(_RNN):
    """Keras' LSTM (tanh, sigmoid gates); unit_forget_bias=True starts the forget gate's bias at 1."""
    _gates = 4
    _mode = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError(f"[LSTM] the fused kernel has activation='tanh' and recurrent_activation='sigmoid', "
                             f"got {activation!r} and {recurrent_activation!r}")
        self.unit_forget_bias = unit_forget_bias

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            u = self.units
            b = self.bias.numpy().copy()
            b[u:2 * u] = 1.0
            self.bias._data[...] = self.bias._backend.from_host(b.astype(self.bias.dtype))
            self.bias._bump()


def _zrh_to_rzn(t, u):
    """Keras' GRU gate blocks (z, r, h) along the last axis -> PyTorch's (r, z, n)."""
    return ops.cat([t[..., u:2 * u], t[..., :u], t[..., 2 * u:]], dim=-1)


class GRU(_RNN):
    """Keras' GRU with reset_after=True (the default): the reset gate applies after the recurrent matmul,
    which is PyTorch's GRU; bias (2, 3 * units): input and recurrent biases."""
    _gates = 3
    _mode = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError(f"[GRU] the fused kernel has activation='tanh' and recurrent_activation='sigmoid', "
                             f"got {activation!r} and {recurrent_activation!r}")
        if not reset_after:
            raise ValueError("[GRU] reset_after=False is not supported (the kernel is PyTorch's reset-after GRU)")

    def _bias_shape(self):
        return (2, 3 * self.units)

    def _params(self):
        u = self.units
        w_ih, w_hh = _zrh_to_rzn(self.kernel, u).T, _zrh_to_rzn(self.recurrent_kernel, u).T
        if not self.use_bias:
            return w_ih, w_hh, None, None
        b = _zrh_to_rzn(self.bias, u)
        return w_ih, w_hh, b[0], b[1]
