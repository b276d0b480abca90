"""Keras' losses: functions loss(y_true, y_pred) -> one value per sample, and Loss classes that average them.

Crossentropies take probabilities (from_logits=False, Keras' default), clipped to [1e-7, 1 - 1e-7]; when the
probabilities come straight from a softmax/sigmoid layer the loss is computed from its logits instead
(ember's fused cross-entropy kernel), stably, as Keras does.

    loss = keras.losses.SparseCategoricalCrossentropy()
    value = loss(y_true, y_pred)         # a scalar tensor
"""
import numpy as np

from .. import ops
from ..nn import functional as F
from ..tensor import Tensor, tensor
from .activations import logits_of

EPSILON = 1e-7


def _as_tensor(y, like, name, integer=False):
    if not isinstance(y, Tensor):
        y = np.asarray(y)
        y = tensor(y if integer else y.astype(like.dtype), device=like._backend)
    elif not integer and y.dtype != like.dtype:
        y = y.astype(like.dtype)
    return y


def _align(y_true, y_pred, name):
    """Keras' rank matching: (N,) targets for (N, 1) outputs and the reverse; then the shapes must agree."""
    y_true = _as_tensor(y_true, y_pred, name)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1)
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"[{name}] y_true of shape {tuple(y_true.shape)} does not match y_pred of shape "
                         f"{tuple(y_pred.shape)}")
    return y_true


def _last_mean(x):
    return x.mean(axis=-1) if x.ndim >= 2 else x


def mean_squared_error(y_true, y_pred):
    y_true = _align(y_true, y_pred, "mean_squared_error")
    return _last_mean((y_pred - y_true) ** 2)


def mean_absolute_error(y_true, y_pred):
    y_true = _align(y_true, y_pred, "mean_absolute_error")
    return _last_mean(ops.abs_(y_pred - y_true))


def huber(y_true, y_pred, delta=1.0):
    y_true = _align(y_true, y_pred, "huber")
    return _last_mean(F.huber_loss(y_pred, y_true, reduction="none", delta=delta))


def _labels(y_true, y_pred, name):
    """Integer class labels of shape y_pred.shape[:-1], checked against the number of classes."""
    y = y_true.numpy() if isinstance(y_true, Tensor) else np.asarray(y_true)
    if y.ndim == y_pred.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"[{name}] labels of shape {y.shape} do not match y_pred of shape {tuple(y_pred.shape)}")
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError(f"[{name}] labels must be integers, got float values")
    y = y.astype(np.int64)
    c = y_pred.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= c):
        raise ValueError(f"[{name}] labels must be in [0, {c}), got values in [{y.min()}, {y.max()}]")
    return y


def _log_probs(y_pred, from_logits):
    """log of the class probabilities along the last axis: from logits, a softmax's logits, or clipped
    probabilities normalised to sum to one (as Keras)."""
    logits = y_pred if from_logits else logits_of(y_pred, "softmax")
    if logits is not None:
        return F.log_softmax(logits, dim=-1)
    p = y_pred / y_pred.sum(axis=-1, keepdims=True)
    return ops.log(ops.clip(p, EPSILON, 1.0 - EPSILON))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """-log p[label] per sample; y_true integer labels (N,) or (N, 1), y_pred (N, classes)."""
    name = "sparse_categorical_crossentropy"
    labels = _labels(y_true, y_pred, name)
    c = y_pred.shape[-1]
    logits = y_pred if from_logits else logits_of(y_pred, "softmax")
    if logits is not None:  # the fused cross-entropy kernel
        target = tensor(labels.reshape(-1), device=y_pred._backend)
        return F.cross_entropy(logits.reshape(-1, c), target, reduction="none").reshape(*labels.shape)
    onehot = tensor(np.eye(c, dtype=y_pred.dtype)[labels], device=y_pred._backend)
    return -(onehot * _log_probs(y_pred, False)).sum(axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log p) per sample; y_true one-hot (or probabilities) of y_pred's shape."""
    y_true = _as_tensor(y_true, y_pred, "categorical_crossentropy")
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"[categorical_crossentropy] y_true of shape {tuple(y_true.shape)} does not match "
                         f"y_pred of shape {tuple(y_pred.shape)} (integer labels need "
                         "sparse_categorical_crossentropy)")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
    return -(y_true * _log_probs(y_pred, from_logits)).sum(axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-(y log p + (1 - y) log(1 - p)), averaged over the last axis."""
    y_true = _align(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logits = y_pred if from_logits else logits_of(y_pred, "sigmoid")
    if logits is not None:
        return _last_mean(F.binary_cross_entropy_with_logits(logits, y_true, reduction="none"))
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return _last_mean(-(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p)))


class Loss:
    """Base class: per-sample values from fn, then the reduction ('sum_over_batch_size', the mean, by default)."""
    fn = None

    def __init__(self, reduction="sum_over_batch_size", name=None, **kwargs):
        if reduction not in ("sum_over_batch_size", "sum", "none", None, "mean"):
            raise ValueError(f"[{type(self).__name__}] unknown reduction {reduction!r}")
        self.reduction, self.name, self.kwargs = reduction, name or _NAMES_OF.get(type(self), "loss"), kwargs

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = type(self).fn(y_true, y_pred, **self.kwargs)
        if sample_weight is not None:
            values = values * _as_tensor(sample_weight, values, self.name)
        if self.reduction in ("none", None):
            return values
        return values.sum() if self.reduction == "sum" else values.mean()

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.kwargs}


class MeanSquaredError(Loss):
    fn = staticmethod(mean_squared_error)


class MeanAbsoluteError(Loss):
    fn = staticmethod(mean_absolute_error)


class Huber(Loss):
    fn = staticmethod(huber)

    def __init__(self, delta=1.0, **kwargs):
        super().__init__(delta=delta, **kwargs)


class SparseCategoricalCrossentropy(Loss):
    fn = staticmethod(sparse_categorical_crossentropy)

    def __init__(self, from_logits=False, **kwargs):
        super().__init__(from_logits=from_logits, **kwargs)


class CategoricalCrossentropy(Loss):
    fn = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, **kwargs):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, **kwargs)


class BinaryCrossentropy(Loss):
    fn = staticmethod(binary_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, **kwargs):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, **kwargs)


_NAMES_OF = {MeanSquaredError: "mean_squared_error", MeanAbsoluteError: "mean_absolute_error", Huber: "huber_loss",
             SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
             CategoricalCrossentropy: "categorical_crossentropy", BinaryCrossentropy: "binary_crossentropy"}
_BY_NAME = {"mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError, "huber": Huber, "huber_loss": Huber,
            "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy}
mse, mae = mean_squared_error, mean_absolute_error
MSE, MAE = mean_squared_error, mean_absolute_error


def get(identifier):
    """A loss callable (y_true, y_pred) -> scalar from a Keras name, a Loss, or a function (averaged)."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"[compile] unknown loss '{identifier}'; known: {', '.join(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, Loss):
        return identifier
    if callable(identifier):
        return lambda y_true, y_pred: identifier(y_true, y_pred).mean()
    raise TypeError(f"[compile] a loss must be a name, a Loss or a function, got {type(identifier).__name__}")
