"""Dense, Activation, Dropout, Flatten, Reshape, Embedding, LeakyReLU, ReLU, Softmax, Concatenate, Add."""
import math

from ... import ops
from ...nn import functional as F
from .. import activations
from .base import Layer


class Dense(Layer):
    """activation(x @ kernel + bias) on the last axis; kernel (in, units), glorot_uniform; bias zeros.

    Example:
        layers.Dense(64, activation="relu")
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"[Dense] units must be a positive int, got {units!r}")
        self.units, self.use_bias = units, use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"[Dense] the last axis of the input must be known, got shape {input_shape}")
        self.add_weight((input_shape[-1], self.units), self.kernel_initializer, name="kernel",
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight((self.units,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer)

    def call(self, x):
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"[Dense] layer '{self.name}' expects {self.kernel.shape[0]} features on the last "
                             f"axis, got input of shape {x.shape}")
        lead = x.shape[:-1]
        y = x.reshape(-1, x.shape[-1]) @ self.kernel if x.ndim != 2 else x @ self.kernel
        if self.use_bias:
            y = y + self.bias
        if x.ndim != 2:
            y = y.reshape(*lead, self.units)
        return self.activation(y)


class Activation(Layer):
    """Apply an activation by name: layers.Activation('relu')."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x):
        return self.activation(x)


class ReLU(Layer):
    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if threshold != 0.0:
            raise ValueError(f"[ReLU] threshold other than 0 is not supported, got {threshold}")
        self.max_value, self.negative_slope = max_value, negative_slope

    def call(self, x):
        y = activations.relu(x, self.negative_slope)
        return y if self.max_value is None else ops.clip(y, None, float(self.max_value))


class LeakyReLU(Layer):
    """x if x > 0 else negative_slope * x, Keras 3's default slope 0.3 (`alpha=` is the old name)."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope if alpha is None else alpha)

    def call(self, x):
        return ops.leaky_relu(x, self.negative_slope)


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x):
        return activations.softmax(x, self.axis)


class Dropout(Layer):
    """Zero inputs with probability rate in training (fit), scaling the rest by 1 / (1 - rate)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"[Dropout] rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            raise ValueError("[Dropout] noise_shape is not supported")
        self.rate = float(rate)

    def call(self, x):
        return F.dropout(x, self.rate, self.training) if self.rate else x


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), in the channels-last order Keras flattens."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

    def call(self, x):
        return x.reshape(x.shape[0], -1)


class Reshape(Layer):
    """(N, ...) -> (N, *target_shape); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, x):
        per_sample = math.prod(x.shape[1:])
        known = math.prod(s for s in self.target_shape if s != -1)
        if (-1 not in self.target_shape and known != per_sample) or (known == 0 or per_sample % known):
            raise ValueError(f"[Reshape] layer '{self.name}' cannot reshape input of shape {x.shape} "
                             f"to (batch,) + {self.target_shape}")
        return x.reshape(x.shape[0], *self.target_shape)


class Embedding(Layer):
    """Rows of embeddings (input_dim, output_dim) at integer inputs; uniform(-0.05, 0.05) as Keras."""
    _int_inputs = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False, input_length=None,
                 **kwargs):
        super().__init__(**kwargs)
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"[Embedding] {what} must be a positive int, got {v!r}")
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = embeddings_initializer

    def build(self, input_shape):
        self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer, name="embeddings")

    def call(self, x):
        if x.dtype.kind == "f":
            x = x.long()
        return F.embedding(x, self.embeddings)


class Concatenate(Layer):
    """Join a list of inputs along axis (the last by default)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"[Concatenate] needs a list of at least 2 inputs, got {type(inputs).__name__}")
        return ops.cat(list(inputs), dim=self.axis)


class Add(Layer):
    """The elementwise sum of a list of inputs of one shape."""

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"[Add] needs a list of at least 2 inputs, got {type(inputs).__name__}")
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out
