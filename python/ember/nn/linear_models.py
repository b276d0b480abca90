"""LinearRegression and LogisticRegression: one Linear layer trained by gradient descent with Keras-style
fit / predict on NumPy arrays; the input size (and the number of outputs or classes) comes from the first fit.

The optimizer, in this order: LinearRegression(optimizer=...), compile(optimizer=...), else the optimizer most
recently built without parameters (so `optimizer = SGD(lr=0.01, momentum=0.9)` before `model.fit(...)` is
the one that trains), else SGD(lr=0.01).

    model = LinearRegression()
    optimizer = SGD(lr=0.01, momentum=0.9)
    model.fit(X, y, epochs=1000, batch_size=1, verbose=0)
    preds = model.predict(X)
"""
import numpy as np

from .. import optim
from ..optim.optimizer import latest_unbound
from ..tensor import Tensor
from .layers import Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module


def _host(a, what):
    a = a.numpy() if isinstance(a, Tensor) else np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"[{what}] needs a batch dimension, got a scalar")
    return a


class _LinearModel(Module):
    def __init__(self, optimizer=None):
        super().__init__()
        if optimizer is not None and not isinstance(optimizer, (str, optim.Optimizer)):
            raise TypeError(f"[{type(self).__name__}] optimizer must be a name or an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self._optimizer_arg = optimizer
        self.linear = None

    def compile(self, optimizer=None, loss=None, metrics=None, lr=None):
        """Choose the optimizer (and metrics); the loss is the model's own unless given."""
        object.__setattr__(self, "_optimizer_arg", optimizer if optimizer is not None else self._optimizer_arg)
        object.__setattr__(self, "_compile_args", dict(loss=loss, metrics=metrics, lr=lr))
        if self.linear is not None:
            self._compile_now()
        return self

    def _compile_now(self):
        args = self.__dict__.get("_compile_args", {})
        opt = self._optimizer_arg
        if opt is None:
            opt = latest_unbound() or optim.SGD(lr=0.01)
        super().compile(opt, args.get("loss") or self._loss(), args.get("metrics"), args.get("lr"))

    def _inputs(self, x, what):
        x = _host(x, what).astype(np.float32, copy=False)
        return x.reshape(-1, 1) if x.ndim == 1 else x.reshape(len(x), -1)

    def _build(self, x, y):
        object.__setattr__(self, "_y_shape", y.shape[1:])
        self.linear = Linear(x.shape[1], self._units(y))

    def fit(self, X, y, epochs=1, batch_size=32, verbose=1, **kwargs):
        """Train on X (samples, features) and y for `epochs` by gradient descent; returns the History."""
        x = self._inputs(X, "fit")
        y = self._targets(_host(y, "fit"))
        if len(x) != len(y):
            raise ValueError(f"[fit] X has {len(x)} samples but y has {len(y)}")
        if self.linear is None:
            self._build(x, y)
            self._compile_now()
        elif x.shape[1] != self.linear.in_features:
            raise ValueError(f"[fit] X has {x.shape[1]} features, the model was fitted on {self.linear.in_features}")
        elif "loss_fn" not in self.__dict__:
            self._compile_now()
        return super().fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, **kwargs)

    def forward(self, x):
        if self.linear is None:
            raise RuntimeError(f"[{type(self).__name__}] call fit(X, y) first")
        return self._shape_out(self.linear(x))

    def _raw(self, X):
        if self.linear is None:
            raise RuntimeError(f"[predict] call fit(X, y) before predict on {type(self).__name__}")
        x = self._inputs(X, "predict")
        if x.shape[1] != self.linear.in_features:
            raise ValueError(f"[predict] X has {x.shape[1]} features, the model was fitted on "
                             f"{self.linear.in_features}")
        return super().predict(x)

    @property
    def coef_(self):
        """The weights as scikit-learn shows them: (features,) for one output, else (outputs, features)."""
        w = self.linear.weight.numpy()
        return w[0] if w.shape[0] == 1 else w

    @property
    def intercept_(self):
        b = self.linear.bias.numpy()
        return b[0] if b.shape[0] == 1 else b


class LinearRegression(_LinearModel):
    """y = X w + b fitted by minimising the mean squared error; predict returns y's shape per sample."""

    def _loss(self):
        return MSELoss()

    def _targets(self, y):
        return y.astype(np.float32, copy=False)

    def _units(self, y):
        return int(np.prod(y.shape[1:], dtype=np.int64)) if y.ndim > 1 else 1

    def _shape_out(self, out):
        return out.reshape(out.shape[0], *self._y_shape)

    def predict(self, X, batch_size=None, verbose=0):
        """The fitted values for X, as a NumPy array of y's per-sample shape."""
        return self._raw(X)


class LogisticRegression(_LinearModel):
    """Binary (labels 0/1: one logit, BCEWithLogitsLoss) or multi-class (integer labels: softmax logits,
    CrossEntropyLoss) logistic regression.

    predict(X) gives the probabilities (of class 1 with y's shape, or (samples, classes)) as a Keras model with a
    sigmoid/softmax output would; predict_classes(X) gives the labels.
    """

    def _loss(self):
        return BCEWithLogitsLoss() if self._binary else CrossEntropyLoss()

    def _targets(self, y):
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise ValueError("[LogisticRegression] y must hold class labels (integers)")
        labels = y.astype(np.int64)
        if labels.size and labels.min() < 0:
            raise ValueError(f"[LogisticRegression] labels must be >= 0, got {labels.min()}")
        if "_binary" not in self.__dict__:
            if labels.ndim > 1 and labels.shape[1:] != (1,):
                raise ValueError(f"[LogisticRegression] y must be labels of shape (n,) or (n, 1), got {y.shape}")
            object.__setattr__(self, "_binary", int(labels.max(initial=0)) <= 1)
            object.__setattr__(self, "_classes", max(int(labels.max(initial=0)) + 1, 2))
        if not self._binary and labels.max(initial=0) >= self._classes:
            raise ValueError(f"[LogisticRegression] label {labels.max()} is beyond the {self._classes} classes "
                             "of the first fit")
        return labels.astype(np.float32) if self._binary else labels.reshape(-1)

    def _units(self, y):
        return 1 if self._binary else self._classes

    def _build(self, x, y):
        super()._build(x, y)
        if not self._binary:
            object.__setattr__(self, "_y_shape", (self._classes,))

    def _shape_out(self, out):
        return out.reshape(out.shape[0], *self._y_shape) if self._binary else out

    def predict(self, X, batch_size=None, verbose=0):
        """Probabilities: of class 1 (y's per-sample shape) for binary labels, else (samples, classes)."""
        z = self._raw(X)
        if self._binary:
            return 1.0 / (1.0 + np.exp(-z))
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict_classes(self, X):
        """The predicted labels (int64)."""
        p = self.predict(X)
        return (p > 0.5).astype(np.int64) if self._binary else p.argmax(axis=1)
