"""conv2d edge cases beyond the op database: bad input raises ValueError naming the shapes
(in Python and again in the binding), the CUDA kernels under every emulator schedule with
the race checker (and their 64-bit index path), the batch-of-one (threaded GEMM) path, and
groups / 1x1 fast paths."""
import numpy as np
import pytest

import ember as em
from ember.backends import get_backend
from ember.backends.numpy_ref import conv2d_backward, conv2d_forward

from .check import KERNEL_DEVICES, require

F = em.nn.functional
GEOM = ((1, 1), (1, 1), (1, 1), 1)


def _t(a, device="cpu", **kw):
    return em.tensor(a, device=device, **kw)


@pytest.mark.parametrize("x_shape,w_shape,kw,match", [
    ((2, 3, 5, 5), (4, 2, 3, 3), {}, r"expects input with 2 channels.*\(2, 3, 5, 5\)"),
    ((3, 5, 5), (4, 3, 3, 3), {}, r"4-D input.*\(3, 5, 5\)"),
    ((1, 3, 2, 2), (4, 3, 3, 3), {}, r"larger than the padded input"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"stride": 0}, r"stride must be positive"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"stride": (1, -1)}, r"stride must be positive"),
    ((1, 4, 5, 5), (6, 2, 3, 3), {"groups": 4}, r"not divisible by groups"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"padding": "same", "stride": 2}, r"'same' needs stride 1"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"padding": -1}, r"non-negative"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"dilation": 0}, r"dilation must be positive"),
])
def test_bad_input_raises_value_error(x_shape, w_shape, kw, match):
    x, w = _t(np.zeros(x_shape, np.float32)), _t(np.zeros(w_shape, np.float32))
    with pytest.raises(ValueError, match=match):
        F.conv2d(x, w, **kw)


def test_bad_bias_dtype_and_device():
    x, w = _t(np.zeros((1, 3, 5, 5), np.float32)), _t(np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\)"):
        F.conv2d(x, w, _t(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="float64"):
        F.conv2d(x, _t(np.zeros((4, 3, 3, 3)), dtype=np.float64))
    with pytest.raises(ValueError, match="numpy"):
        F.conv2d(x, em.tensor(np.zeros((4, 3, 3, 3), np.float32), device="numpy"))


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_binding_checks_too(device):
    """Called directly, the kernel module raises instead of reading out of bounds."""
    require(device)
    dev = get_backend(device)
    k, xp = dev.ops.module, dev.xp
    x, w = xp.zeros((1, 3, 5, 5), np.float32), xp.zeros((4, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"expected input with 6 channels"):
        k.conv2d_forward(xp.zeros((1, 6, 5, 5), np.float32)[:, :3].copy(), xp.zeros((4, 6, 3, 3), np.float32), None,
                         xp.zeros((1, 4, 3, 3), np.float32), *GEOM)
    with pytest.raises(ValueError, match="larger than the padded input"):
        k.conv2d_forward(x, w, None, xp.zeros((1, 4, 9, 9), np.float32), *GEOM)
    with pytest.raises(ValueError, match="stride must be positive"):
        k.conv2d_forward(x, w, None, xp.zeros((1, 4, 5, 5), np.float32), (0, 1), (1, 1), (1, 1), 1)
    with pytest.raises(TypeError, match="float64"):
        k.conv2d_forward(x, w.astype(np.float64), None, xp.zeros((1, 4, 5, 5), np.float32), *GEOM)
    with pytest.raises(TypeError, match="int64"):
        k.conv2d_forward(x.astype(np.int64), w.astype(np.int64), None, xp.zeros((1, 4, 5, 5), np.int64), *GEOM)


def _reference(x, w, b, geom, out):
    y = conv2d_forward(x, w, b, *geom, out)
    g = np.random.default_rng(3).standard_normal(y.shape)
    return y, g, conv2d_backward(x, w, g, *geom)


def _check_threads(k, x, w, b, g, geom, y_ref, grads, tol):
    """The CPU kernels with 1 and 2 threads (a batch split, or GEMMs split over the threads)
    against the reference; every output starts as NaN, so each must be written."""
    before = k.get_num_threads()
    try:
        for threads in (1, 2):
            k.set_num_threads(threads)
            y = np.full(y_ref.shape, np.nan, x.dtype)
            k.conv2d_forward(x, w, b, y, *geom)
            np.testing.assert_allclose(y, y_ref, rtol=tol, atol=tol, err_msg=f"y, {threads} threads")
            got = [np.full_like(x, np.nan), np.full_like(w, np.nan), np.full_like(b, np.nan)]
            k.conv2d_backward(x, w, g, *got, *geom)
            for name, a, want in zip("xwb", got, grads):
                np.testing.assert_allclose(a, want, rtol=tol, atol=tol, err_msg=f"grad {name}, {threads} threads")
    finally:
        k.set_num_threads(before)


# (x, w, (stride, padding, dilation, groups), output) for the CUDA kernels: tiles of 16 (float32),
# 32 and 64 rows, reductions whole and split over blocks (with the bias added once), one
# channel per group (grad input with M = 1), stride, dilation, windows wholly in the padding.
EMU_CASES = [((2, 3, 6, 5), (5, 3, 3, 2), ((2, 1), (1, 1), (1, 2), 1), (3, 5)),
             ((1, 4, 5, 5), (4, 1, 3, 3), ((1, 1), (1, 1), (1, 1), 4), (5, 5)),
             ((2, 36, 4, 3), (40, 36, 3, 3), ((1, 1), (1, 1), (1, 1), 1), (4, 3)),
             ((3, 16, 5, 4), (24, 16, 2, 3), ((2, 1), (2, 1), (1, 2), 1), (4, 2))]


def _check_emu_kernels(k, dtype, tol):
    rng = np.random.default_rng(0)
    for xs, ws, geom, out in EMU_CASES:
        x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
        y_ref, g, grads = _reference(x, w, b, geom, out)
        x, w, b, g = (a.astype(dtype) for a in (x, w, b, g))
        y = np.full(y_ref.shape, np.nan, dtype)
        k.conv2d_forward(x, w, b, y, *geom)
        got = [np.full_like(x, np.nan), np.full_like(w, np.nan), np.full_like(b, np.nan)]
        k.conv2d_backward(x, w, g, *got, *geom)
        for name, a, want in zip(("y", "gx", "gw", "gb"), [y] + got, (y_ref,) + tuple(grads)):
            np.testing.assert_allclose(a, want, rtol=tol, atol=tol, err_msg=f"{name} of {xs} * {ws}, {geom}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("schedule", ["forward", "reverse", "random:5"])
def test_cuda_emu_schedules_with_race_checker(schedule, dtype):
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    k.set_schedule(schedule)
    k.set_check(True)
    try:
        _check_emu_kernels(k, dtype, 1e-10 if dtype == np.float64 else 1e-4)
    finally:
        k.set_schedule("")
        k.set_check("")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_emu_64bit_indices(monkeypatch, dtype):
    """The kernels' 64-bit instantiation, which tensors of 2^30 elements or more take."""
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    monkeypatch.setenv("EMBER_CONV_INDEX64", "1")
    k.set_check(True)
    try:
        _check_emu_kernels(k, dtype, 1e-10 if dtype == np.float64 else 1e-4)
    finally:
        k.set_check("")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_empty_image_gives_the_bias(device):
    """H = 0 with padding: every window lies in the padding (and no kernel divides by H*W = 0)."""
    require(device)
    dev = get_backend(device)
    k, xp = dev.ops.module, dev.xp

    def host(a):  # CuPy -> NumPy
        return a.get() if hasattr(a, "get") else a

    geom = ((1, 1), (1, 0), (1, 1), 1)
    x, w, g = xp.zeros((2, 2, 0, 4), np.float32), xp.ones((3, 2, 1, 1), np.float32), xp.ones((2, 3, 2, 4), np.float32)
    b = xp.asarray(np.arange(3, dtype=np.float32))
    y = xp.full((2, 3, 2, 4), np.nan, np.float32)
    k.conv2d_forward(x, w, b, y, *geom)
    np.testing.assert_array_equal(host(y), np.broadcast_to(np.arange(3, dtype=np.float32)[:, None, None], (2, 3, 2, 4)))
    gx, gw, gb = xp.empty_like(x), xp.full_like(w, np.nan), xp.full_like(b, np.nan)
    k.conv2d_backward(x, w, g, gx, gw, gb, *geom)
    np.testing.assert_array_equal(host(gw), 0)
    np.testing.assert_array_equal(host(gb), 16)


@pytest.mark.parametrize("shape", [((1, 8, 9, 9), (16, 8, 3, 3)), ((3, 16, 6, 6), (32, 16, 1, 1)),
                                   ((5, 6, 7, 7), (6, 1, 3, 3))])
def test_cpu_paths_match_reference(shape):
    """Batch of one (threaded GEMMs), 1x1 (no im2col) and depthwise, with 1 and 2 threads."""
    require("cpu")
    k = get_backend("cpu").ops.module
    rng = np.random.default_rng(1)
    xs, ws = shape
    groups = xs[1] // ws[1]
    pad = ws[2] // 2
    geom = ((1, 1), (pad, pad), (1, 1), groups)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in (xs, ws, ws[:1]))
    y_ref, g, grads = _reference(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), geom, xs[2:])
    g = g.astype(np.float32)
    before = k.get_num_threads()
    try:
        for threads in (1, 2):
            k.set_num_threads(threads)
            y = np.empty(y_ref.shape, np.float32)
            k.conv2d_forward(x, w, b, y, *geom)
            np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
            out = [np.empty_like(x), np.empty_like(w), np.empty_like(b)]
            k.conv2d_backward(x, w, g, *out, *geom)
            for got, want in zip(out, grads):
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    finally:
        k.set_num_threads(before)


def test_only_some_gradients():
    require("cpu")
    rng = np.random.default_rng(2)
    x = _t(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    w = _t(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad.shape == (4, 3, 3, 3)


# Geometries for the GEMMs that pack col straight from the images (csrc/cpu/isa/conv2d_pack.cpp,
# groups of >= 16 channels): pixel panels that are one run of the plane, cross images (masked
# loads) or break at rows (gathers); weight-gradient channel runs split across kernel taps
# (20 channels); the input gradient as a flipped forward convolution (stride 1, C >= K) or
# gcol + col2im; groups of fewer channels, which take im2col; and the direct forward tiles.
PACKED_CASES = [
    ((4, 16, 9, 9), (24, 16, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # C < K, runs crossing images
    ((3, 20, 7, 6), (16, 20, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # C >= K: flipped input gradient
    ((3, 16, 9, 8), (10, 16, 3, 3), ((2, 2), (1, 1), (1, 1), 1)),   # stride 2: gathers, col2im
    ((2, 32, 8, 8), (8, 16, 3, 3), ((1, 1), (2, 2), (2, 2), 2)),    # dilation and groups
    ((3, 16, 7, 9), (5, 16, 2, 3), ((1, 1), (0, 2), (1, 1), 1)),    # asymmetric kernel, wider output
    ((2, 20, 7, 8), (16, 20, 3, 3), ((1, 1), (0, 0), (1, 1), 1)),   # "valid": runs broken at rows
    ((3, 6, 7, 9), (5, 6, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),      # 6 channels: im2col
    ((3, 16, 4, 5), (6, 16, 2, 2), ((1, 2), (2, 3), (1, 1), 1)),    # windows wholly in the padding
    # rows of >= 12 pixels: direct tiles read from a padded copy (forward, flipped input gradient)
    ((3, 16, 12, 13), (32, 16, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),
    ((2, 32, 13, 14), (24, 32, 3, 3), ((1, 1), (2, 1), (2, 1), 1)),
    ((2, 64, 12, 12), (64, 32, 3, 3), ((1, 1), (1, 1), (1, 1), 2)),   # 12 wide: direct for mr 6 only
    ((2, 64, 10, 14), (64, 32, 3, 3), ((1, 1), (1, 1), (1, 1), 2)),   # 14 wide: direct for mr 14
    ((2, 16, 10, 12), (32, 16, 2, 3), ((1, 1), (3, 2), (1, 1), 1)),
    ((2, 16, 24, 24), (32, 16, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # > 1024 pixels per GEMM: chunks
    # Winograd F(2x2, 3x3) (3x3, stride 1, one group, >= 16 channels; the input gradient is
    # its forward with the kernel flipped): odd maps (partial 2x2 tiles), channel counts off
    # the 16-tile transposes and the register tiles, "valid" rows with wide columns, padding
    # beyond the kernel, batches of several chunks (64 tiles) with a partial one, and images of
    # more tiles than a pass.
    ((3, 17, 7, 9), (20, 17, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),
    ((5, 16, 5, 6), (33, 16, 3, 3), ((1, 1), (0, 2), (1, 1), 1)),
    ((2, 16, 4, 4), (16, 16, 3, 3), ((1, 1), (3, 3), (1, 1), 1)),
    ((9, 16, 8, 8), (32, 16, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),
    ((3, 40, 3, 3), (18, 40, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),
    ((2, 16, 19, 18), (20, 16, 3, 3), ((1, 1), (1, 1), (1, 1), 1)),   # 90 tiles an image: two passes
]


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", PACKED_CASES, ids=lambda c: "x".join(map(str, c[0])) + "_" + "x".join(map(str, c[1])))
def test_packed_paths_match_reference(case, dtype, isa):
    """One thread runs every batch slice through the packed GEMMs; two threads split the batch
    (the larger cases) or the GEMMs (the smaller ones)."""
    k = get_backend("cpu").ops.module
    rng = np.random.default_rng(4)
    xs, ws, geom = case
    x, w, b = (rng.standard_normal(s) for s in (xs, ws, ws[:1]))
    stride, pad, dil, _ = geom
    out = tuple((xs[2 + i] + 2 * pad[i] - dil[i] * (ws[2 + i] - 1) - 1) // stride[i] + 1 for i in range(2))
    y_ref, g, grads = _reference(x, w, b, geom, out)
    tol = 1e-10 if dtype == np.float64 else 2e-4
    x, w, b, g = (a.astype(dtype) for a in (x, w, b, g))
    _check_threads(k, x, w, b, g, geom, y_ref, grads, tol)


# Shapes every forced path fits (3x3, stride 1, >= 16 channels, one group), with rows too narrow
# for the direct tiles' own choice, C < K and C > K, and a batch of one (the threaded GEMMs).
FORCED_CASES = [((3, 16, 12, 13), (24, 16, 3, 3), 1), ((2, 16, 9, 9), (16, 16, 3, 3), 1),
                ((2, 32, 8, 8), (16, 32, 3, 3), 1), ((1, 16, 6, 7), (20, 16, 3, 3), 2)]


@pytest.mark.parametrize("path", ["winograd", "direct", "packed", "im2col", "flipped"])
@pytest.mark.parametrize("case", FORCED_CASES, ids=lambda c: "x".join(map(str, c[0])) + "_" + "x".join(map(str, c[1])))
def test_forced_paths_match_reference(monkeypatch, case, path):
    """EMBER_CONV_PATH (what bench_conv2d.py --paths times) runs each path where the plan
    would pick another; every one gives the reference's numbers, with 1 and 2 threads."""
    k = get_backend("cpu").ops.module
    rng = np.random.default_rng(5)
    xs, ws, pad = case
    geom = ((1, 1), (pad, pad), (1, 1), 1)
    out = tuple(xs[2 + i] + 2 * pad - 2 for i in range(2))
    x, w, b = (rng.standard_normal(s) for s in (xs, ws, ws[:1]))
    y_ref, g, grads = _reference(x, w, b, geom, out)
    monkeypatch.setenv("EMBER_CONV_PATH", path)
    _check_threads(k, x, w, b, g, geom, y_ref, grads, 1e-10)


def test_forced_path_is_the_one_run(monkeypatch):
    """Forcing switches the kernels: Winograd's transforms round differently from im2col's
    direct sums, and an unknown path is refused by name."""
    k = get_backend("cpu").ops.module
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 16, 8, 8)).astype(np.float32), rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    ys = {}
    for path in ("winograd", "im2col"):
        monkeypatch.setenv("EMBER_CONV_PATH", path)
        ys[path] = np.empty((2, 16, 8, 8), np.float32)
        k.conv2d_forward(x, w, None, ys[path], *GEOM)
    np.testing.assert_allclose(ys["winograd"], ys["im2col"], rtol=1e-4, atol=1e-4)
    assert not np.array_equal(ys["winograd"], ys["im2col"])
    monkeypatch.setenv("EMBER_CONV_PATH", "fft")
    with pytest.raises(ValueError, match="EMBER_CONV_PATH='fft'.*winograd, direct, packed, im2col, flipped"):
        k.conv2d_forward(x, w, None, ys["im2col"], *GEOM)
