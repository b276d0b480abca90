"""Conv2D and Conv2DTranspose, channels_last by default: NHWC inputs are permuted around ember's NCHW
kernels; kernels are stored in Keras' layouts ((kh, kw, in, filters) and (kh, kw, filters, in))."""
from ... import ops
from ...creation import full
from ...nn import functional as F
from .. import activations
from .base import Layer


def pair(v, what, op):
    t = (v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 2 or not all(isinstance(a, int) and a >= 1 for a in t):
        raise ValueError(f"[{op}] {what} must be a positive int or a pair of them, got {v!r}")
    return t


def check_padding(padding, op):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"[{op}] padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


def check_format(data_format, op):
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"[{op}] data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def same_pads(size, k, s, d=1):
    """(before, after) padding of 'same' as TensorFlow: output ceil(size / s), the odd pixel after."""
    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def pad_nchw(x, top, bottom, left, right, value=0.0):
    """x (N, C, H, W) with constant rows and columns added around it."""
    n, c, h, w = x.shape
    be, dt = x._backend, x.dtype
    if top or bottom:
        parts = ([full((n, c, top, w), value, dtype=dt, device=be)] if top else []) + [x] + \
                ([full((n, c, bottom, w), value, dtype=dt, device=be)] if bottom else [])
        x = ops.cat(parts, dim=2)
    h = x.shape[2]
    if left or right:
        parts = ([full((n, c, h, left), value, dtype=dt, device=be)] if left else []) + [x] + \
                ([full((n, c, h, right), value, dtype=dt, device=be)] if right else [])
        x = ops.cat(parts, dim=3)
    return x


class _Conv(Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        op = type(self).__name__
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"[{op}] filters must be a positive int, got {filters!r}")
        self.filters, self.groups = filters, groups
        self.kernel_size = pair(kernel_size, "kernel_size", op)
        self.strides = pair(strides, "strides", op)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", op)
        self.padding, self.data_format = check_padding(padding, op), check_format(data_format, op)
        self.activation, self.use_bias = activations.get(activation), use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def _channels(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"[{type(self).__name__}] expects 4-D inputs (batch, rows, cols, channels), "
                             f"got shape {input_shape}")
        c = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if c is None:
            raise ValueError(f"[{type(self).__name__}] the channel axis must be known, got shape {input_shape}")
        return c

    def _to_nchw(self, x):
        if x.ndim != 4:
            raise ValueError(f"[{type(self).__name__}] layer '{self.name}' expects 4-D inputs, got shape {x.shape}")
        return x.permute(0, 3, 1, 2) if self.data_format == "channels_last" else x

    def _from_nchw(self, y):
        """Activation, then back to channels_last; an elementwise activation runs before the permute, on the
        kernel's contiguous output (softmax needs the channels last)."""
        if self.activation is not activations.softmax:
            y = self.activation(y)
        y = y.permute(0, 2, 3, 1) if self.data_format == "channels_last" else y
        return self.activation(y) if self.activation is activations.softmax else y


class Conv2D(_Conv):
    """2-D convolution; padding 'valid' or 'same' (TensorFlow's: the odd padding row/column goes after).

    Example:
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu")
    """

    def build(self, input_shape):
        c = self._channels(input_shape)
        if c % self.groups or self.filters % self.groups:
            raise ValueError(f"[Conv2D] channels {c} and filters {self.filters} must divide by groups {self.groups}")
        self.add_weight(self.kernel_size + (c // self.groups, self.filters), self.kernel_initializer, name="kernel",
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight((self.filters,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer)

    def call(self, x):
        x = self._to_nchw(x)
        w = self.kernel.permute(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
        pad = 0
        if self.padding == "same":
            (t, b), (lf, r) = (same_pads(x.shape[2 + i], self.kernel_size[i], self.strides[i], self.dilation_rate[i])
                               for i in range(2))
            if (t, lf) == (b, r):
                pad = (t, lf)
            else:
                x = pad_nchw(x, t, b, lf, r)
        y = F.conv2d(x, w, self.bias if self.use_bias else None, self.strides, pad, self.dilation_rate, self.groups)
        return self._from_nchw(y)


def transpose_crops(k, s, d, padding, output_padding):
    """(crop before, crop after) of the full transposed-convolution output ((n - 1) s + k rows) that gives
    Keras' result (TensorFlow's and JAX's): 'same' keeps n * s rows, the odd one cropped after; 'valid' keeps
    (n - 1) s + max(k, s); a negative crop is zero rows added."""
    k = (k - 1) * d + 1
    if padding == "valid":
        return 0, -(max(k, s) - k if output_padding is None else output_padding)
    pad = s + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
    left = min(pad // 2 + pad % 2, k - 1)
    return k - 1 - left, k - 1 - (pad - left)


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution; 'same' gives rows * strides; kernel (kh, kw, filters, in_channels).

    Example:
        layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            op = (output_padding,) * 2 if isinstance(output_padding, int) else tuple(output_padding)
            if len(op) != 2 or any(not isinstance(a, int) or not 0 <= a < max(s, d) for a, s, d in
                                   zip(op, self.strides, self.dilation_rate)):
                raise ValueError(f"[Conv2DTranspose] output_padding must be ints in [0, stride), got "
                                 f"{output_padding!r} for strides {self.strides}")
            self.output_padding = op

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.add_weight(self.kernel_size + (self.filters, c), self.kernel_initializer, name="kernel",
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight((self.filters,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer)

    def call(self, x):
        x = self._to_nchw(x)
        w = self.kernel.permute(3, 2, 0, 1)  # (kh, kw, out, in) -> (in, out, kh, kw), PyTorch's layout
        crops = [transpose_crops(self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding,
                                 None if self.output_padding is None else self.output_padding[i]) for i in range(2)]
        # PyTorch's padding is symmetric: run it unpadded, rows added after by output_padding, then crop
        extra = tuple(max(-after, 0) for _, after in crops)
        y = F.conv_transpose2d(x, w, self.bias if self.use_bias else None, self.strides, 0, extra, 1,
                               self.dilation_rate)
        (t, b), (lf, r) = crops
        y = y[:, :, t:y.shape[2] - max(b, 0), lf:y.shape[3] - max(r, 0)]
        return self._from_nchw(y)
