"""2-D interpolation of NCHW images (F.interpolate's 'nearest' and 'bilinear'), forward and backward.

Each output row p (column q alike) reads input rows i0, i1 with weights l0, l1, by PyTorch's rules
(aten/src/ATen/native/UpSample.h, CPU):
  nearest:  i0 = i1 = min(floor(p * r), H - 1) in float32, r = 1/scale_h when a scale was given,
            else H/P; P == H is the identity and P == 2H is p // 2. l0 = 1, l1 = 0.
  bilinear: src = r (p + 1/2) - 1/2 clamped at 0, or p (H-1)/(P-1) with align_corners;
            i0 = min(floor(src), H - 1), i1 = i0 + 1 inside the image (else i0), l1 = src - i0
            clamped to [0, 1], l0 = 1 - l1; computed in the data's dtype; P == H is the identity.
y[p, q] = sum of lh lw x[h, w] over the taps; backward adds each gy[p, q] back with the same weights.
scale_h / scale_w: the scale factor the user gave, or 0 for none.
"""
import numpy as np

__all__ = ["interpolate_forward", "interpolate_backward"]


def _taps(n_in, n_out, mode, align_corners, scale, dtype):
    """(i0, i1, l0, l1) for every output index of one axis."""
    o = np.arange(n_out)
    one, zero = np.ones(n_out, dtype), np.zeros(n_out, dtype)
    if n_out == n_in:
        return o, o, one, zero
    if mode == "nearest":
        if n_out == 2 * n_in:
            i = o >> 1
        else:
            r = np.float32(1.0 / scale) if scale > 0 else np.float32(n_in) / np.float32(n_out)
            i = np.minimum(np.floor(o.astype(np.float32) * r).astype(np.int64), n_in - 1)
        return i, i, one, zero
    t = np.dtype(dtype).type
    if align_corners:
        r = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = r * o.astype(dtype)
    else:
        r = t(1.0 / scale) if scale > 0 else t(n_in) / t(n_out)
        src = np.maximum(r * (o.astype(dtype) + t(0.5)) - t(0.5), t(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    l1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    return i0, np.where(i0 < n_in - 1, i0 + 1, i0), (t(1) - l1).astype(dtype), l1


def _both(shape, out_size, mode, align_corners, scale_h, scale_w, dtype):
    (H, W), (P, Q) = shape[2:], out_size
    return (_taps(H, P, mode, align_corners, scale_h, dtype), _taps(W, Q, mode, align_corners, scale_w, dtype))


def interpolate_forward(x, out_size, mode, align_corners, scale_h, scale_w):
    """(N, C, H, W) -> (N, C, P, Q)."""
    (h0, h1, a0, a1), (w0, w1, b0, b1) = _both(x.shape, out_size, mode, align_corners, scale_h, scale_w, x.dtype)
    rows0, rows1 = x[:, :, h0, :], x[:, :, h1, :]
    top = rows0[..., w0] * b0 + rows0[..., w1] * b1
    bottom = rows1[..., w0] * b0 + rows1[..., w1] * b1
    return (a0[:, None] * top + a1[:, None] * bottom).astype(x.dtype)


def interpolate_backward(grad_out, input_shape, mode, align_corners, scale_h, scale_w):
    """grad_out (N, C, P, Q) added back to (N, C, H, W) at the taps, with their weights."""
    N, C, H, W = input_shape
    (h0, h1, a0, a1), (w0, w1, b0, b1) = _both(input_shape, grad_out.shape[2:], mode, align_corners, scale_h,
                                               scale_w, grad_out.dtype)
    gx = np.zeros((N, C, H, W), dtype=grad_out.dtype)
    g = grad_out
    for hi, a in ((h0, a0), (h1, a1)):
        for wi, b in ((w0, b0), (w1, b1)):
            np.add.at(gx, (slice(None), slice(None), hi[:, None], wi[None, :]), g * (a[:, None] * b[None, :]))
    return gx
