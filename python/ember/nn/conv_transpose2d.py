"""ConvTranspose2d: PyTorch's names, shapes and initialisation (weight (in, out/groups, kH, kW))."""

from ..creation import empty
from ..ops.conv_transpose2d import conv_transpose2d, pair
from .conv import reset_conv_parameters
from .module import Module
from .parameter import Parameter


class ConvTranspose2d(Module):
    """2-D transposed convolution over (N, C, H, W) or unbatched (C, H, W) images.

    Example:
        up = em.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        y = up(x)                           # (N, 32, 2H, 2W)
        y = up(x, output_size=(2 * H + 1, 2 * W + 1))   # picks the output padding
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        op = "ConvTranspose2d"
        if padding_mode != "zeros":
            raise ValueError(f"[{op}] only padding_mode 'zeros' is supported, got {padding_mode!r}")
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            raise ValueError(f"[{op}] groups must be a positive int, got {groups!r}")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"[{op}] in_channels and out_channels must be positive, got {in_channels} and "
                             f"{out_channels}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"[{op}] in_channels {in_channels} and out_channels {out_channels} must be divisible "
                             f"by groups={groups}")
        self.kernel_size = pair(kernel_size, "kernel_size", op)
        self.stride, self.dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
        self.padding, self.output_padding = pair(padding, "padding", op), pair(output_padding, "output_padding", op)
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(f"[{op}] kernel_size, stride and dilation must be positive, got {kernel_size!r}, "
                             f"{stride!r}, {dilation!r}")
        if min(self.padding) < 0 or min(self.output_padding) < 0:
            raise ValueError(f"[{op}] padding and output_padding must be non-negative, got {padding!r} and "
                             f"{output_padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(in_channels, out_channels // groups, *self.kernel_size, device=device,
                                      dtype=dtype))
        self.bias = Parameter(empty(out_channels, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        reset_conv_parameters(self.weight, self.bias)  # fan_in here is out_channels/groups * kH * kW, as PyTorch

    def _output_padding(self, x, output_size):
        """The output padding that gives output_size ((H, W), or with the leading dims), as PyTorch's."""
        if output_size is None:
            return self.output_padding
        lead = x.ndim - 2
        size = tuple(output_size)
        if len(size) == lead + 2:
            size = size[lead:]
        if len(size) != 2 or not all(isinstance(s, int) for s in size):
            raise ValueError(f"[ConvTranspose2d] output_size must have 2 or {lead + 2} ints for a {x.ndim}-D input, "
                             f"got {output_size!r}")
        low = tuple((x.shape[lead + i] - 1) * self.stride[i] - 2 * self.padding[i]
                    + self.dilation[i] * (self.kernel_size[i] - 1) + 1 for i in range(2))
        high = tuple(m + s - 1 for m, s in zip(low, self.stride))
        if any(not lo <= s <= hi for s, lo, hi in zip(size, low, high)):
            raise ValueError(f"[ConvTranspose2d] requested an output size of {size}, but valid sizes range from "
                             f"{low} to {high} (for an input of shape {x.shape})")
        return tuple(s - lo for s, lo in zip(size, low))

    def forward(self, x, output_size=None):
        if getattr(x, "ndim", None) not in (3, 4):
            raise ValueError(f"[ConvTranspose2d] expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                             f"{getattr(x, 'shape', None)}")
        if x.shape[-3] != self.in_channels:
            raise ValueError(f"[ConvTranspose2d] expected input with {self.in_channels} channels, got input of shape "
                             f"{x.shape}")
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(x, output_size), self.groups, self.dilation)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
