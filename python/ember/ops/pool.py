"""max_pool2d, avg_pool2d and adaptive_avg_pool2d over NCHW images: arguments checked and the
output size computed here (PyTorch's rules, ceil_mode included), then one kernel call."""
import numpy as np

from ..autograd import Function
from ..tensor import tensor
from ._checks import float_tensor, pair


def _out_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape: the span floor-divided (toward -inf) by the stride, rounded up in
    ceil_mode, where the last window must still start inside the input or its left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def pool_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode, op):
    """(kernel, stride, padding, dilation, out_size), each a pair, as PyTorch computes them; ValueError
    where PyTorch refuses (naming the shapes)."""
    if len(x_shape) != 4:
        raise ValueError(f"[{op}] expected a 4-D input (N, C, H, W) (or 3-D (C, H, W)), got shape {tuple(x_shape)}")
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else pair(stride, "stride", op)
    p, d = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if min(k) < 1:
        raise ValueError(f"[{op}] kernel_size must be positive, got {kernel_size!r}")
    if min(s) < 1:
        raise ValueError(f"[{op}] stride must be positive, got {stride!r}")
    if min(d) < 1:
        raise ValueError(f"[{op}] dilation must be positive, got {dilation!r}")
    if min(p) < 0 or 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError(f"[{op}] padding {padding!r} must be between 0 and half the kernel size {k}")
    if min(x_shape[1:]) < 1:
        raise ValueError(f"[{op}] input of shape {tuple(x_shape)} has no channels or an empty plane")
    H, W = x_shape[2:]
    out = (_out_size(H, k[0], s[0], p[0], d[0], ceil_mode), _out_size(W, k[1], s[1], p[1], d[1], ceil_mode))
    if min(out) < 1:
        eff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
        raise ValueError(f"[{op}] output size {out} is too small: window {eff} is larger than the padded input "
                         f"({H + 2 * p[0]}, {W + 2 * p[1]}) of input shape {tuple(x_shape)}")
    return k, s, p, d, out


def _nchw(x, op):
    float_tensor(x, "input", op)
    if x.ndim == 3:
        return x.unsqueeze(0), True
    return x, False


class MaxPool2dBackward(Function):
    """Outputs (y, indices); the int64 argmax indices get no gradient, and backward reads them."""
    non_differentiable = (1,)
    saved_output = (1,)

    def forward(self, x, kernel, stride, padding, dilation, out_size):
        self.x_shape, self.geometry = x.shape, (kernel, stride, padding, dilation)
        y, self.idx = self.backend.ops.max_pool2d_forward(self.backend.xp.ascontiguousarray(x), kernel, stride,
                                                          padding, dilation, out_size)
        return y, self.idx

    def backward(self, g, _g_indices):
        return (self.backend.ops.max_pool2d_backward(self.idx, self.backend.xp.ascontiguousarray(g), self.x_shape,
                                                     *self.geometry),)


class AvgPool2dBackward(Function):
    def forward(self, x, kernel, stride, padding, count_include_pad, out_size):
        self.x_shape, self.geometry = x.shape, (kernel, stride, padding, count_include_pad)
        return self.backend.ops.avg_pool2d_forward(self.backend.xp.ascontiguousarray(x), kernel, stride, padding,
                                                   count_include_pad, out_size)

    def backward(self, g):
        return (self.backend.ops.avg_pool2d_backward(self.backend.xp.ascontiguousarray(g), self.x_shape,
                                                     *self.geometry),)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling; the gradient flows to each window's argmax.

    Args:
        input: (N, C, H, W) or (C, H, W). kernel_size, stride (default: kernel_size), padding
        (at most half the kernel, -inf), dilation: int or (h, w). ceil_mode: round the output size up.
        return_indices: also return the int64 argmax indices (h * W + w in each plane).
    Returns:
        (N, C, P, Q) [, indices].
    Example:
        y = F.max_pool2d(x, 2)
    """
    op = "max_pool2d"
    x, unbatched = _nchw(input, op)
    k, s, p, d, out = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, op)
    y, idx = MaxPool2dBackward.apply(x, kernel=k, stride=s, padding=p, dilation=d, out_size=out)
    if unbatched:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return (y, idx) if return_indices else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling (PyTorch's divisor rules for padding and ceil_mode).

    Example:
        y = F.avg_pool2d(x, 2, count_include_pad=False)
    """
    op = "avg_pool2d"
    if divisor_override is not None:
        raise NotImplementedError(f"[{op}] divisor_override is not supported")
    x, unbatched = _nchw(input, op)
    k, s, p, _, out = pool_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode, op)
    y = AvgPool2dBackward.apply(x, kernel=k, stride=s, padding=p, count_include_pad=bool(count_include_pad),
                                out_size=out)
    return y.squeeze(0) if unbatched else y


def _adaptive_matrix(n_in, n_out, like):
    """(n_out, n_in) averaging matrix of PyTorch's adaptive windows [floor(i n/o), ceil((i+1) n/o))."""
    a = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return tensor(a, dtype=like.dtype, device=like._backend)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (each an int or None = keep the input's).

    Sizes that divide the input run the avg_pool2d kernel (output 1 x 1 included); others
    are two small averaging matmuls, A_h @ x @ A_w^T.

    Example:
        y = F.adaptive_avg_pool2d(x, 1)   # global average pooling, (N, C, 1, 1)
    """
    op = "adaptive_avg_pool2d"
    x, unbatched = _nchw(input, op)
    if x.ndim != 4:
        raise ValueError(f"[{op}] expected a 4-D input (N, C, H, W) (or 3-D), got shape {input.shape}")
    H, W = x.shape[2:]
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        oh, ow = (H if output_size[0] is None else output_size[0]), (W if output_size[1] is None else output_size[1])
    else:
        oh, ow = pair(output_size, "output_size", op)
    if oh < 1 or ow < 1:
        raise ValueError(f"[{op}] output_size must be positive, got {output_size!r}")
    if H < 1 or W < 1:
        raise ValueError(f"[{op}] input of shape {tuple(input.shape)} has an empty plane")
    if H % oh == 0 and W % ow == 0:
        k = (H // oh, W // ow)
        y = AvgPool2dBackward.apply(x, kernel=k, stride=k, padding=(0, 0), count_include_pad=True, out_size=(oh, ow))
    else:
        y = _adaptive_matrix(H, oh, x) @ x @ _adaptive_matrix(W, ow, x).T
    return y.squeeze(0) if unbatched else y
