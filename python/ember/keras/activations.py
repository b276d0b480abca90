"""Keras' activations by name, on ember's ops.

A softmax or sigmoid output remembers its input (the logits), so that a crossentropy loss given the
probabilities computes from the logits instead, stably, as Keras does.
"""
import weakref

from .. import ops

_LOGITS = {}  # id(probabilities) -> (weak reference to them, the logits they came from)


def _forget(ref, key):
    entry = _LOGITS.get(key)
    if entry is not None and entry[0] is ref:
        del _LOGITS[key]


def remember_logits(out, logits):
    """Record that out = softmax(logits) or sigmoid(logits); the record goes when out does."""
    key = id(out)
    _LOGITS[key] = (weakref.ref(out, lambda r, k=key: _forget(r, k)), logits)
    return out


def logits_of(out, kind):
    """The logits of a softmax/sigmoid output (kind 'softmax' or 'sigmoid'), else None."""
    entry = _LOGITS.get(id(out))
    if entry is None or entry[0]() is not out or entry[1][0] != kind:
        return None
    return entry[1][1]


def softmax(x, axis=-1):
    return remember_logits(ops.softmax(x, axis), ("softmax", x)) if axis in (-1, x.ndim - 1) else ops.softmax(x, axis)


def sigmoid(x):
    return remember_logits(ops.sigmoid(x), ("sigmoid", x))


def relu(x, negative_slope=0.0):
    return ops.relu(x) if negative_slope == 0 else ops.leaky_relu(x, negative_slope)


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def tanh(x):
    return ops.tanh(x)


def gelu(x, approximate=False):
    return ops.gelu(x, approximate="tanh" if approximate else "none")


def linear(x):
    return x


def elu(x, alpha=1.0):
    return ops.where(x > 0, x, (ops.exp(ops.clip(x, None, 0.0)) - 1.0) * alpha)


def selu(x):
    return elu(x, 1.6732632423543772) * 1.0507009873554805


def softplus(x):
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), finite for large |x|
    return ops.relu(x) + ops.log(ops.exp(-ops.abs_(x)) + 1.0)


def softsign(x):
    return x / (ops.abs_(x) + 1.0)


def swish(x):
    return x * ops.sigmoid(x)


def hard_sigmoid(x):
    return ops.clip(x / 6.0 + 0.5, 0.0, 1.0)


def exponential(x):
    return ops.exp(x)


_NAMES = {"softmax": softmax, "sigmoid": sigmoid, "relu": relu, "leaky_relu": leaky_relu, "tanh": tanh,
          "gelu": gelu, "linear": linear, "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign,
          "swish": swish, "silu": swish, "hard_sigmoid": hard_sigmoid, "exponential": exponential}


def get(identifier):
    """The activation function for a Keras name ('relu', 'softmax', ...), None (linear) or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier.lower() not in _NAMES:
            raise ValueError(f"[activations] unknown activation '{identifier}'; known: {', '.join(_NAMES)}")
        return _NAMES[identifier.lower()]
    if callable(identifier):
        return identifier
    raise TypeError(f"[activations] an activation must be a name or callable, got {type(identifier).__name__}")


def name_of(fn):
    return next((k for k, v in _NAMES.items() if v is fn), getattr(fn, "__name__", "custom"))
