"""conv_transpose2d over NCHW images (the adjoint of conv2d, PyTorch's semantics): arguments
checked and the geometry computed here, once, then one kernel call forward and one backward
(csrc/cpu/conv_transpose2d.cpp, csrc/cuda/conv_transpose2d.cu)."""
from ..autograd import Function
from ._checks import float_tensor, int64, pair


def conv_transpose2d_geometry(x_shape, w_shape, stride, padding, output_padding, dilation, groups,
                              op="conv_transpose2d"):
    """((stride, padding, dilation) as (h, w) pairs, (Ho, Wo)) for x (N, C_in, H, W) and
    w (C_in, C_out/groups, R, S); ValueError naming the shapes.

    Ho = (H - 1) * stride - 2 * padding + dilation * (R - 1) + output_padding + 1 (and Wo alike)."""
    if len(x_shape) != 4:
        raise ValueError(f"[{op}] expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(f"[{op}] expected a 4-D weight (in_channels, out_channels/groups, kH, kW), "
                         f"got shape {tuple(w_shape)}")
    N, C, H, W = x_shape
    Ci, Cog, R, S = w_shape
    if not isinstance(groups, int) or isinstance(groups, bool) or int64(groups, "groups", op) < 1:
        raise ValueError(f"[{op}] groups must be a positive int, got {groups!r}")
    if Ci != C:
        raise ValueError(f"[{op}] weight of shape {tuple(w_shape)} expects input with {Ci} channels, got input "
                         f"of shape {tuple(x_shape)}")
    if Ci % groups:
        raise ValueError(f"[{op}] in_channels {Ci} (weight {tuple(w_shape)}) is not divisible by groups={groups}")
    if min(Ci, Cog, R, S) < 1:
        raise ValueError(f"[{op}] weight of shape {tuple(w_shape)} is empty")
    if H < 1 or W < 1:
        raise ValueError(f"[{op}] input of shape {tuple(x_shape)} has an empty image")
    st, pad = pair(stride, "stride", op), pair(padding, "padding", op)
    dil, extra = pair(dilation, "dilation", op), pair(output_padding, "output_padding", op)
    if min(st) < 1:
        raise ValueError(f"[{op}] stride must be positive, got {stride!r}")
    if min(dil) < 1:
        raise ValueError(f"[{op}] dilation must be positive, got {dilation!r}")
    if min(pad) < 0:
        raise ValueError(f"[{op}] padding must be non-negative, got {padding!r}")
    if min(extra) < 0 or any(e >= max(s, d) for e, s, d in zip(extra, st, dil)):
        raise ValueError(f"[{op}] output_padding {output_padding!r} must be non-negative and smaller than either "
                         f"stride {stride!r} or dilation {dilation!r}")
    out = tuple((i - 1) * s - 2 * p + d * (k - 1) + e + 1
                for i, s, p, d, k, e in zip((H, W), st, pad, dil, (R, S), extra))
    if min(out) < 1:
        raise ValueError(f"[{op}] output size {out} is too small: input {tuple(x_shape)}, weight {tuple(w_shape)}, "
                         f"stride {stride!r}, padding {padding!r}, dilation {dilation!r}")
    if max(N, 1) * Cog * groups * out[0] * out[1] >= 1 << 60:  # no array that large can be allocated
        raise ValueError(f"[{op}] output of {out[0]} x {out[1]} images is too large: input {tuple(x_shape)}, "
                         f"weight {tuple(w_shape)}, stride {stride!r}, dilation {dilation!r}")
    return (st, pad, dil), out


class ConvTranspose2dBackward(Function):
    saved_inputs = (0, 1)

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out_size=None):
        xp = self.backend.xp
        self.x, self.w = xp.ascontiguousarray(x), xp.ascontiguousarray(w)  # x and w for backward
        self.geometry = stride, padding, dilation, groups
        self.has_bias = b is not None
        return self.backend.ops.conv_transpose2d_forward(
            self.x, self.w, None if b is None else xp.ascontiguousarray(b), stride, padding, dilation, groups, out_size)

    def backward(self, g):
        gx, gw, gb = self.backend.ops.conv_transpose2d_backward(
            self.x, self.w, self.backend.xp.ascontiguousarray(g), *self.geometry,
            need_x=self.needs[0], need_w=self.needs[1], need_b=self.has_bias and self.needs[2])
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input, as PyTorch) of NCHW images.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W). weight: (C_in, C_out // groups, kH, kW).
        bias: (C_out,) or None. stride, padding, output_padding, dilation: int or (h, w);
        output_padding (< max(stride, dilation)) adds rows/columns at the bottom/right.
        groups: split the channels into groups.
    Returns:
        (N, C_out, Ho, Wo) with Ho = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.
    Example:
        y = F.conv_transpose2d(x, w, stride=2, padding=1)   # 4x4 kernel: doubles H and W
    """
    op = "conv_transpose2d"
    float_tensor(input, "input", op)
    float_tensor(weight, "weight", op, like=input)
    if input.ndim == 3:  # unbatched, as PyTorch
        y = conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)
        return y.squeeze(0)
    (st, pad, dil), out = conv_transpose2d_geometry(input.shape, weight.shape, stride, padding, output_padding,
                                                    dilation, groups)
    kw = dict(stride=st, padding=pad, dilation=dil, groups=groups, out_size=out)
    if bias is None:
        return ConvTranspose2dBackward.apply(input, weight, **kw)
    float_tensor(bias, "bias", op, like=input)
    c_out = weight.shape[1] * groups
    if bias.shape != (c_out,):
        raise ValueError(f"[{op}] bias of shape {bias.shape} must have shape ({c_out},) for weight {weight.shape} "
                         f"and groups={groups}")
    return ConvTranspose2dBackward.apply(input, weight, bias, **kw)
