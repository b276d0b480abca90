"""Kernel-level edge tests for softmax / log_softmax over the last axis of (rows, cols).

float32 runs on each ISA level the CPU has (separate SIMD builds); float64 is
scalar code. References are the stable float64 NumPy formulas.
"""
import numpy as np
import pytest

import ember as em

from .check import DEVICES, assert_zero_d_like_torch

ISAS = ["generic", "avx2", "avx512"]
CASES = [(np.float32, i) for i in ISAS] + [(np.float64, "generic")]
CASE_IDS = [f"{np.dtype(d).name}-{i}" for d, i in CASES]
SHAPES = [(0, 5), (5, 0), (1, 1), (3, 1)] + [(2, c) for c in range(2, 34)] + [(64, 10), (67, 1000), (2, 100003)]


def _log_softmax(x):
    x = x.astype(np.float64)
    if x.size == 0:
        return x
    m = x.max(axis=1, keepdims=True)
    return (x - m) - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


def _run(k, name, x):
    y = np.full_like(x, np.nan)
    getattr(k, name + "_forward")(x, y)
    return y


@pytest.mark.parametrize("dtype,isa", CASES, indirect=["isa"], ids=CASE_IDS)
def test_forward_backward_shapes(cpu_kernels, isa, dtype):
    rng = np.random.default_rng(1)
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 5).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        ls = _log_softmax(x)
        for name, ref in (("softmax", np.exp(ls)), ("log_softmax", ls)):
            y = _run(cpu_kernels, name, x)
            np.testing.assert_allclose(y, ref, **_tol(dtype), err_msg=f"{name} {shape}")
            # backward from the (rounded) output, against the analytic formula of that output
            y64, g64 = y.astype(np.float64), g.astype(np.float64)
            if name == "softmax":
                ref_g = y64 * (g64 - (g64 * y64).sum(axis=1, keepdims=True))
            else:
                ref_g = g64 - np.exp(y64) * g64.sum(axis=1, keepdims=True)
            gx = np.full_like(x, np.nan)
            getattr(cpu_kernels, name + "_backward")(y, g, gx)
            scale = np.abs(g64).max() if g.size else 1.0
            np.testing.assert_allclose(gx, ref_g, rtol=_tol(dtype)["rtol"], atol=_tol(dtype)["atol"] * scale,
                                       err_msg=f"{name}_backward {shape}")


@pytest.mark.parametrize("dtype,isa", CASES, indirect=["isa"], ids=CASE_IDS)
def test_extreme_logits(cpu_kernels, isa, dtype):
    x = np.array([
        [1e4, -1e4, 0.0, 1e4 - 1, -0.0],
        [-1e4, -1e4 + 3, -1e4 + 1, -1e4, -1e4 + 88],
        [88, 89, 100, -88, -100],
        [-np.inf, 0.5, -np.inf, 1.5, -1e30],
        [1e38, -1e38, 0, 1, 2],
    ], dtype)
    ls = _log_softmax(np.where(np.isinf(x), -1e300, x.astype(np.float64)))
    y = _run(cpu_kernels, "softmax", x)
    assert not np.isnan(y).any()
    np.testing.assert_allclose(y, np.exp(ls), **_tol(dtype))
    np.testing.assert_allclose(y.astype(np.float64).sum(axis=1), 1, rtol=1e-6)
    ly = _run(cpu_kernels, "log_softmax", x)
    assert not np.isnan(ly).any()
    finite = ~np.isinf(x)
    assert np.all(ly[~finite] == -np.inf)
    np.testing.assert_allclose(ly[finite], ls[finite], **_tol(dtype))


@pytest.mark.parametrize("dtype,isa", CASES, indirect=["isa"], ids=CASE_IDS)
def test_one_column(cpu_kernels, isa, dtype):
    x = np.array([[-1e4], [0.0], [7.5], [1e4]], dtype)
    np.testing.assert_array_equal(_run(cpu_kernels, "softmax", x), 1)
    np.testing.assert_array_equal(_run(cpu_kernels, "log_softmax", x), 0)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_gradient_finite_differences_f64(cpu_kernels, name):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 7)) * 2
    w = rng.standard_normal((3, 7))  # loss = sum(w * f(x))
    y = _run(cpu_kernels, name, x)
    gx = np.empty_like(x)
    getattr(cpu_kernels, name + "_backward")(y, w, gx)
    h = 1e-6
    for r, c in [(0, 0), (1, 3), (2, 6), (2, 2)]:
        xp, xm = x.copy(), x.copy()
        xp[r, c] += h
        xm[r, c] -= h
        fd = ((w * _run(cpu_kernels, name, xp)).sum() - (w * _run(cpu_kernels, name, xm)).sum()) / (2 * h)
        np.testing.assert_allclose(gx[r, c], fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_bad_arguments(cpu_kernels, name):
    fwd, bwd = getattr(cpu_kernels, name + "_forward"), getattr(cpu_kernels, name + "_backward")
    x32 = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="float64|float32"):
        fwd(x32, np.zeros((2, 3), np.float64))
    with pytest.raises(TypeError, match="float64|float32"):
        bwd(x32, np.zeros((2, 3), np.float64), np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError):
        fwd(np.zeros((2, 3), np.int64), np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError):
        fwd(x32, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError):
        bwd(x32, x32, np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError):  # the kernel wants 2-D; the Python layer reshapes
        fwd(np.zeros(6, np.float32), np.zeros(6, np.float32))


@pytest.mark.torch
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("device", DEVICES)
def test_zero_d_like_torch(device, name, dim):
    """A 0-d tensor is one row of one value: softmax 1, log_softmax 0, gradient 0, as PyTorch."""
    torch = pytest.importorskip("torch")
    assert_zero_d_like_torch(lambda x: getattr(em.nn.functional, name)(x, dim=dim),
                             lambda x: getattr(torch.nn.functional, name)(x, dim=dim), device)
    with pytest.raises(IndexError, match="dim 1 is out of range"):
        getattr(em.nn.functional, name)(em.ones((), device=device), dim=1)
