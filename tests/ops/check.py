"""Shared test logic: build an op's inputs on a device, run forward and backward, compare."""
import numpy as np

import ember as em

from ..devices import DEVICES, KERNEL_DEVICES, require  # noqa: F401 (the tests import them from here)
from .op_db import ELEMENTWISE


def tolerance(op, dtype):
    if dtype == np.float64:
        return dict(rtol=1e-9, atol=1e-9)
    return dict(rtol=1e-5, atol=1e-6) if op.kind == ELEMENTWISE else dict(rtol=1e-4, atol=2e-5)


def make_inputs(sample, dtype, device):
    """(leaves, build): the differentiable leaf tensors, and build(leaves) -> the op's arguments."""
    leaves, plan = [], []
    for a in sample.args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            a = a.astype(dtype)
            t = sample.transpose and a.ndim >= 2
            leaves.append(em.tensor(a.swapaxes(-1, -2).copy() if t else a, dtype=dtype, device=device,
                                    requires_grad=True))
            plan.append(("leaf", len(leaves) - 1, t))
        elif isinstance(a, np.ndarray):
            plan.append(("const", em.tensor(a, device=device), False))
        else:
            plan.append(("const", a, False))

    def build(ls):
        out = []
        for kind, v, t in plan:
            x = ls[v] if kind == "leaf" else v
            out.append(x.transpose(-1, -2) if t else x)
        return out
    return leaves, build


def run(op, sample, dtype, device):
    """(output array, [grad array per leaf]) of op on device; the upstream gradient is seeded."""
    leaves, build = make_inputs(sample, dtype, device)
    out = op.fn(*build(leaves), **sample.kwargs)
    assert out.device == device, f"{op.name} returned a tensor on '{out.device}', expected '{device}'"
    grads = []
    if op.grad and out.numel():
        g = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        out.backward(em.tensor(g, dtype=out.dtype, device=device))
        grads = [None if t.grad is None else t.grad.numpy() for t in leaves]
    return out.numpy(), grads


def assert_close(actual, expected, tol, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, err_msg=what, **tol)


def assert_zero_d_like_torch(fn, torch_fn, device, value=0.7):
    """fn on a 0-d float64 tensor: a 0-d value and a 0-d gradient (writable in place) equal to torch_fn's."""
    import torch
    x = em.tensor(np.float64(value), dtype=np.float64, device=device, requires_grad=True)
    y = fn(x)
    y.backward()
    tx = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    ty = torch_fn(tx)
    ty.backward()
    assert y.shape == () and x.grad.shape == (), f"shapes {y.shape}, {x.grad.shape}"
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    x.grad.zero_()
    assert x.grad.item() == 0
