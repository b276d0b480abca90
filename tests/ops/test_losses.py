"""Kernel-level edge tests for the elementwise losses (csrc/cpu/losses.cpp, csrc/cuda/losses.cu).

The op database covers the losses through nn.functional on every device (parity, torch,
gradcheck); these call the kernels directly on extreme inputs: BCE at 0 and 1, logits of
+-100, empty arrays, sizes across the threading grain, and the bindings' argument checks.
"""
import importlib

import numpy as np
import pytest

import ember as em
from ember.backends import numpy_ref as ref

from .check import KERNEL_DEVICES, require

SIZES = [0, 1, 7, 33, 70001]
DTYPES = [np.float32, np.float64]


def _ops(device):
    require(device)
    from ember.backends import get_backend
    return get_backend(device).ops


def _xp(device):
    if device == "cuda":
        return importlib.import_module("cupy")
    return np


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


# name -> (forward args after (x, t), backward args after (x, t, g), x sampler)
CASES = {
    "mse": ((), (), lambda r, n: r.standard_normal(n)),
    "l1": ((), (), lambda r, n: r.standard_normal(n)),
    "smooth_l1": ((0.5,), (0.5,), lambda r, n: r.standard_normal(n)),
    "smooth_l1_beta0": ((0.0,), (0.0,), lambda r, n: r.standard_normal(n)),
    "bce": ((), (), lambda r, n: r.uniform(0.01, 0.99, n)),
}


def _call(ops, name, *arrays_and_params):
    kernel = "smooth_l1" if name.startswith("smooth_l1") else name
    return getattr(ops, kernel)(*arrays_and_params)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_reference(device, dtype, n, name):
    ops, xp = _ops(device), _xp(device)
    fargs, bargs, sample = CASES[name]
    kernel = "smooth_l1" if name.startswith("smooth_l1") else name
    r = np.random.default_rng(n)
    x, t, g = sample(r, n).astype(dtype), r.uniform(0, 1, n).astype(dtype), r.standard_normal(n).astype(dtype)
    if kernel in ("mse", "l1", "smooth_l1") and n:
        t = (x + r.standard_normal(n)).astype(dtype)
    out = getattr(ops, kernel + "_forward")(xp.asarray(x), xp.asarray(t), *fargs)
    gx = getattr(ops, kernel + "_backward")(xp.asarray(x), xp.asarray(t), xp.asarray(g), *bargs)
    assert out.dtype == dtype and gx.dtype == dtype and out.shape == (n,)
    np.testing.assert_allclose(_host(out), getattr(ref, kernel + "_forward")(x, t, *fargs), **_tol(dtype))
    np.testing.assert_allclose(_host(gx), getattr(ref, kernel + "_backward")(x, t, g, *bargs), **_tol(dtype))


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_matches_reference(device, dtype, n, pos_weight):
    ops, xp = _ops(device), _xp(device)
    r = np.random.default_rng(n)
    x = (4 * r.standard_normal(n)).astype(dtype)
    t, g = r.uniform(0, 1, n).astype(dtype), r.standard_normal(n).astype(dtype)
    pw = r.uniform(0.5, 3, n).astype(dtype) if pos_weight else None
    dpw = None if pw is None else xp.asarray(pw)
    out = ops.bce_with_logits_forward(xp.asarray(x), xp.asarray(t), dpw)
    gx = ops.bce_with_logits_backward(xp.asarray(x), xp.asarray(t), dpw, xp.asarray(g))
    np.testing.assert_allclose(_host(out), ref.bce_with_logits_forward(x, t, pw), **_tol(dtype))
    np.testing.assert_allclose(_host(gx), ref.bce_with_logits_backward(x, t, pw, g), **_tol(dtype))


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_at_zero_and_one(device, dtype):
    """log clamped at -100 (loss 100, not inf); gradient (x - t) / max(x (1 - x), 1e-12) stays finite."""
    ops, xp = _ops(device), _xp(device)
    x = np.array([0, 0, 1, 1, 0.5], dtype=dtype)
    t = np.array([0, 1, 0, 1, 0.5], dtype=dtype)
    g = np.ones(5, dtype=dtype)
    out = _host(ops.bce_forward(xp.asarray(x), xp.asarray(t)))
    gx = _host(ops.bce_backward(xp.asarray(x), xp.asarray(t), xp.asarray(g)))
    np.testing.assert_allclose(out, [0, 100, 100, 0, np.log(2)], rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(gx))
    np.testing.assert_allclose(gx, [0, -1e12, 1e12, 0, 0], rtol=1e-5)


@pytest.mark.parametrize("device", ["numpy"] + KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_nan_propagates(device, dtype):
    """A NaN input or target gives a NaN loss and gradient on every device, never the clamp's 100
    (F.binary_cross_entropy refuses NaN before the kernel; other callers of the kernel need not)."""
    ops, xp = _ops(device), _xp(device)
    nan = np.nan
    x = np.array([nan, nan, 0.5, 0.0, 1.0, 0.5], dtype=dtype)
    t = np.array([0.0, 1.0, nan, 1.0, 0.0, 0.5], dtype=dtype)
    out = _host(ops.bce_forward(xp.asarray(x), xp.asarray(t)))
    gx = _host(ops.bce_backward(xp.asarray(x), xp.asarray(t), xp.asarray(np.ones(6, dtype))))
    np.testing.assert_array_equal(np.isnan(out), [True, True, True, False, False, False])
    np.testing.assert_array_equal(np.isnan(gx), [True, True, True, False, False, False])
    np.testing.assert_allclose(out[3:], [100, 100, np.log(2)], rtol=1e-6)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_extreme_logits(device, dtype):
    """softplus(-x) never overflows: x = +-100 gives exact, finite losses and gradients."""
    ops, xp = _ops(device), _xp(device)
    x = np.array([100, -100, 100, -100, 0], dtype=dtype)
    t = np.array([1, 0, 0, 1, 1], dtype=dtype)
    pw = np.full(5, 2.0, dtype=dtype)
    out = _host(ops.bce_with_logits_forward(xp.asarray(x), xp.asarray(t), None))
    np.testing.assert_allclose(out, [0, 0, 100, 100, np.log(2)], rtol=1e-6, atol=1e-6)
    gx = _host(ops.bce_with_logits_backward(xp.asarray(x), xp.asarray(t), None, xp.asarray(np.ones(5, dtype))))
    np.testing.assert_allclose(gx, [0, 0, 1, -1, -0.5], rtol=1e-6, atol=1e-6)
    out = _host(ops.bce_with_logits_forward(xp.asarray(x), xp.asarray(t), xp.asarray(pw)))
    np.testing.assert_allclose(out, [0, 0, 100, 200, 2 * np.log(2)], rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_dtype_mix_raises_type_error(device):
    ops, xp = _ops(device), _xp(device)
    x, t = xp.zeros(4, dtype=np.float32), xp.zeros(4, dtype=np.float64)
    for name in ("mse", "l1", "bce"):
        with pytest.raises(TypeError, match=name + "_forward"):
            getattr(ops, name + "_forward")(x, t)
    with pytest.raises(TypeError, match="smooth_l1_backward"):
        ops.smooth_l1_backward(x, x, t, 1.0)
    with pytest.raises(TypeError, match="bce_with_logits_forward"):
        ops.bce_with_logits_forward(x, x, t)
    with pytest.raises(TypeError, match="int64"):
        ops.mse_forward(xp.zeros(4, dtype=np.int64), xp.zeros(4, dtype=np.int64))


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_shape_mismatch_raises_value_error(device):
    ops, xp = _ops(device), _xp(device)
    x, t = xp.zeros(4, dtype=np.float32), xp.zeros(5, dtype=np.float32)
    for name in ("mse", "l1", "bce"):
        with pytest.raises(ValueError, match=name + "_forward"):
            getattr(ops, name + "_forward")(x, t)
        with pytest.raises(ValueError, match=name + "_backward"):
            getattr(ops, name + "_backward")(x, x, t)
    with pytest.raises(ValueError, match="bce_with_logits_backward"):
        ops.bce_with_logits_backward(x, x, t, x)
    with pytest.raises(ValueError, match="beta"):
        ops.smooth_l1_forward(x, x, -1.0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mean of an empty array
@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_functional_empty(device, reduction):
    """0-size inputs: 'none' gives an empty loss, 'sum' 0, 'mean' nan, as PyTorch."""
    require(device)
    F = em.nn.functional
    x = em.tensor(np.zeros((0, 3), np.float32), device=device, requires_grad=True)
    t = em.tensor(np.zeros((0, 3), np.float32), device=device)
    for fn in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy,
               F.binary_cross_entropy_with_logits):
        out = fn(x, t, reduction=reduction)
        v = out.numpy()
        if reduction == "none":
            assert v.shape == (0, 3)
        elif reduction == "sum":
            assert v == 0
        else:
            assert np.isnan(v)


@pytest.mark.parametrize("device", ["cpu", "cuda-emu"])
def test_functional_target_gradient(device):
    """A target that requires grad still gets its gradient (-grad_x, or the BCE glue)."""
    require(device)
    F = em.nn.functional
    r = np.random.default_rng(0)
    xv, tv = r.uniform(0.1, 0.9, (4, 3)), r.uniform(0.1, 0.9, (4, 3))
    for fn in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy,
               F.binary_cross_entropy_with_logits):
        grads = []
        for dev in (device, "numpy"):
            x = em.tensor(xv, device=dev, requires_grad=True)
            t = em.tensor(tv, device=dev, requires_grad=True)
            fn(x, t).backward()
            grads.append((x.grad.numpy(), t.grad.numpy()))
        np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-5, atol=1e-7)
