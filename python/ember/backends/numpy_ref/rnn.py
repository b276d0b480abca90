"""Recurrent cells and one-direction sequence layers: the plain formulas, one time step at a time.

Gates come from two GEMMs, gx = x @ W_ih^T and gh = h @ W_hh^T (biases added in the cell):
    rnn_tanh / rnn_relu   h = act(gx + b_ih + gh + b_hh)
    lstm (i, f, g, o)     a = gx + b_ih + gh + b_hh; i, f, o = sigmoid; g = tanh
                          c = f c_prev + i g;  h = o tanh(c)
    gru (r, z, n)         r = sigmoid(gx_r + b_ir + gh_r + b_hr);  z likewise
                          n = tanh(gx_n + b_in + r (gh_n + b_hn))     (PyTorch's b_hn placement)
                          h = (1 - z) n + z h_prev
`ws` holds what backward needs per row: lstm (i, f, g, o), gru (r, z, n, gh_n + b_hn); none for rnn.
"""
import numpy as np

__all__ = ["rnn_cell_forward", "rnn_cell_backward", "rnn_forward", "rnn_backward", "RNN_GATES"]

RNN_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))  # no overflow for large |x|


def _bias(a, b):
    return a if b is None else a + b


def rnn_cell_forward(mode, gx, gh, b_ih, b_hh, h_prev, c_prev):
    """(h, c or None, ws or None) for one step of N rows."""
    ax, ah = _bias(gx, b_ih), _bias(gh, b_hh)
    if mode == "rnn_tanh":
        return np.tanh(ax + ah), None, None
    if mode == "rnn_relu":
        return np.maximum(ax + ah, 0), None, None
    if mode == "lstm":
        i, f, g, o = np.split(ax + ah, 4, axis=1)
        i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
        c = f * c_prev + i * g
        return o * np.tanh(c), c, np.concatenate([i, f, g, o], axis=1)
    if mode == "gru":
        xr, xz, xn = np.split(ax, 3, axis=1)
        hr, hz, hn = np.split(ah, 3, axis=1)
        r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
        n = np.tanh(xn + r * hn)
        return (1 - z) * n + z * h_prev, None, np.concatenate([r, z, n, hn], axis=1)
    raise ValueError(f"[rnn] unknown mode {mode!r}")


def rnn_cell_backward(mode, ws, h_prev, c_prev, c, h, grad_h, grad_c):
    """(d gates_x, d gates_h, dh_prev not through W_hh or None, dc_prev or None).

    d gates_h is d gates_x except for GRU's n gate (gh_n is scaled by r)."""
    if mode == "rnn_tanh":
        d = grad_h * (1 - h * h)
        return d, d, None, None
    if mode == "rnn_relu":
        d = grad_h * (h > 0)
        return d, d, None, None
    if mode == "lstm":
        i, f, g, o = np.split(ws, 4, axis=1)
        tc = np.tanh(c)
        dc = grad_h * o * (1 - tc * tc) + (0 if grad_c is None else grad_c)
        d = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                            grad_h * tc * o * (1 - o)], axis=1)
        return d, d, None, dc * f
    r, z, n, hn = np.split(ws, 4, axis=1)
    dn = grad_h * (1 - z) * (1 - n * n)
    dr = dn * hn * r * (1 - r)
    dz = grad_h * (h_prev - n) * z * (1 - z)
    return (np.concatenate([dr, dz, dn], axis=1), np.concatenate([dr, dz, dn * r], axis=1), grad_h * z, None)


def _steps(n, reverse):
    return range(n - 1, -1, -1) if reverse else range(n)


def rnn_forward(mode, reverse, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """One direction over x (T, N, I): (y (T, N, H), c per step (T, N, H) or None, ws (T, N, k H) or None)."""
    y = np.empty((x.shape[0],) + h0.shape, dtype=x.dtype)
    cs = np.empty_like(y) if mode == "lstm" else None
    wss = []
    h, c = h0, c0
    for t in _steps(x.shape[0], reverse):
        h, c, ws = rnn_cell_forward(mode, x[t] @ w_ih.T, h @ w_hh.T, b_ih, b_hh, h, c)
        y[t] = h
        if cs is not None:
            cs[t] = c
        wss.append((t, ws))
    ws_all = None
    if mode in ("lstm", "gru"):
        ws_all = np.empty((x.shape[0],) + wss[0][1].shape, dtype=x.dtype)
        for t, ws in wss:
            ws_all[t] = ws
    return y, cs, ws_all


def rnn_backward(mode, reverse, x, h0, c0, w_ih, w_hh, y, cs, ws, grad_y, grad_cn):
    """Back-propagation through time: (dx, dh0, dc0 or None, dw_ih, dw_hh, db_ih, db_hh).

    grad_y (T, N, H) already holds the gradient of h_n at its step; grad_cn is that of c_n or None."""
    steps = x.shape[0]
    dx = np.empty_like(x)
    dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
    db_ih, db_hh = np.zeros(w_ih.shape[0], x.dtype), np.zeros(w_hh.shape[0], x.dtype)
    dh = np.zeros_like(h0)
    dc = None if mode != "lstm" else (np.zeros_like(h0) if grad_cn is None else grad_cn.copy())
    order = list(_steps(steps, reverse))
    for k in range(steps - 1, -1, -1):
        t = order[k]
        h_prev = h0 if k == 0 else y[order[k - 1]]
        c_prev = None if cs is None else (c0 if k == 0 else cs[order[k - 1]])
        dgx, dgh, dh_direct, dc = rnn_cell_backward(mode, None if ws is None else ws[t], h_prev, c_prev,
                                                    None if cs is None else cs[t], y[t], grad_y[t] + dh, dc)
        dx[t] = dgx @ w_ih
        dw_ih += dgx.T @ x[t]
        dw_hh += dgh.T @ h_prev
        db_ih += dgx.sum(axis=0)
        db_hh += dgh.sum(axis=0)
        dh = dgh @ w_hh + (0 if dh_direct is None else dh_direct)
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh
