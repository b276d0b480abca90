"""BatchNormalization with Keras' semantics: momentum 0.99 (moving = moving * momentum + batch * (1 - momentum)),
epsilon 1e-3, the biased batch variance in both the normalisation and the moving variance; axis -1 (channels
last). Runs ember's batch_norm kernel on the input seen as (samples, channels)."""
from ...autograd import no_grad
from ...nn import functional as F
from .base import Layer


class BatchNormalization(Layer):
    """Normalise each channel (axis) with the batch's statistics in training, the moving ones in inference.

    Weights (Keras' order): gamma, beta, moving_mean, moving_variance.
    Example:
        layers.BatchNormalization()
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 **kwargs):
        super().__init__(**kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"[BatchNormalization] momentum must be in [0, 1], got {momentum!r}")
        if epsilon <= 0:
            raise ValueError(f"[BatchNormalization] epsilon must be positive, got {epsilon!r}")
        if not isinstance(axis, int):
            raise ValueError(f"[BatchNormalization] axis must be one int, got {axis!r}")
        self.axis, self.momentum, self.epsilon, self.center, self.scale = axis, momentum, epsilon, center, scale
        self._inits = (gamma_initializer, beta_initializer, moving_mean_initializer, moving_variance_initializer)

    def build(self, input_shape):
        axis = self.axis % len(input_shape)
        if axis == 0 or input_shape[axis] is None:
            raise ValueError(f"[BatchNormalization] axis {self.axis} of input shape {input_shape} must be a known "
                             "feature axis")
        c = (input_shape[axis],)
        if self.scale:
            self.add_weight(c, self._inits[0], name="gamma")
        if self.center:
            self.add_weight(c, self._inits[1], name="beta")
        self.add_weight(c, self._inits[2], trainable=False, name="moving_mean")
        self.add_weight(c, self._inits[3], trainable=False, name="moving_variance")

    def call(self, x):
        axis = self.axis % x.ndim
        c = self.moving_mean.shape[0]
        if x.shape[axis] != c:
            raise ValueError(f"[BatchNormalization] layer '{self.name}' expects {c} features on axis {self.axis}, "
                             f"got input of shape {x.shape}")
        order = [i for i in range(x.ndim) if i != axis] + [axis]
        moved = x if axis == x.ndim - 1 else x.permute(*order)
        flat = moved.reshape(-1, c)
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if self.training:
            y = F.batch_norm(flat, None, None, gamma, beta, training=True, eps=self.epsilon)
            self._update_moving(flat)
        else:
            y = F.batch_norm(flat, self.moving_mean, self.moving_variance, gamma, beta, training=False,
                             eps=self.epsilon)
        y = y.reshape(*moved.shape)
        if axis != x.ndim - 1:
            y = y.permute(*[order.index(i) for i in range(x.ndim)])
        return y

    def _update_moving(self, flat):
        with no_grad():
            data = flat.detach()._data
            m = self.momentum
            for buf, stat in ((self.moving_mean, data.mean(axis=0)), (self.moving_variance, data.var(axis=0))):
                buf._data[...] = buf._data * m + stat.astype(buf.dtype) * (1 - m)
                buf._bump()
