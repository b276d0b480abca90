"""conv2d over NCHW images: grouped, strided, dilated, zero-padded; forward and backward.

Geometry (the op layer computes it once and hands it to every backend):
    x (N, C, H, W), w (K, C // groups, R, S), y (N, K, P, Q)
    y[n, k, p, q] = b[k] + sum_{c, r, s} w[k, c, r, s] * x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw]
with g = k // (K // groups) and x read as 0 outside the image. (ph, pw) is the top/left padding;
the bottom/right padding is whatever P, Q need (so 'same' padding may be asymmetric).
"""
import numpy as np

__all__ = ["conv2d_forward", "conv2d_backward"]


def _padded(x, padding, size, kernel, stride, dilation):
    """x zero-padded so that every window of the (P, Q) outputs lies inside."""
    (ph, pw), (P, Q), (R, S), (sh, sw), (dh, dw) = padding, size, kernel, stride, dilation
    H, W = x.shape[-2:]
    need_h = (P - 1) * sh + (R - 1) * dh + 1
    need_w = (Q - 1) * sw + (S - 1) * dw + 1
    bottom, right = max(0, need_h - H - ph), max(0, need_w - W - pw)
    return np.pad(x, ((0, 0), (0, 0), (ph, bottom), (pw, right)))


def _window(xpad, r, s, size, stride, dilation):
    (P, Q), (sh, sw), (dh, dw) = size, stride, dilation
    return xpad[..., r * dh:r * dh + (P - 1) * sh + 1:sh, s * dw:s * dw + (Q - 1) * sw + 1:sw]


def conv2d_forward(x, w, b, stride, padding, dilation, groups, out_size):
    """y (N, K, P, Q) of x (N, C, H, W) and w (K, C // groups, R, S), plus b (K,) unless None."""
    N, C = x.shape[:2]
    K, Cg, R, S = w.shape
    G, Kg = groups, K // groups
    P, Q = out_size
    xpad = _padded(x, padding, out_size, (R, S), stride, dilation)
    xg = xpad.reshape((N, G, Cg) + xpad.shape[2:])
    wg = w.reshape(G, Kg, Cg, R, S)
    y = np.zeros((N, G, Kg, P, Q), dtype=x.dtype)
    for r in range(R):
        for s in range(S):
            y += np.einsum("ngcpq,gkc->ngkpq", _window(xg, r, s, out_size, stride, dilation), wg[..., r, s])
    y = y.reshape(N, K, P, Q)
    return y if b is None else y + b.reshape(1, K, 1, 1)


def conv2d_backward(x, w, grad_out, stride, padding, dilation, groups, need_x=True, need_w=True, need_b=True):
    """(grad_x, grad_w, grad_b) of conv2d_forward; each is None unless asked for."""
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    G, Kg = groups, K // groups
    out_size = grad_out.shape[2:]
    ph, pw = padding
    xpad = _padded(x, padding, out_size, (R, S), stride, dilation)
    xg = xpad.reshape((N, G, Cg) + xpad.shape[2:])
    wg = w.reshape(G, Kg, Cg, R, S)
    gy = grad_out.reshape((N, G, Kg) + tuple(out_size))
    gxpad = np.zeros_like(xg) if need_x else None
    gw = np.zeros((G, Kg, Cg, R, S), dtype=x.dtype) if need_w else None
    for r in range(R):
        for s in range(S):
            if need_w:
                gw[..., r, s] = np.einsum("ngcpq,ngkpq->gkc", _window(xg, r, s, out_size, stride, dilation), gy)
            if need_x:
                _window(gxpad, r, s, out_size, stride, dilation)[...] += np.einsum("gkc,ngkpq->ngcpq",
                                                                                  wg[..., r, s], gy)
    gx = gxpad.reshape((N, C) + xpad.shape[2:])[:, :, ph:ph + H, pw:pw + W].copy() if need_x else None
    return gx, (gw.reshape(w.shape) if need_w else None), (grad_out.sum(axis=(0, 2, 3)) if need_b else None)
