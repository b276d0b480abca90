"""Keras' optimizers with Keras' names, defaults and update rules, built without parameters (compile binds them).

    keras.optimizers.Adam()                      # learning_rate 1e-3, epsilon 1e-7
    keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    keras.optimizers.RMSprop(lr=1e-3)            # lr= is the old name of learning_rate

SGD and Adam/AdamW run ember's fused kernels: Keras' SGD momentum (m = momentum m - lr g; p += m) is PyTorch's
for a constant rate, and Keras' Adam, whose epsilon is not bias-corrected, is PyTorch's Adam with
epsilon / sqrt(1 - beta_2^t) at step t. RMSprop follows Keras' rule (epsilon inside the square root) with
array ops. Adagrad is PyTorch's rule (epsilon outside the root) with Keras' defaults.
"""
import math

from .. import optim
from ..optim.optimizer import each_grad, write_back


def _rate(learning_rate, lr, default, name):
    value = lr if lr is not None else learning_rate if learning_rate is not None else default
    if not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"[{name}] learning_rate must be a non-negative number, got {value!r}")
    return float(value)


def _no_extras(name, kwargs):
    extras = {k: v for k, v in kwargs.items() if v is not None and k != "name"}
    if extras:
        raise ValueError(f"[{name}] unsupported arguments {sorted(extras)}")


class _KerasRate:
    """learning_rate as a read/write attribute (callbacks and users set it)."""

    @property
    def learning_rate(self):
        return self.param_groups[0]["lr"] if self.param_groups else self.defaults["lr"]

    @learning_rate.setter
    def learning_rate(self, value):
        self.defaults["lr"] = float(value)
        for g in self.param_groups:
            g["lr"] = float(value)

    lr = learning_rate

    @property
    def iterations(self):
        return self.__dict__.get("_iterations", 0)


class SGD(_KerasRate, optim.SGD):
    """Keras' SGD: learning_rate 0.01, momentum 0, nesterov False."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, lr=None, **kwargs):
        _no_extras("SGD", kwargs)
        super().__init__(None, lr=_rate(learning_rate, lr, 0.01, "SGD"), momentum=momentum, nesterov=nesterov)


class Adam(_KerasRate, optim.Adam):
    """Keras' Adam: learning_rate 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7 (not bias-corrected)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, lr=None,
                 **kwargs):
        _no_extras(type(self).__name__, kwargs)
        super().__init__(None, lr=_rate(learning_rate, lr, 0.001, "Adam"), betas=(beta_1, beta_2), eps=epsilon,
                         amsgrad=amsgrad)
        self.epsilon = epsilon

    def step(self, closure=None):
        t = self.iterations + 1
        for g in self.param_groups:
            g["eps"] = self.epsilon / math.sqrt(1.0 - g["betas"][1] ** t)
        try:
            loss = super().step(closure)
        finally:
            for g in self.param_groups:
                g["eps"] = self.epsilon
        self._iterations = t
        return loss


class AdamW(Adam):
    """Keras' AdamW: Adam with decoupled weight decay 0.004 (p -= lr * weight_decay * p)."""
    _decoupled = True

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, lr=None, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, lr, **kwargs)
        self.defaults["weight_decay"] = weight_decay


class RMSprop(_KerasRate, optim.RMSprop):
    """Keras' RMSprop: v = rho v + (1 - rho) g^2; p -= lr g / sqrt(v + epsilon) (centered: v - mean(g)^2);
    learning_rate 1e-3, rho 0.9, epsilon 1e-7; momentum accumulates the increments."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, lr=None, **kwargs):
        _no_extras("RMSprop", kwargs)
        super().__init__(None, lr=_rate(learning_rate, lr, 0.001, "RMSprop"), alpha=rho, eps=epsilon,
                         momentum=momentum, centered=centered)

    def step(self, closure=None):
        loss = self._call(closure)
        for group in self.param_groups:
            lr, rho, eps, mom = group["lr"], group["alpha"], group["eps"], group["momentum"]
            for p, data, g in each_grad(group):
                st = self.state.setdefault(id(p), {"velocity": self._zeros(p)})
                v = st["velocity"]
                v *= rho
                v += (1.0 - rho) * g * g
                denom = v + eps
                if group["centered"]:
                    a = st.setdefault("average_gradient", self._zeros(p))
                    a *= rho
                    a += (1.0 - rho) * g
                    denom = denom - a * a
                inc = lr * g / p._backend.xp.sqrt(denom)
                if mom > 0:
                    m = st.setdefault("momentum", self._zeros(p))
                    m *= mom
                    m += inc
                    inc = m
                data -= inc
                write_back(p, data)
        self._iterations = self.iterations + 1
        return loss


class Adagrad(_KerasRate, optim.Adagrad):
    """Keras' Adagrad defaults: learning_rate 1e-3, initial_accumulator_value 0.1, epsilon 1e-7."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, lr=None, **kwargs):
        _no_extras("Adagrad", kwargs)
        super().__init__(None, lr=_rate(learning_rate, lr, 0.001, "Adagrad"),
                         initial_accumulator_value=initial_accumulator_value, eps=epsilon)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}
Optimizer = optim.Optimizer


def get(identifier):
    """An optimizer from a Keras name ('adam', 'sgd', 'rmsprop', 'adamw', 'adagrad') with Keras' defaults, or an
    ember/Keras optimizer object."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"[compile] unknown optimizer '{identifier}'; known: {', '.join(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, optim.Optimizer):
        return identifier
    raise TypeError(f"[compile] optimizer must be a name or an optimizer, got {type(identifier).__name__}")
