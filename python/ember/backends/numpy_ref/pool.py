"""2-D pooling over NCHW images: max (with argmax indices) and average; forward and backward.

Geometry (computed once by the op layer): kernel (R, S), stride (sh, sw), padding (ph, pw),
dilation (dh, dw) (max only), output (P, Q). Window (p, q) covers input rows
p*sh - ph + r*dh for r < R (columns alike).
  max: y = the largest input inside the image (a NaN wins), idx = its flat index h*W + w in
       the plane (the first one in scan order on ties, the last NaN), -1 for a window wholly in the
       padding (y = -inf, as PyTorch); backward adds grad_out at idx.
  avg: y = window sum / divisor. As PyTorch: the window is clipped to the padded input
       (H + ph rows), that size is the divisor when count_include_pad, else the number of
       input elements inside the image.
"""
import numpy as np

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward"]


def max_pool2d_forward(x, kernel, stride, padding, dilation, out_size):
    """(y, indices int64) of shape (N, C, P, Q)."""
    N, C, H, W = x.shape
    (R, S), (sh, sw), (ph, pw), (dh, dw), (P, Q) = kernel, stride, padding, dilation, out_size
    y = np.full((N, C, P, Q), -np.inf, dtype=x.dtype)
    idx = np.full((N, C, P, Q), -1, dtype=np.int64)
    for p in range(P):
        for q in range(Q):
            for r in range(R):
                h = p * sh - ph + r * dh
                if not 0 <= h < H:
                    continue
                for s in range(S):
                    w = q * sw - pw + s * dw
                    if not 0 <= w < W:
                        continue
                    v = x[:, :, h, w]
                    take = (v > y[:, :, p, q]) | np.isnan(v) | (idx[:, :, p, q] < 0)
                    y[:, :, p, q] = np.where(take, v, y[:, :, p, q])
                    idx[:, :, p, q] = np.where(take, h * W + w, idx[:, :, p, q])
    return y, idx


def max_pool2d_backward(indices, grad_out, input_shape, kernel, stride, padding, dilation):
    """grad_out added at each output's argmax (the geometry is unused: the indices carry it).
    A window wholly in the padding has no input (index -1): its gradient goes nowhere."""
    N, C, H, W = input_shape
    gx = np.zeros((N * C, H * W), dtype=grad_out.dtype)
    flat = indices.reshape(N * C, indices.shape[2] * indices.shape[3])
    rows = np.broadcast_to(np.arange(N * C)[:, None], flat.shape)
    inside = (flat >= 0) & (flat < H * W)
    np.add.at(gx, (rows[inside], flat[inside]), grad_out.reshape(flat.shape)[inside])
    return gx.reshape(input_shape)


def _avg_windows(H, W, kernel, stride, padding, count_include_pad, out_size):
    """[(p, q, h0, h1, w0, w1, divisor)] of every output position."""
    (R, S), (sh, sw), (ph, pw), (P, Q) = kernel, stride, padding, out_size
    out = []
    for p in range(P):
        for q in range(Q):
            h0, w0 = p * sh - ph, q * sw - pw
            h1, w1 = min(h0 + R, H + ph), min(w0 + S, W + pw)
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            out.append((p, q, h0, h1, w0, w1, size if count_include_pad else (h1 - h0) * (w1 - w0)))
    return out


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad, out_size):
    N, C, H, W = x.shape
    y = np.zeros((N, C) + tuple(out_size), dtype=x.dtype)
    for p, q, h0, h1, w0, w1, div in _avg_windows(H, W, kernel, stride, padding, count_include_pad, out_size):
        y[:, :, p, q] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / div
    return y


def avg_pool2d_backward(grad_out, input_shape, kernel, stride, padding, count_include_pad):
    N, C, H, W = input_shape
    gx = np.zeros(input_shape, dtype=grad_out.dtype)
    for p, q, h0, h1, w0, w1, div in _avg_windows(H, W, kernel, stride, padding, count_include_pad,
                                                  grad_out.shape[2:]):
        gx[:, :, h0:h1, w0:w1] += (grad_out[:, :, p, q] / div)[:, :, None, None]
    return gx
