"""Upsample, UpsamplingNearest2d and UpsamplingBilinear2d (PyTorch's arguments) over F.interpolate."""
from ..ops.interpolate import check_args, interpolate
from .module import Module


class Upsample(Module):
    """Resizes (N, C, H, W) images to `size` or by `scale_factor` ('nearest' or 'bilinear').

    Example:
        up = nn.Upsample(scale_factor=2, mode="bilinear")
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        check_args(size, scale_factor, mode, align_corners, recompute_scale_factor, type(self).__name__)
        self.size = size
        self.scale_factor = (tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (tuple, list))
                             else None if scale_factor is None else float(scale_factor))
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, x):
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor)

    def extra_repr(self):
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear with align_corners=True, as PyTorch's."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
