"""Conv2d: PyTorch's names, shapes and initialisation (weight (out, in/groups, kH, kW))."""
import math

from ..creation import empty
from ..ops.conv2d import conv2d, pair
from . import init
from .module import Module
from .parameter import Parameter


def reset_conv_parameters(weight, bias):
    """PyTorch's initialisation of a convolution (transposed or not): fan_in is weight.shape[1] * kH * kW."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Conv2d(Module):
    """2-D convolution over (N, C, H, W) images.

    Example:
        conv = em.nn.Conv2d(1, 32, 3, padding=1)
        y = conv(x)    # (N, 32, H, W)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        op = "Conv2d"
        if padding_mode != "zeros":
            raise NotImplementedError(f"[{op}] padding_mode {padding_mode!r} is not supported (only 'zeros')")
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"[{op}] groups must be a positive int, got {groups!r}")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"[{op}] in_channels and out_channels must be positive, got {in_channels} and "
                             f"{out_channels}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"[{op}] in_channels {in_channels} and out_channels {out_channels} must be divisible "
                             f"by groups={groups}")
        self.kernel_size = pair(kernel_size, "kernel_size", op)
        self.stride, self.dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(f"[{op}] kernel_size, stride and dilation must be positive, got {kernel_size!r}, "
                             f"{stride!r}, {dilation!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"[{op}] padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"[{op}] padding='same' needs stride 1, got {stride!r}")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", op)
            if min(self.padding) < 0:
                raise ValueError(f"[{op}] padding must be non-negative, got {padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size, device=device,
                                      dtype=dtype))
        self.bias = Parameter(empty(out_channels, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        reset_conv_parameters(self.weight, self.bias)

    def forward(self, x):
        if getattr(x, "ndim", None) != 4:
            raise ValueError(f"[Conv2d] expected a 4-D input (N, C, H, W), got shape {getattr(x, 'shape', None)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"[Conv2d] expected input with {self.in_channels} channels, got input of shape {x.shape}")
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
