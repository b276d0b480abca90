"""Keras' weight initialisers, drawing from ember's seeded generator (em.manual_seed).

Shapes are Keras' (Dense kernel (in, units), Conv2D kernel (kh, kw, in, filters)); fans as Keras computes them.

    init = keras.initializers.get("glorot_uniform")
    w = init((784, 64))          # a NumPy array
"""
import math

import numpy as np

from ..random import generator


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _rng(seed):
    return np.random.default_rng(seed) if seed is not None else generator()


def _truncated(rng, shape, stddev):
    """Normal(0, stddev) redrawn outside two standard deviations, as Keras' TruncatedNormal."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2
    return out * stddev


class Initializer:
    """Base class: calling it with a shape returns a float32 NumPy array."""

    def __call__(self, shape, dtype=None):
        return np.asarray(self.sample(tuple(int(s) for s in shape)), dtype=dtype or np.float32)

    def get_config(self):
        return dict(self.__dict__)


class Zeros(Initializer):
    def sample(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    def sample(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape):
        return _rng(self.seed).normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def sample(self, shape):
        return _rng(self.seed).uniform(self.minval, self.maxval, shape)


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape):
        return self.mean + _truncated(_rng(self.seed), shape, self.stddev)


class VarianceScaling(Initializer):
    """scale / fan (fan_in, fan_out or their mean) as the variance of a truncated normal, a normal or a
    uniform distribution, as Keras."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"[VarianceScaling] mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"[VarianceScaling] unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def sample(self, shape):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, fan)
        rng = _rng(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(var), shape)
        return _truncated(rng, shape, math.sqrt(var) / 0.87962566103423978)


def GlorotUniform(seed=None):
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def GlorotNormal(seed=None):
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed)


def HeUniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def HeNormal(seed=None):
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def LecunUniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def LecunNormal(seed=None):
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


class Orthogonal(Initializer):
    """An orthogonal matrix (rows or columns orthonormal) from the QR of a normal matrix, times gain."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def sample(self, shape):
        rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
        cols = shape[-1] if shape else 1
        a = _rng(self.seed).normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


_NAMES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal, "normal": RandomNormal,
          "random_uniform": RandomUniform, "uniform": RandomUniform, "truncated_normal": TruncatedNormal,
          "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
          "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
          "orthogonal": Orthogonal, "variance_scaling": VarianceScaling}


def get(identifier):
    """An initialiser from a Keras name ('glorot_uniform', 'he_normal', 'zeros', ...), an Initializer, or a
    function shape -> array."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _NAMES:
            raise ValueError(f"[initializers] unknown initializer '{identifier}'; known: {', '.join(_NAMES)}")
        return _NAMES[key]()
    if callable(identifier):
        return identifier
    raise TypeError(f"[initializers] an initializer must be a name or callable, got {type(identifier).__name__}")
