"""MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, channels_last by default.

'same' pads as TensorFlow (the odd row/column after); the padding never counts: max pools pad with -inf,
average pools divide by the number of real pixels in each window (a pool of the padded input over a pool
of the padded ones).
"""
from ...creation import ones
from ...nn import functional as F
from .base import Layer
from .conv import check_format, check_padding, pad_nchw, pair, same_pads


class _Pool2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        op = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", op)
        self.strides = self.pool_size if strides is None else pair(strides, "strides", op)
        self.padding, self.data_format = check_padding(padding, op), check_format(data_format, op)

    def call(self, x):
        if x.ndim != 4:
            raise ValueError(f"[{type(self).__name__}] layer '{self.name}' expects 4-D inputs, got shape {x.shape}")
        last = self.data_format == "channels_last"
        x = x.permute(0, 3, 1, 2) if last else x
        pads = (0, 0, 0, 0)
        if self.padding == "same":
            (t, b), (lf, r) = (same_pads(x.shape[2 + i], self.pool_size[i], self.strides[i]) for i in range(2))
            pads = (t, b, lf, r)
        y = self._pool(x, pads)
        return y.permute(0, 2, 3, 1) if last else y


class MaxPooling2D(_Pool2D):
    """The maximum of each pool_size window, moving by strides (pool_size by default)."""

    def _pool(self, x, pads):
        if any(pads):
            x = pad_nchw(x, *pads, value=float("-inf"))
        return F.max_pool2d(x, self.pool_size, self.strides)


class AveragePooling2D(_Pool2D):
    """The mean of each pool_size window, moving by strides (pool_size by default)."""

    def _pool(self, x, pads):
        if not any(pads):
            return F.avg_pool2d(x, self.pool_size, self.strides)
        y = F.avg_pool2d(pad_nchw(x, *pads), self.pool_size, self.strides)
        real = pad_nchw(ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x._backend), *pads)
        return y / F.avg_pool2d(real, self.pool_size, self.strides)


class _GlobalPool2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_format(data_format, type(self).__name__)
        self.keepdims = keepdims

    def call(self, x):
        if x.ndim != 4:
            raise ValueError(f"[{type(self).__name__}] layer '{self.name}' expects 4-D inputs, got shape {x.shape}")
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return self._reduce(x, axes)


class GlobalAveragePooling2D(_GlobalPool2D):
    """(N, H, W, C) -> (N, C): the mean over the rows and columns."""

    def _reduce(self, x, axes):
        return x.mean(axis=axes, keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPool2D):
    """(N, H, W, C) -> (N, C): the maximum over the rows and columns."""

    def _reduce(self, x, axes):
        return x.max(axis=axes, keepdims=self.keepdims)
