"""Compare autograd's gradients with central finite differences, in float64."""
import numpy as np

from ..tensor import Tensor


def numerical_grad(fn, inputs, i, eps=1e-6, grad_out=None):
    """d(sum(fn(*inputs) * grad_out))/d(inputs[i]) by central differences."""
    x = inputs[i]
    host = x.numpy().copy()
    out = np.zeros_like(host)
    flat = host.reshape(-1)
    for k in range(flat.size):
        vals = []
        for step in (eps, -eps):
            flat[k] += step
            x._data = x._backend.from_host(host.copy())
            y = fn(*inputs).numpy().astype(np.float64)
            vals.append((y * grad_out).sum() if grad_out is not None else y.sum())
            flat[k] -= step
        out.reshape(-1)[k] = (vals[0] - vals[1]) / (2 * eps)
    x._data = x._backend.from_host(host)
    return out


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """True if autograd's gradients of fn at inputs match finite differences; raises AssertionError otherwise.

    Every float input that requires grad must be float64. A random upstream gradient is used so
    that errors cannot cancel in a plain sum.

    Example:
        x = em.randn(3, 4, dtype=em.float64, requires_grad=True)
        gradcheck(lambda x: x.tanh(), [x])
    """
    targets = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in targets:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"[gradcheck] input {i} is {inputs[i].dtype}; use float64")
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    y = fn(*inputs)
    g = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(g)
    for i in targets:
        analytic = inputs[i].grad.numpy() if inputs[i].grad is not None else np.zeros(inputs[i].shape)
        numeric = numerical_grad(fn, inputs, i, eps, g)
        if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
            err = np.abs(analytic - numeric).max()
            raise AssertionError(f"[gradcheck] input {i} of shape {inputs[i].shape}: max |analytic - numeric| = "
                                 f"{err:.3e}\nanalytic:\n{analytic}\nnumeric:\n{numeric}")
    return True
