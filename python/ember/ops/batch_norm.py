"""batch_norm over (N, C), (N, C, L) or (N, C, H, W): the input is viewed as (N, C, L) and one
fused kernel normalises it (statistics included) forward, one computes every gradient backward.
The running statistics are updated here, in place, from the batch mean and biased variance the
kernel returns (unbiased for running_var, as PyTorch)."""
import math

from ..autograd import Function
from ._checks import float_tensor, low_input_float32_params


class BatchNormBackward(Function):
    """Outputs (y, batch mean, batch biased variance); the statistics get no gradient (they feed the
    running statistics)."""
    non_differentiable = (1, 2)
    saved_inputs = (0, 1)  # x and the weight (only x without one)
    saved_output = (1, 2)

    def forward(self, x, *affine, has_weight, has_bias, mean, var, eps, training):
        xp = self.backend.xp
        if not has_weight:
            self.saved_inputs = (0,)
        w = affine[0] if has_weight else None
        b = affine[-1] if has_bias else None
        self.shape = x.shape
        x3 = xp.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))
        self.x3, self.w, self.has, self.eps, self.training = x3, w, (has_weight, has_bias), eps, training
        if x3.size == 0:  # no values: PyTorch's empty path (empty output, no statistics, zero gradients)
            self.mean, self.var = xp.zeros(x.shape[1], x.dtype), xp.zeros(x.shape[1], x.dtype)
            return xp.empty(x.shape, x.dtype), self.mean, self.var
        y, self.mean, self.var = self.backend.ops.batch_norm_forward(
            x3, None if w is None else xp.ascontiguousarray(w), None if b is None else xp.ascontiguousarray(b),
            mean, var, eps, training)
        return y.reshape(x.shape), self.mean, self.var

    def backward(self, g, _g_mean, _g_var):
        xp = self.backend.xp
        need_affine = any(self.needs[1:])
        if self.x3.size == 0:
            zero = xp.zeros(self.shape[1], g.dtype)
            gx, gw, gb = xp.empty(self.shape, g.dtype), zero, zero.copy()
        else:
            gx, gw, gb = self.backend.ops.batch_norm_backward(
                self.x3, xp.ascontiguousarray(g).reshape(self.x3.shape), self.w, self.mean, self.var, self.eps,
                self.training, need_affine)
        grads = [gx.reshape(self.shape)]
        if self.has[0]:
            grads.append(gw)
        if self.has[1]:
            grads.append(gb)
        return tuple(grads)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over every dimension but the channels (dim 1), as PyTorch's.

    Args:
        input: (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: (C,) or None; updated in place in training
            (x = (1 - momentum) x + momentum * batch statistic; the variance unbiased).
        weight, bias: (C,) or None. training: use (and update with) the batch statistics.
    Returns:
        a tensor shaped like input.
    Example:
        y = F.batch_norm(x, rm, rv, w, b, training=True)
    """
    op = "batch_norm"
    float_tensor(input, "input", op)
    if low_input_float32_params(input, running_mean, running_var, weight, bias):
        return batch_norm(input.float(), running_mean, running_var, weight, bias, training, momentum,
                          eps).to(input.dtype)
    if input.ndim < 2:
        raise ValueError(f"[{op}] expected an input of at least 2 dimensions (N, C, ...), got shape {input.shape}")
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is None:
            continue
        float_tensor(t, name, op, like=input)
        if t.shape != (C,):
            raise ValueError(f"[{op}] {name} of shape {t.shape} must have shape ({C},) for input {input.shape}")
    if eps < 0:
        raise ValueError(f"[{op}] eps must be non-negative, got {eps}")
    per_channel = input.numel() // max(C, 1)
    if training and per_channel == 1:  # none (an empty batch) is allowed, as in PyTorch
        raise ValueError(f"[{op}] expected more than 1 value per channel when training, got input of shape "
                         f"{input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"[{op}] running_mean and running_var are needed when not training")
    # eval: copies, so that a later in-place update of the buffers cannot change this graph's backward
    mean = None if training else running_mean._data.copy()
    var = None if training else running_var._data.copy()
    params = [t for t in (weight, bias) if t is not None]
    out, batch_mean, batch_var = BatchNormBackward.apply(
        input, *params, has_weight=weight is not None, has_bias=bias is not None, mean=mean, var=var,
        eps=float(eps), training=bool(training))
    if training and per_channel:  # running = (1 - momentum) running + momentum batch, the variance unbiased
        m = float(momentum)
        if running_mean is not None:
            running_mean._data[...] = (1 - m) * running_mean._data + m * batch_mean._data
            running_mean._bump()
        if running_var is not None:
            running_var._data[...] = ((1 - m) * running_var._data
                                      + m * batch_var._data * (per_channel / (per_channel - 1)))
            running_var._bump()
    return out
