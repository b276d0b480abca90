"""Pooling edge cases beyond the op database: return_indices against PyTorch's, bad input
(ValueError naming the shapes, in Python and in the binding), NaN propagation, overlapping
windows in backward, and the CUDA kernels under every emulator schedule with checks on."""
import numpy as np
import pytest

import ember as em
from ember.backends import get_backend
from ember.backends.numpy_ref import avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward, max_pool2d_forward

from .check import DEVICES, KERNEL_DEVICES, require

F = em.nn.functional


@pytest.mark.parametrize("device", DEVICES)
def test_return_indices_and_overlapping_backward(device):
    require(device)
    rng = np.random.default_rng(0)
    x = em.tensor(rng.standard_normal((2, 3, 7, 6)), dtype=np.float64, device=device, requires_grad=True)
    y, idx = F.max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    assert idx.dtype == np.int64 and idx.shape == y.shape == (2, 3, 7, 6)
    y.sum().backward()
    want_y, want_idx = max_pool2d_forward(x.numpy(), (3, 3), (1, 1), (1, 1), (1, 1), (7, 6))
    np.testing.assert_array_equal(idx.numpy(), want_idx)
    np.testing.assert_array_equal(y.numpy(), want_y)
    np.testing.assert_allclose(x.grad.numpy(), max_pool2d_backward(want_idx, np.ones(y.shape), x.shape, None, None,
                                                                   None, None))
    torch = pytest.importorskip("torch")
    _, tidx = torch.nn.functional.max_pool2d(torch.from_numpy(x.numpy()), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_nan_wins(device):
    require(device)
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    y = F.max_pool2d(em.tensor(x, device=device), 2).numpy()
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 1, 1] == 15


@pytest.mark.parametrize("fn,kw,match", [
    (F.max_pool2d, {"kernel_size": 5}, r"window \(5, 5\) is larger than the padded input \(4, 4\)"),
    (F.max_pool2d, {"kernel_size": 2, "stride": 0}, "stride must be positive"),
    (F.max_pool2d, {"kernel_size": 2, "padding": 2}, "half the kernel"),
    (F.avg_pool2d, {"kernel_size": (2, 6)}, r"larger than the padded input"),
    (F.avg_pool2d, {"kernel_size": 2, "stride": -1}, "stride must be positive"),
    (F.adaptive_avg_pool2d, {"output_size": 0}, "must be positive"),
])
def test_bad_input_raises_value_error(fn, kw, match):
    x = em.tensor(np.zeros((2, 3, 4, 4), np.float32), device="cpu")
    with pytest.raises(ValueError, match=match):
        fn(x, **kw)
    with pytest.raises(ValueError, match=r"4-D input.*\(4, 4\)"):
        fn(em.tensor(np.zeros((4, 4), np.float32), device="cpu"), **kw)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_binding_checks(device):
    require(device)
    dev = get_backend(device)
    k, xp = dev.ops.module, dev.xp
    x = xp.zeros((1, 2, 4, 4), np.float32)
    y, idx = xp.zeros((1, 2, 2, 2), np.float32), xp.zeros((1, 2, 2, 2), np.int64)
    with pytest.raises(ValueError, match="larger than the padded input"):
        k.max_pool2d_forward(x, xp.zeros((1, 2, 1, 1), np.float32), xp.zeros((1, 2, 1, 1), np.int64), (5, 5), (1, 1),
                             (0, 0), (1, 1))
    with pytest.raises(ValueError, match="positive"):
        k.avg_pool2d_forward(x, y, (2, 2), (0, 2), (0, 0), True)
    with pytest.raises(TypeError, match="int64"):
        k.max_pool2d_forward(x, y, idx.astype(np.float32), (2, 2), (2, 2), (0, 0), (1, 1))
    # indices outside the plane are skipped, never written through
    gx = xp.full(x.shape, np.nan, np.float32)
    k.max_pool2d_backward(xp.full((1, 2, 2, 2), 1 << 40, np.int64), xp.ones_like(y), gx, (2, 2), (2, 2), (0, 0),
                          (1, 1))
    assert bool((gx == 0).all())


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random:5"])
def test_cuda_emu_schedules_with_checks(schedule):
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    geom = ((3, 2), (2, 1), (1, 1))
    out = (4, 7)
    k.set_schedule(schedule)
    k.set_check(True)
    try:
        y, idx = np.empty((2, 3) + out), np.empty((2, 3) + out, np.int64)
        k.max_pool2d_forward(x, y, idx, *geom, (1, 1))
        want_y, want_idx = max_pool2d_forward(x, *geom, (1, 1), out)
        np.testing.assert_array_equal(idx, want_idx)
        g = rng.standard_normal(y.shape)
        gx = np.empty_like(x)
        k.max_pool2d_backward(idx, g, gx, *geom, (1, 1))
        np.testing.assert_allclose(gx, max_pool2d_backward(want_idx, g, x.shape, *geom, (1, 1)), atol=1e-12)
        for include in (True, False):
            k.avg_pool2d_forward(x, y, *geom, include)
            np.testing.assert_allclose(y, avg_pool2d_forward(x, *geom, include, out), atol=1e-12)
            k.avg_pool2d_backward(g, gx, *geom, include)
            np.testing.assert_allclose(gx, avg_pool2d_backward(g, x.shape, *geom, include), atol=1e-12)
    finally:
        k.set_schedule("")
        k.set_check("")


# ceil_mode windows larger than the padded input, which PyTorch accepts (and one ordinary ceil_mode case)
CEIL_WINDOWS = [((1, 1, 1, 1), 2, 2, 0), ((1, 2, 1, 2), 3, 3, 0), ((2, 1, 2, 2), 5, 4, 1),
                ((1, 1, 2, 3), (5, 4), (4, 3), (1, 0)), ((1, 1, 3, 3), 2, 2, 0)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,kernel,stride,padding", CEIL_WINDOWS)
@pytest.mark.parametrize("name,kw", [("max_pool2d", {}), ("avg_pool2d", {"count_include_pad": True}),
                                     ("avg_pool2d", {"count_include_pad": False})])
def test_ceil_mode_window_larger_than_input_like_torch(device, shape, kernel, stride, padding, name, kw):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal(shape)
    x = em.tensor(a, dtype=np.float64, device=device, requires_grad=True)
    y = getattr(F, name)(x, kernel, stride, padding, ceil_mode=True, **kw)
    tx = torch.tensor(a, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, kernel, stride, padding, ceil_mode=True, **kw)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(em.tensor(g, dtype=np.float64, device=device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_output_too_small_refused_like_torch():
    torch = pytest.importorskip("torch")
    for kernel, stride, ceil in ((2, 1, False), (5, 2, True)):
        with pytest.raises(RuntimeError, match="Output size is too small"):
            torch.nn.functional.max_pool2d(torch.zeros(1, 1, 1, 1), kernel, stride, ceil_mode=ceil)
        with pytest.raises(ValueError, match=r"output size \(-?\d+, -?\d+\) is too small"):
            F.max_pool2d(em.zeros((1, 1, 1, 1), device="cpu"), kernel, stride, ceil_mode=ceil)
    with pytest.raises(ValueError, match="no channels"):
        F.max_pool2d(em.zeros((1, 0, 4, 4), device="cpu"), 2)


def test_modules_defaults():
    x = em.tensor(np.random.default_rng(0).standard_normal((1, 2, 6, 6)).astype(np.float32), device="cpu")
    assert em.nn.MaxPool2d(2)(x).shape == (1, 2, 3, 3)
    assert em.nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (1, 2, 6, 6)
    assert em.nn.AdaptiveAvgPool2d((1, 1))(x).shape == (1, 2, 1, 1)
    assert em.nn.MaxPool2d(2, ceil_mode=True)(x[:, :, :5, :5]).shape == (1, 2, 3, 3)


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (2, 3, 7, 9), (1, 1, 2, 2), (1, 2, 4, 70)])
def test_2x2_fast_paths_match_reference(shape, dtype, isa):
    """The cpu kernels' 2x2 / stride 2 loops (csrc/cpu/isa/pool_kernel.cpp, max and avg) at
    every ISA level: every output and gradient, vector tails (35 outputs a row), and the last
    row and column that an odd map leaves outside every window (gradient 0)."""
    from ember.backends import numpy_ref
    require("cpu")
    k = get_backend("cpu").ops.module
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[::7] = np.nan  # a NaN wins its max window
    out = (shape[2] // 2, shape[3] // 2)
    g = rng.standard_normal(shape[:2] + out).astype(dtype)
    geom = ((2, 2), (2, 2), (0, 0))
    y, gx = np.full(shape[:2] + out, np.nan, dtype), np.full(shape, np.nan, dtype)
    k.avg_pool2d_forward(x, y, *geom, True)
    np.testing.assert_array_equal(y, numpy_ref.avg_pool2d_forward(x, *geom, True, out))
    k.avg_pool2d_backward(g, gx, *geom, True)
    np.testing.assert_array_equal(gx, numpy_ref.avg_pool2d_backward(g, shape, *geom, True))
    idx = np.full(shape[:2] + out, -7, np.int64)
    k.max_pool2d_forward(x, y, idx, *geom, (1, 1))
    want_y, want_idx = numpy_ref.max_pool2d_forward(x, *geom, (1, 1), out)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(idx, want_idx)
