"""interpolate over NCHW images ('nearest' and 'bilinear', as torch.nn.functional.interpolate):
the output size and the scales are worked out here by PyTorch's rules, then one kernel call."""
import math
import numbers

from ..autograd import Function
from ._checks import float_tensor, int64

MODES = ("nearest", "bilinear")


class InterpolateBackward(Function):
    def forward(self, x, out_size, mode, align_corners, scales):
        self.x_shape, self.args = x.shape, (mode, align_corners, *scales)
        return self.backend.ops.interpolate_forward(self.backend.xp.ascontiguousarray(x), out_size, *self.args)

    def backward(self, g):
        return (self.backend.ops.interpolate_backward(self.backend.xp.ascontiguousarray(g), self.x_shape,
                                                      *self.args),)


def _two(v, name, kind, op):
    """v (one value or a pair) as a pair, each checked to be a kind (int or real number)."""
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(vals) != 2:
        raise ValueError(f"[{op}] {name} must be one value or a pair for a 4-D input (N, C, H, W), got {v!r}")
    for x in vals:
        if isinstance(x, bool) or not isinstance(x, kind):
            raise TypeError(f"[{op}] {name} must be {'ints' if kind is numbers.Integral else 'numbers'}, got {v!r}")
    return vals


def check_args(size, scale_factor, mode, align_corners, recompute_scale_factor, op="interpolate"):
    """The arguments alone, as PyTorch checks them: ((h, w) or None, (sh, sw) or None)."""
    if mode not in MODES:
        raise ValueError(f"[{op}] mode must be one of {MODES} (for 4-D inputs), got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"[{op}] align_corners option can only be set with the interpolating modes "
                         f"(bilinear), got align_corners={align_corners!r} with mode 'nearest'")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"[{op}] exactly one of size and scale_factor must be given, got size={size!r} and "
                         f"scale_factor={scale_factor!r}")
    if recompute_scale_factor and size is not None:
        raise ValueError(f"[{op}] recompute_scale_factor is not meaningful with an explicit size")
    if size is not None:
        out = tuple(int(int64(v, "size", op)) for v in _two(size, "size", numbers.Integral, op))
        if min(out) < 1:
            raise ValueError(f"[{op}] size must be positive, got {size!r}")
        return out, None
    scales = tuple(float(v) for v in _two(scale_factor, "scale_factor", numbers.Real, op))
    if not all(0 < v < math.inf for v in scales):
        raise ValueError(f"[{op}] scale_factor must be positive and finite, got {scale_factor!r}")
    return None, scales


def interp_geometry(shape, size, scale_factor, mode, align_corners, recompute_scale_factor, op="interpolate"):
    """(out_size, align_corners, scales) as PyTorch computes them: scales are the factors handed to
    the kernel (0 = none: the size ratio is used)."""
    out, scales = check_args(size, scale_factor, mode, align_corners, recompute_scale_factor, op)
    if len(shape) != 4:
        raise ValueError(f"[{op}] expected a 4-D input (N, C, H, W), got shape {tuple(shape)}")
    H, W = shape[2:]
    if out is None:
        out = (math.floor(H * scales[0]), math.floor(W * scales[1]))
        if recompute_scale_factor:
            scales = None
    if min(H, W) < 1 or min(out) < 1:
        raise ValueError(f"[{op}] input and output sizes should be greater than 0, got input {tuple(shape)} and "
                         f"output size {out}")
    int64(shape[0] * shape[1] * out[0] * out[1], "output element count", op)
    return out, bool(align_corners) if mode == "bilinear" else False, scales or (0.0, 0.0)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resizes (N, C, H, W) images to `size` or by `scale_factor`, as PyTorch's F.interpolate.

    Args:
        input: (N, C, H, W). size: int or (h, w). scale_factor: number or (sh, sw); the output is
        floor(H * sh) and the kernel maps by 1 / sh unless recompute_scale_factor. mode: 'nearest' or
        'bilinear'. align_corners: bilinear only (default False).
    Returns:
        (N, C, h, w).
    Example:
        y = F.interpolate(x, scale_factor=2, mode="bilinear")
    """
    op = "interpolate"
    x = float_tensor(input, "input", op)
    out, align, scales = interp_geometry(x.shape, size, scale_factor, mode, align_corners, recompute_scale_factor, op)
    return InterpolateBackward.apply(x, out_size=out, mode=mode, align_corners=align, scales=scales)
