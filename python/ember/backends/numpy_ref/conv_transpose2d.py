"""conv_transpose2d over NCHW images: grouped, strided, dilated, zero-padded, with output padding;
forward and backward.

Geometry (the op layer computes it once and hands it to every backend):
    x (N, C_in, H, W), w (C_in, C_out // groups, R, S), y (N, C_out, Ho, Wo)
    y[n, g*Cog + o, h*sh - ph + r*dh, v*sw - pw + s*dw] += x[n, g*Cig + c, h, v] * w[g*Cig + c, o, r, s]
summed over (c, h, v, r, s), with Cig = C_in // groups, Cog = C_out // groups; targets outside
[0, Ho) x [0, Wo) are dropped (the padding), rows past the last tap (the output padding) get
nothing, and b[o] is added everywhere. Each tap scatters the whole input with the stride into
a buffer that holds every target, from which the output is cut.
"""
import numpy as np

__all__ = ["conv_transpose2d_forward", "conv_transpose2d_backward"]


def _buffer_size(in_size, out_size, kernel, stride, dilation, padding):
    """Rows (columns) of the buffer: every tap's targets, and the output's after the padding."""
    return tuple(max((i - 1) * st + (k - 1) * d + 1, p + o)
                 for i, o, k, st, d, p in zip(in_size, out_size, kernel, stride, dilation, padding))


def _taps(buf, r, s, in_size, stride, dilation):
    """The view of buf that tap (r, s) writes: target of input (h, v) at (h*sh + r*dh, v*sw + s*dw)."""
    (H, W), (sh, sw), (dh, dw) = in_size, stride, dilation
    return buf[..., r * dh:r * dh + (H - 1) * sh + 1:sh, s * dw:s * dw + (W - 1) * sw + 1:sw]


def conv_transpose2d_forward(x, w, b, stride, padding, dilation, groups, out_size):
    """y (N, C_out, Ho, Wo) of x (N, C_in, H, W) and w (C_in, C_out // groups, R, S), plus b unless None."""
    N, Ci, H, W = x.shape
    _, Cog, R, S = w.shape
    G, (ph, pw), (Ho, Wo) = groups, padding, out_size
    xg = x.reshape(N, G, Ci // G, H, W)
    wg = w.reshape(G, Ci // G, Cog, R, S)
    buf = np.zeros((N, G, Cog) + _buffer_size((H, W), out_size, (R, S), stride, dilation, padding), dtype=x.dtype)
    for r in range(R):
        for s in range(S):
            _taps(buf, r, s, (H, W), stride, dilation)[...] += np.einsum("ngchv,gco->ngohv", xg, wg[..., r, s])
    y = buf[..., ph:ph + Ho, pw:pw + Wo].reshape(N, G * Cog, Ho, Wo)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def conv_transpose2d_backward(x, w, grad_out, stride, padding, dilation, groups, need_x=True, need_w=True,
                              need_b=True):
    """(grad_x, grad_w, grad_b) of conv_transpose2d_forward; each is None unless asked for."""
    N, Ci, H, W = x.shape
    _, Cog, R, S = w.shape
    G, (ph, pw), (Ho, Wo) = groups, padding, grad_out.shape[2:]
    xg = x.reshape(N, G, Ci // G, H, W)
    wg = w.reshape(G, Ci // G, Cog, R, S)
    gbuf = np.zeros((N, G, Cog) + _buffer_size((H, W), (Ho, Wo), (R, S), stride, dilation, padding), dtype=x.dtype)
    gbuf[..., ph:ph + Ho, pw:pw + Wo] = grad_out.reshape(N, G, Cog, Ho, Wo)
    gx = np.zeros_like(xg) if need_x else None
    gw = np.zeros_like(wg) if need_w else None
    for r in range(R):
        for s in range(S):
            g = _taps(gbuf, r, s, (H, W), stride, dilation)
            if need_x:
                gx += np.einsum("ngohv,gco->ngchv", g, wg[..., r, s])
            if need_w:
                gw[..., r, s] = np.einsum("ngchv,ngohv->gco", xg, g)
    return (gx.reshape(x.shape) if need_x else None, gw.reshape(w.shape) if need_w else None,
            grad_out.sum(axis=(0, 2, 3)) if need_b else None)
