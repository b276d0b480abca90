"""Recurrent cells and one-direction sequence layers on the fused kernels.

A cell is two GEMMs (ember's linear, so autograd handles W and the inputs) followed by one
fused node that applies the biases and every gate and writes the new state; its backward is
one kernel that writes the gate gradients. A sequence layer (one direction of one layer) is a
single node: the input projection of all steps is one GEMM, and the time loop runs inside the
kernel layer for forward and for back-propagation through time.

mode is "rnn_tanh", "rnn_relu", "lstm" (gates i, f, g, o) or "gru" (r, z, n; b_hn inside r * (...)).
"""
from ..autograd import Function
from ._checks import check_like
from .matmul import linear

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


class RNNCellBackward(Function):
    """inputs: gx (N, G*H), gh (N, G*H), [b_ih, b_hh], h_prev (N, H), [c_prev (N, H)];
    output h (N, H), or the pair (h, c) for the LSTM."""
    saved_inputs = (2,)  # h_prev (and c_prev), placed by forward
    saved_output = True

    def forward(self, *arrays, mode, has_bias):
        xp = self.backend.xp
        gx, gh = (xp.ascontiguousarray(a) for a in arrays[:2])
        b_ih, b_hh = (arrays[2], arrays[3]) if has_bias else (None, None)
        k = 4 if has_bias else 2
        self.saved_inputs = (k, k + 1) if mode == "lstm" else (k,)
        h_prev = xp.ascontiguousarray(arrays[k])
        c_prev = xp.ascontiguousarray(arrays[k + 1]) if mode == "lstm" else None
        h, c, ws = self.backend.ops.rnn_cell_forward(mode, gx, gh, b_ih, b_hh, h_prev, c_prev)
        self.mode, self.has_bias = mode, has_bias
        self.saved = ws, h_prev, c_prev, c, h
        return (h, c) if mode == "lstm" else h

    def backward(self, g, g_c=None):
        xp = self.backend.xp
        ws, h_prev, c_prev, c, h = self.saved
        lstm = self.mode == "lstm"
        grad_h = xp.ascontiguousarray(g)
        grad_c = xp.ascontiguousarray(g_c) if lstm else None
        dgx, dgh, dhp, dcp = self.backend.ops.rnn_cell_backward(self.mode, ws, h_prev, c_prev, c, h, grad_h, grad_c)
        grads = [dgx, dgh]
        if self.has_bias:
            grads += [dgx.sum(axis=0), dgh.sum(axis=0)]
        grads.append(dhp)  # the GRU's z * dh; the W_hh path goes through the linear node
        if lstm:
            grads.append(dcp)
        return tuple(grads)


def rnn_cell(mode, input, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step of a cell on input (N, I) and state h (N, H) (and c for the LSTM).

    Returns h', or (h', c') for the LSTM. Shapes are checked and named on error."""
    op = {"rnn_tanh": "RNNCell", "rnn_relu": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}[mode]
    gh_rows = GATES[mode] * w_hh.shape[-1]
    if input.ndim != 2 or input.shape[1] != w_ih.shape[1]:
        raise ValueError(f"[{op}] input of shape {input.shape} must be (batch, input_size={w_ih.shape[1]})")
    for name, t in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
        if t is not None:
            check_like(t, name, input, op)
    want = (input.shape[0], w_hh.shape[1])
    for name, t in (("hx", h), ("cx", c)):
        if t is None:
            continue
        check_like(t, name, input, op)
        if t.shape != want:
            raise ValueError(f"[{op}] {name} of shape {t.shape} must be {want} for input of shape {input.shape}")
    if w_ih.shape[0] != gh_rows or w_hh.shape != (gh_rows, w_hh.shape[1]):
        raise ValueError(f"[{op}] weights {w_ih.shape} and {w_hh.shape} do not fit {GATES[mode]} gates")
    gx = linear(input, w_ih)
    gh = linear(h, w_hh)
    extra = [b_ih, b_hh] if b_ih is not None else []
    tail = [h] + ([c] if mode == "lstm" else [])
    return RNNCellBackward.apply(gx, gh, *extra, *tail, mode=mode, has_bias=b_ih is not None)


class RNNLayerBackward(Function):
    """One direction of one layer over x (T, N, I). inputs: x, h0 (N, H), [c0], w_ih, w_hh, [b_ih, b_hh].
    Output y (T, N, H), or the pair (y, c_n (N, H)) for the LSTM; h_n is y at the last step
    processed (T - 1, or 0 when reverse)."""
    saved_inputs = (0, 1, 2, 3)  # x, h0, [c0,] w_ih, w_hh: placed by forward
    saved_output = (0,)

    def forward(self, *arrays, mode, reverse, has_bias):
        xp = self.backend.xp
        lstm = mode == "lstm"
        x, h0 = xp.ascontiguousarray(arrays[0]), xp.ascontiguousarray(arrays[1])
        k = 2
        c0 = None
        if lstm:
            c0, k = xp.ascontiguousarray(arrays[2]), 3
        self.saved_inputs = tuple(range(k + 2))
        w_ih, w_hh = xp.ascontiguousarray(arrays[k]), xp.ascontiguousarray(arrays[k + 1])
        b_ih, b_hh = (arrays[k + 2], arrays[k + 3]) if has_bias else (None, None)
        y, cs, ws = self.backend.ops.rnn_forward(mode, reverse, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        self.mode, self.reverse, self.has_bias = mode, reverse, has_bias
        self.saved = x, h0, c0, w_ih, w_hh, y, cs, ws
        if not lstm:
            return y
        last = 0 if reverse else x.shape[0] - 1
        return y, cs[last].copy()  # a copy: cs goes back to the kernel's pool on release

    def backward(self, g, g_cn=None):
        xp = self.backend.xp
        x, h0, c0, w_ih, w_hh, y, cs, ws = self.saved
        lstm = self.mode == "lstm"
        grad_y = xp.ascontiguousarray(g)
        grad_cn = xp.ascontiguousarray(g_cn) if lstm else None
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = self.backend.ops.rnn_backward(
            self.mode, self.reverse, x, h0, c0, w_ih, w_hh, y, cs, ws, grad_y, grad_cn)
        grads = [dx, dh0] + ([dc0] if lstm else []) + [dw_ih, dw_hh]
        if self.has_bias:
            grads += [db_ih, db_hh]
        return tuple(grads)

    def release(self):
        # c and ws are referenced by this node only (y is the output): hand their memory back
        # for the next forward (a fresh multi-MB array costs page faults per call)
        saved = self.__dict__.get("saved")
        recycle = getattr(self.backend.ops, "rnn_recycle", None) if saved else None
        if recycle is not None:
            _, _, _, _, _, _, cs, ws = saved
            recycle(cs, ws)
        super().release()


def rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One direction of one recurrent layer over x (T, N, I) from state h0 (N, H) (and c0 for the LSTM).

    Returns (y (T, N, H), h_n (N, H), c_n (N, H) or None).
    Example:
        y, h_n, _ = rnn_layer("gru", x, h0, None, w_ih, w_hh, b_ih, b_hh)
    """
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"[rnn] input of shape {x.shape} must be (seq_len >= 1, batch, input_size)")
    if x.shape[2] != w_ih.shape[1]:
        raise ValueError(f"[rnn] input of shape {x.shape} has {x.shape[2]} features, expected input_size "
                         f"{w_ih.shape[1]}")
    for name, t in (("h0", h0), ("c0", c0), ("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih),
                    ("bias_hh", b_hh)):
        if t is not None:
            check_like(t, name, x, "rnn")
    want = (x.shape[1], w_hh.shape[1])
    for name, t in (("h0", h0), ("c0", c0)):
        if t is not None and t.shape != want:
            raise ValueError(f"[rnn] {name} of shape {t.shape} must be {want} for input of shape {x.shape}")
    inputs = [x, h0] + ([c0] if mode == "lstm" else []) + [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
    out = RNNLayerBackward.apply(*inputs, mode=mode, reverse=reverse, has_bias=b_ih is not None)
    y, c_n = out if mode == "lstm" else (out, None)
    h_n = y[0] if reverse else y[x.shape[0] - 1]
    return y, h_n, c_n
