"""Keras' metrics: stateful means over the batches seen (update_state, result, reset_state), on NumPy arrays.

"accuracy" in compile resolves as Keras: binary when the output has one unit, sparse categorical when the
targets are labels (a lower rank, or one column for several units), else categorical.
"""
import numpy as np

from ..tensor import Tensor


def _np(a):
    return a.numpy() if isinstance(a, Tensor) else np.asarray(a)


def _match(y_true, y_pred):
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    return y_true


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true = _match(y_true, y_pred)
    return ((y_pred > threshold) == (y_true > 0.5)).astype(np.float32).reshape(len(y_pred), -1).mean(axis=-1)


def sparse_categorical_accuracy(y_true, y_pred):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_pred.argmax(axis=-1) == y_true.astype(np.int64)).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)).astype(np.float32)


def accuracy(y_true, y_pred):
    y_true = _match(y_true, y_pred)
    return (y_true == y_pred).astype(np.float32).reshape(len(y_pred), -1).mean(axis=-1)


def _diff(y_true, y_pred, name):
    y_true = _match(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"[{name}] y_true of shape {y_true.shape} does not match y_pred of shape {y_pred.shape}")
    return (y_true - y_pred).reshape(len(y_pred), -1)


def mean_squared_error(y_true, y_pred):
    return (_diff(y_true, y_pred, "mean_squared_error") ** 2).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    return np.abs(_diff(y_true, y_pred, "mean_absolute_error")).mean(axis=-1)


class Metric:
    """A running mean of per-sample values from fn(y_true, y_pred) (NumPy in, NumPy out)."""

    def __init__(self, fn=None, name=None, **kwargs):
        self.fn = fn or getattr(type(self), "_fn", None)
        self.name = name or getattr(self.fn, "__name__", "metric")
        self.kwargs = kwargs
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.fn(_np(y_true), _np(y_pred), **self.kwargs)
        values = _np(values).astype(np.float64).reshape(-1)
        self.total += float(values.sum())
        self.count += values.size

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred):
        self.update_state(y_true, y_pred)
        return self.result()


class Mean(Metric):
    """The running mean of the values given to update_state(values, count)."""

    def __init__(self, name="mean"):
        super().__init__(lambda v: v, name)

    def update_state(self, value, count=1):
        self.total += float(value) * count
        self.count += count


def _metric_class(fn, default_name):
    def __init__(self, name=default_name, **kwargs):
        Metric.__init__(self, fn, name, **kwargs)
    return __init__


class BinaryAccuracy(Metric):
    __init__ = _metric_class(binary_accuracy, "binary_accuracy")


class SparseCategoricalAccuracy(Metric):
    __init__ = _metric_class(sparse_categorical_accuracy, "sparse_categorical_accuracy")


class CategoricalAccuracy(Metric):
    __init__ = _metric_class(categorical_accuracy, "categorical_accuracy")


class Accuracy(Metric):
    __init__ = _metric_class(accuracy, "accuracy")


class MeanSquaredError(Metric):
    __init__ = _metric_class(mean_squared_error, "mean_squared_error")


class MeanAbsoluteError(Metric):
    __init__ = _metric_class(mean_absolute_error, "mean_absolute_error")


_BY_NAME = {"binary_accuracy": BinaryAccuracy, "sparse_categorical_accuracy": SparseCategoricalAccuracy,
            "categorical_accuracy": CategoricalAccuracy, "mse": MeanSquaredError,
            "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError}


def resolve(identifier, y_true_shape, y_pred_shape):
    """The Metric for a compile entry, given one batch's target and output shapes (for 'accuracy')."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            binary = y_pred_shape[-1] == 1 if len(y_pred_shape) > 1 else True
            sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
            cls = BinaryAccuracy if binary else SparseCategoricalAccuracy if sparse else CategoricalAccuracy
            return cls(name=identifier)
        if key not in _BY_NAME:
            raise ValueError(f"[compile] unknown metric '{identifier}'; known: accuracy, {', '.join(_BY_NAME)}")
        return _BY_NAME[key](name=identifier)
    if callable(identifier):
        return Metric(lambda t, p: _np(identifier(t, p)), getattr(identifier, "__name__", "metric"))
    raise TypeError(f"[compile] a metric must be a name, a Metric or a function, got {type(identifier).__name__}")
