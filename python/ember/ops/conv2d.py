"""conv2d over NCHW images: arguments checked and the geometry computed here, once, then one
kernel call forward and one backward (csrc/cpu/conv2d.cpp, csrc/cuda/conv2d.cu)."""
from ..autograd import Function
from ._checks import float_tensor, int64, pair


def conv2d_geometry(x_shape, w_shape, stride, padding, dilation, groups, op="conv2d"):
    """((pad_top, pad_left), (P, Q)) for x (N, C, H, W) and w (K, C/groups, R, S); ValueError naming the shapes."""
    if len(x_shape) != 4:
        raise ValueError(f"[{op}] expected a 4-D input (N, C, H, W), got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(f"[{op}] expected a 4-D weight (out_channels, in_channels/groups, kH, kW), "
                         f"got shape {tuple(w_shape)}")
    N, C, H, W = x_shape
    K, Cg, R, S = w_shape
    if not isinstance(groups, int) or int64(groups, "groups", op) < 1:
        raise ValueError(f"[{op}] groups must be a positive int, got {groups!r}")
    if K % groups:
        raise ValueError(f"[{op}] out_channels {K} (weight {tuple(w_shape)}) is not divisible by groups={groups}")
    if Cg * groups != C:
        raise ValueError(f"[{op}] weight of shape {tuple(w_shape)} with groups={groups} expects input with "
                         f"{Cg * groups} channels, got input of shape {tuple(x_shape)}")
    (sh, sw), (dh, dw) = pair(stride, "stride", op), pair(dilation, "dilation", op)
    if sh < 1 or sw < 1:
        raise ValueError(f"[{op}] stride must be positive, got {stride!r}")
    if dh < 1 or dw < 1:
        raise ValueError(f"[{op}] dilation must be positive, got {dilation!r}")
    if R < 1 or S < 1:
        raise ValueError(f"[{op}] weight of shape {tuple(w_shape)} has an empty kernel")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            if (sh, sw) != (1, 1):
                raise ValueError(f"[{op}] padding='same' needs stride 1, got stride {stride!r}")
            th, tw = dh * (R - 1), dw * (S - 1)  # total padding; the extra row/column goes bottom/right
            pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
        else:
            raise ValueError(f"[{op}] padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    else:
        ph, pw = pair(padding, "padding", op)
        if ph < 0 or pw < 0:
            raise ValueError(f"[{op}] padding must be non-negative, got {padding!r}")
        pads = ((ph, ph), (pw, pw))
    eh, ew = H + sum(pads[0]), W + sum(pads[1])
    kh, kw = dh * (R - 1) + 1, dw * (S - 1) + 1
    if kh > eh or kw > ew:
        raise ValueError(f"[{op}] kernel size ({kh}, {kw}) (dilated) is larger than the padded input ({eh}, {ew}): "
                         f"input {tuple(x_shape)}, weight {tuple(w_shape)}, padding {padding!r}")
    out = ((eh - kh) // sh + 1, (ew - kw) // sw + 1)
    return (pads[0][0], pads[1][0]), out


class Conv2dBackward(Function):
    saved_inputs = (0, 1)

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, out_size=None):
        xp = self.backend.xp
        self.x, self.w = xp.ascontiguousarray(x), xp.ascontiguousarray(w)  # x and w for backward
        self.geometry = stride, padding, dilation, groups
        self.has_bias = b is not None
        return self.backend.ops.conv2d_forward(self.x, self.w, None if b is None else xp.ascontiguousarray(b),
                                               stride, padding, dilation, groups, out_size)

    def backward(self, g):
        gx, gw, gb = self.backend.ops.conv2d_backward(
            self.x, self.w, self.backend.xp.ascontiguousarray(g), *self.geometry,
            need_x=self.needs[0], need_w=self.needs[1], need_b=self.has_bias and self.needs[2])
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) of NCHW images.

    Args:
        input: (N, C, H, W). weight: (K, C // groups, kH, kW). bias: (K,) or None.
        stride, dilation: int or (h, w). padding: int, (h, w), 'valid' or 'same' (stride 1).
        groups: split channels into groups (groups == C with K == C: depthwise).
    Returns:
        (N, K, P, Q) with P = (H + 2 pad - dilation (kH - 1) - 1) // stride + 1.
    Example:
        y = F.conv2d(x, w, b, padding=1)
    """
    op = "conv2d"
    float_tensor(input, "input", op)
    float_tensor(weight, "weight", op, like=input)
    pad_tl, out = conv2d_geometry(input.shape, weight.shape, stride, padding, dilation, groups)
    kw = dict(stride=pair(stride, "stride", op), padding=pad_tl, dilation=pair(dilation, "dilation", op),
              groups=groups, out_size=out)
    if bias is None:
        return Conv2dBackward.apply(input, weight, **kw)
    float_tensor(bias, "bias", op, like=input)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"[{op}] bias of shape {bias.shape} must have shape ({weight.shape[0]},) for weight "
                         f"{weight.shape}")
    return Conv2dBackward.apply(input, weight, bias, **kw)
