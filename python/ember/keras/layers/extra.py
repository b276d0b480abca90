"""Lambda, LayerNormalization, UpSampling2D, ZeroPadding2D, and the merges Multiply, Subtract, Average."""
from ... import ops
from ...nn import functional as F
from .base import Layer
from .conv import check_format, pad_nchw, pair


class Lambda(Layer):
    """Wrap a function of tensors as a layer: layers.Lambda(lambda x: x * 2)."""

    def __init__(self, function, output_shape=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"[Lambda] function must be callable, got {type(function).__name__}")
        self.function = function

    def call(self, x):
        return self.function(x)


class LayerNormalization(Layer):
    """Normalise over the last axis with its mean and (biased) variance, then gamma and beta; epsilon 1e-3."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1,):
            raise ValueError(f"[LayerNormalization] only axis=-1 is supported, got {axis!r}")
        self.epsilon, self.center, self.scale = epsilon, center, scale

    def build(self, input_shape):
        c = (input_shape[-1],)
        if self.scale:
            self.add_weight(c, "ones", name="gamma")
        if self.center:
            self.add_weight(c, "zeros", name="beta")

    def call(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.gamma if self.scale else None, self.beta if self.center else None,
                            eps=self.epsilon)


class UpSampling2D(Layer):
    """Repeat rows and columns size times (nearest neighbour): (N, H, W, C) -> (N, H*sh, W*sw, C)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        if interpolation != "nearest":
            raise ValueError(f"[UpSampling2D] only interpolation='nearest' is supported, got {interpolation!r}")
        self.size = pair(size, "size", "UpSampling2D")
        self.data_format = check_format(data_format, "UpSampling2D")

    def call(self, x):
        if x.ndim != 4:
            raise ValueError(f"[UpSampling2D] expects 4-D inputs, got shape {x.shape}")
        last = self.data_format == "channels_last"
        n, h, w, c = x.shape if last else (x.shape[0], x.shape[2], x.shape[3], x.shape[1])
        sh, sw = self.size
        if last:
            y = x.reshape(n, h, 1, w, 1, c).expand(n, h, sh, w, sw, c)
            return y.reshape(n, h * sh, w * sw, c)
        y = x.reshape(n, c, h, 1, w, 1).expand(n, c, h, sh, w, sw)
        return y.reshape(n, c, h * sh, w * sw)


class ZeroPadding2D(Layer):
    """Add zero rows and columns: padding int, (rows, cols) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int):
            padding = ((padding, padding), (padding, padding))
        elif all(isinstance(p, int) for p in padding):
            padding = ((padding[0], padding[0]), (padding[1], padding[1]))
        self.padding = tuple(tuple(int(a) for a in p) for p in padding)
        if len(self.padding) != 2 or any(len(p) != 2 or min(p) < 0 for p in self.padding):
            raise ValueError(f"[ZeroPadding2D] padding must be non-negative, got {padding!r}")
        self.data_format = check_format(data_format, "ZeroPadding2D")

    def call(self, x):
        if x.ndim != 4:
            raise ValueError(f"[ZeroPadding2D] expects 4-D inputs, got shape {x.shape}")
        last = self.data_format == "channels_last"
        y = pad_nchw(x.permute(0, 3, 1, 2) if last else x, *self.padding[0], *self.padding[1])
        return y.permute(0, 2, 3, 1) if last else y


class _Merge(Layer):
    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"[{type(self).__name__}] needs a list of at least 2 inputs, got {type(inputs).__name__}")
        return self._merge(list(inputs))


class Multiply(_Merge):
    def _merge(self, xs):
        out = xs[0]
        for t in xs[1:]:
            out = out * t
        return out


class Subtract(_Merge):
    def _merge(self, xs):
        if len(xs) != 2:
            raise ValueError(f"[Subtract] needs exactly 2 inputs, got {len(xs)}")
        return xs[0] - xs[1]


class Average(_Merge):
    def _merge(self, xs):
        return ops.stack(xs, dim=0).mean(axis=0)
