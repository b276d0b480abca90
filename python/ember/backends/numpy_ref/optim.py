"""Fused optimizer updates, in place, as torch.optim's single-tensor path computes them.

Each function updates the parameter array p and its state arrays from the gradient g,
with the kernels' signatures (csrc/cpu/optim.cpp, csrc/cuda/optim.cu). Optional state is
None when its option is off. Scalars are cast to p's dtype, as the kernels do.
"""
import numpy as np

__all__ = ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step"]


def _lerp(a, b, w):
    """torch.lerp's two forms: exact at both ends."""
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1 - w)


def _direction(p, g, weight_decay, maximize):
    d = -g if maximize else g
    return d + p.dtype.type(weight_decay) * p if weight_decay != 0 else d


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step):
    t = p.dtype.type
    d = _direction(p, g, weight_decay, maximize)
    if buf is not None:
        buf[...] = d if first_step else buf * t(momentum) + t(1 - dampening) * d
        d = d + t(momentum) * buf if nesterov else buf
    p += t(-lr) * d


def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled,
              maximize):
    t = p.dtype.type
    d = -g if maximize else g
    if weight_decay != 0:
        if decoupled:
            p *= t(1 - lr * weight_decay)
        else:
            d = d + t(weight_decay) * p
    exp_avg[...] = _lerp(exp_avg, d, t(1 - beta1))
    exp_avg_sq[...] = exp_avg_sq * t(beta2) + t(1 - beta2) * d * d
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
    denom = np.sqrt(v) / t(bc2 ** 0.5) + t(eps)
    p += t(-(lr / bc1)) * (exp_avg / denom)


def rmsprop_step(p, g, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay, momentum, maximize):
    t = p.dtype.type
    d = _direction(p, g, weight_decay, maximize)
    square_avg[...] = square_avg * t(alpha) + t(1 - alpha) * d * d
    if grad_avg is not None:
        grad_avg[...] = _lerp(grad_avg, d, t(1 - alpha))
        avg = np.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg = avg + t(eps)
    if momentum_buffer is not None:
        momentum_buffer[...] = momentum_buffer * t(momentum) + d / avg
        p += t(-lr) * momentum_buffer
    else:
        p += t(-lr) * (d / avg)


def adagrad_step(p, g, sum, step, lr, lr_decay, weight_decay, eps, maximize):  # torch's name
    t = p.dtype.type
    d = _direction(p, g, weight_decay, maximize)
    sum += d * d
    p += t(-(lr / (1 + (step - 1) * lr_decay))) * (d / (np.sqrt(sum) + t(eps)))


def adadelta_step(p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    t = p.dtype.type
    d = _direction(p, g, weight_decay, maximize)
    square_avg[...] = square_avg * t(rho) + t(1 - rho) * d * d
    delta = np.sqrt(acc_delta + t(eps)) / np.sqrt(square_avg + t(eps)) * d
    acc_delta[...] = acc_delta * t(rho) + t(1 - rho) * delta * delta
    p += t(-lr) * delta
