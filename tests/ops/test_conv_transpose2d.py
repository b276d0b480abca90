"""conv_transpose2d edge cases beyond the op database: bad input raises ValueError naming the
shapes (in Python and again in the binding, which takes exactly PyTorch's output sizes and
refuses geometry that overflows), the CUDA kernels under every emulator schedule with the race
checker (and their 64-bit index path), and every CPU path of the conv2d kernels it runs on
(forced, each ISA level, 1 and 2 threads)."""
import numpy as np
import pytest

import ember as em
from ember.backends import get_backend
from ember.backends.numpy_ref import conv_transpose2d_backward, conv_transpose2d_forward

from .check import KERNEL_DEVICES, require

F = em.nn.functional


def _t(a, device="cpu", **kw):
    return em.tensor(a, device=device, **kw)


@pytest.mark.parametrize("x_shape,w_shape,kw,match", [
    ((2, 3, 5, 5), (4, 2, 3, 3), {}, r"expects input with 4 channels.*\(2, 3, 5, 5\)"),
    ((3, 5), (3, 2, 3, 3), {}, r"3-D \(C, H, W\) or 4-D.*\(3, 5\)"),
    ((1, 3, 5, 5), (3, 2, 3), {}, r"4-D weight.*\(3, 2, 3\)"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"groups": 2}, r"in_channels 3.*not divisible by groups=2"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"groups": 0}, r"groups must be a positive int"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"stride": 0}, r"stride must be positive"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"dilation": (1, 0)}, r"dilation must be positive"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"padding": -1}, r"padding must be non-negative"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"stride": 2, "output_padding": 2}, r"output_padding 2 must be .*smaller than"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"output_padding": 1}, r"smaller than either stride 1 or dilation 1"),
    ((1, 3, 5, 5), (3, 2, 3, 3), {"output_padding": -1}, r"output_padding -1 must be non-negative"),
    ((1, 3, 1, 1), (3, 2, 1, 1), {"padding": 1}, r"output size \(-1, -1\) is too small.*\(1, 3, 1, 1\)"),
    ((1, 3, 0, 4), (3, 2, 3, 3), {}, r"input of shape \(1, 3, 0, 4\) has an empty image"),
    ((1, 3, 4, 4), (3, 0, 3, 3), {}, r"weight of shape \(3, 0, 3, 3\) is empty"),
    ((1, 3, 4, 4), (3, 2, 3, 3), {"stride": 2**62}, r"output of \d+ x \d+ images is too large"),
    ((1, 3, 4, 4), (3, 2, 3, 3), {"stride": 2**70}, r"stride \d+ is outside the range of int64"),
    ((1, 3, 4, 4), (3, 2, 3, 3), {"output_padding": 2**63}, r"output_padding \d+ is outside the range of int64"),
])
def test_bad_input_raises_value_error(x_shape, w_shape, kw, match):
    x, w = _t(np.zeros(x_shape, np.float32)), _t(np.zeros(w_shape, np.float32))
    with pytest.raises(ValueError, match=match):
        F.conv_transpose2d(x, w, **kw)


def test_bad_argument_types():
    x, w = _t(np.zeros((1, 3, 5, 5), np.float32)), _t(np.zeros((3, 4, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\) must have shape \(4,\)"):
        F.conv_transpose2d(x, w, _t(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="float64"):
        F.conv_transpose2d(x, _t(np.zeros((3, 4, 3, 3)), dtype=np.float64))
    with pytest.raises(ValueError, match="numpy"):
        F.conv_transpose2d(x, em.tensor(np.zeros((3, 4, 3, 3), np.float32), device="numpy"))
    with pytest.raises(TypeError, match="padding must be an int or a pair"):
        F.conv_transpose2d(x, w, padding="same")
    with pytest.raises(TypeError, match="int64"):
        F.conv_transpose2d(_t(np.zeros((1, 3, 5, 5), np.int64)), w)


GEOM = ((2, 2), (1, 1), (1, 1), 1)  # stride, padding, dilation, groups


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_binding_checks_too(device):
    """Called directly, the kernel module raises instead of reading or writing out of bounds."""
    require(device)
    dev = get_backend(device)
    k, xp = dev.ops.module, dev.xp
    x, w = xp.zeros((1, 3, 4, 4), np.float32), xp.zeros((3, 2, 3, 3), np.float32)
    y = xp.zeros((1, 2, 7, 7), np.float32)  # (4-1)*2 - 2 + 2 + 1; 8 with output padding 1
    k.conv_transpose2d_forward(x, w, None, y, *GEOM)
    k.conv_transpose2d_forward(x, w, None, xp.zeros((1, 2, 8, 7), np.float32), *GEOM)
    for bad in [(1, 2, 9, 7), (1, 2, 6, 7), (1, 2, 7, 9)]:  # output padding 2 >= stride, or negative
        with pytest.raises(ValueError, match="output size not given by the geometry"):
            k.conv_transpose2d_forward(x, w, None, xp.zeros(bad, np.float32), *GEOM)
    with pytest.raises(ValueError, match=r"expected input with 3 channels"):
        k.conv_transpose2d_forward(xp.zeros((1, 4, 4, 4), np.float32), w, None, y, *GEOM)
    with pytest.raises(ValueError, match="output does not fit"):
        k.conv_transpose2d_forward(x, w, None, xp.zeros((1, 3, 7, 7), np.float32), *GEOM)
    with pytest.raises(ValueError, match="output does not fit"):  # batch sizes differ
        k.conv_transpose2d_forward(x, w, None, xp.zeros((2, 2, 7, 7), np.float32), *GEOM)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        k.conv_transpose2d_forward(x, w, None, y, (2, 2), (1, 1), (1, 1), 2)
    with pytest.raises(ValueError, match=r"bias \(3,\) must have shape \(2,\)"):
        k.conv_transpose2d_forward(x, w, xp.zeros(3, np.float32), y, *GEOM)
    with pytest.raises(ValueError, match="stride must be positive"):
        k.conv_transpose2d_forward(x, w, None, y, (0, 2), (1, 1), (1, 1), 1)
    with pytest.raises(TypeError, match="float64"):
        k.conv_transpose2d_forward(x, w.astype(np.float64), None, y, *GEOM)
    with pytest.raises(TypeError, match="int64"):
        k.conv_transpose2d_forward(x.astype(np.int64), w.astype(np.int64), None, y.astype(np.int64), *GEOM)
    with pytest.raises(ValueError, match=r"grad_bias \(3,\) must have shape \(2,\)"):
        k.conv_transpose2d_backward(x, w, y, None, None, xp.zeros(3, np.float32), *GEOM)


@pytest.mark.parametrize("module_name", ["cpu", "cuda-emu"])
def test_binding_takes_exactly_pytorchs_sizes(module_name):
    """For each geometry the binding accepts the output sizes of output_padding in
    [0, max(stride, dilation)), which are PyTorch's, and refuses every other."""
    torch = pytest.importorskip("torch")
    require(module_name)
    k = get_backend(module_name).ops.module
    for H in (1, 2, 5):
        for kk in (1, 2, 3):
            for s in (1, 2, 3):
                for p in (0, 1, 2):
                    for d in (1, 2):
                        x, w = np.zeros((1, 1, H, 2), np.float32), np.zeros((1, 1, kk, 1), np.float32)
                        sizes = set()
                        for e in range(max(s, d)):
                            try:
                                out = torch.nn.functional.conv_transpose2d(
                                    torch.zeros(1, 1, H, 2), torch.zeros(1, 1, kk, 1), None, (s, 1), (p, 0), (e, 0),
                                    1, (d, 1))
                            except RuntimeError:
                                continue
                            sizes.add(out.shape[2])
                        for Ho in range(12):
                            y = np.zeros((1, 1, Ho, 2), np.float32)
                            try:
                                k.conv_transpose2d_forward(x, w, None, y, (s, 1), (p, 0), (d, 1), 1)
                                ok = True
                            except ValueError:
                                ok = False
                            assert ok == (Ho in sizes), (H, kk, s, p, d, Ho, sizes)


@pytest.mark.parametrize("module_name", ["cpu", "cuda-emu"])
@pytest.mark.parametrize("value", [2**62, 2**63 - 1])
def test_huge_geometry_raises(module_name, value):
    require(module_name)
    k = get_backend(module_name).ops.module
    x, w, y = np.ones((1, 2, 3, 3), np.float32), np.ones((2, 3, 3, 3), np.float32), np.zeros((1, 3, 5, 5), np.float32)
    for geometry in [((value, 1), (0, 0), (1, 1)), ((1, 1), (0, 0), (value, 1)), ((1, 1), (value, 0), (1, 1))]:
        with pytest.raises(ValueError):
            k.conv_transpose2d_forward(x, w, None, y, *geometry, 1)
        with pytest.raises(ValueError):
            k.conv_transpose2d_backward(x, w, y, None, np.zeros_like(w), None, *geometry, 1)
    with pytest.raises(ValueError):
        k.conv_transpose2d_forward(np.ones((1, 4, 3, 3), np.float32), np.ones((4, 0, 3, 3), np.float32), None,
                                   np.zeros((1, 0, 5, 5), np.float32), (1, 1), (0, 0), (1, 1), 2**62)
    x1, y1 = np.ones((1, 2, 1, 1), np.float32), np.zeros((1, 3, 3, 3), np.float32)
    if value == 2**63 - 1:  # one window past the last no longer fits int64: refused too
        with pytest.raises(ValueError, match="window reach"):
            k.conv_transpose2d_forward(x1, w, None, y1, (value, value), (0, 0), (1, 1), 1)
        return
    # one input row: a huge stride is multiplied by 0 and the output is the kernel's size
    k.conv_transpose2d_forward(x1, w, None, y1, (value, value), (0, 0), (1, 1), 1)
    np.testing.assert_allclose(y1, 2.0)


def _reference(x, w, b, geom, out):
    y = conv_transpose2d_forward(x, w, b, *geom, out)
    g = np.random.default_rng(3).standard_normal(y.shape)
    return y, g, conv_transpose2d_backward(x, w, g, *geom)


def _out_size(xs, ws, geom, extra=(0, 0)):
    (sh, sw), (ph, pw), (dh, dw), _ = geom
    return ((xs[2] - 1) * sh - 2 * ph + dh * (ws[2] - 1) + 1 + extra[0],
            (xs[3] - 1) * sw - 2 * pw + dw * (ws[3] - 1) + 1 + extra[1])


def _check_kernels(k, case, dtype, tol, seed=0):
    """The module's kernels on case against the NumPy reference; every output starts as NaN."""
    rng = np.random.default_rng(seed)
    xs, ws, geom, extra = case
    groups = geom[3]
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[1] * groups)
    out = _out_size(xs, ws, geom, extra)
    y_ref, g, grads = _reference(x, w, b, geom, out)
    x, w, b, g = (a.astype(dtype) for a in (x, w, b, g))
    y = np.full(y_ref.shape, np.nan, dtype)
    k.conv_transpose2d_forward(x, w, b, y, *geom)
    got = [np.full_like(x, np.nan), np.full_like(w, np.nan), np.full_like(b, np.nan)]
    k.conv_transpose2d_backward(x, w, g, *got, *geom)
    for name, a, want in zip(("y", "gx", "gw", "gb"), [y] + got, (y_ref,) + tuple(grads)):
        np.testing.assert_allclose(a, want, rtol=tol, atol=tol, err_msg=f"{name} of {xs} * {ws}, {geom}, {extra}")


# (x, w, (stride, padding, dilation, groups), output padding) for the CUDA kernels: conv2d's
# tiles of 16 (float32), 32 and 64 rows, whole and split reductions, one output channel per
# group, stride, dilation, output padding past the stride, padding cropping whole taps.
EMU_CASES = [((2, 3, 4, 3), (3, 5, 3, 2), ((2, 1), (1, 1), (1, 2), 1), (1, 0)),
             ((1, 4, 5, 5), (4, 1, 3, 3), ((1, 1), (1, 1), (1, 1), 4), (0, 0)),
             ((2, 40, 3, 3), (40, 36, 3, 3), ((1, 1), (1, 1), (1, 1), 1), (0, 0)),
             ((3, 24, 4, 2), (24, 16, 2, 3), ((2, 1), (2, 1), (1, 2), 1), (1, 1)),
             ((2, 2, 3, 3), (2, 3, 3, 3), ((1, 1), (2, 0), (2, 2), 1), (1, 1)),
             ((3, 20, 1, 1), (20, 17, 4, 4), ((1, 1), (0, 0), (1, 1), 1), (0, 0)),   # one matmul
             ((0, 20, 1, 1), (20, 17, 4, 4), ((1, 1), (0, 0), (1, 1), 1), (0, 0))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("schedule", ["forward", "reverse", "random:5"])
def test_cuda_emu_schedules_with_race_checker(schedule, dtype):
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    k.set_schedule(schedule)
    k.set_check(True)
    try:
        for case in EMU_CASES:
            _check_kernels(k, case, dtype, 1e-10 if dtype == np.float64 else 1e-4)
    finally:
        k.set_schedule("")
        k.set_check("")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_emu_64bit_indices(monkeypatch, dtype):
    """conv2d's 64-bit instantiation, which tensors of 2^30 elements or more take."""
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    monkeypatch.setenv("EMBER_CONV_INDEX64", "1")
    k.set_check(True)
    try:
        for case in EMU_CASES:
            _check_kernels(k, case, dtype, 1e-10 if dtype == np.float64 else 1e-4)
    finally:
        k.set_check("")


# CPU cases for conv2d's paths, seen from the conv being transposed (its input is y): stride 1
# with its flipped forward (output padding below the dilation too), stride 2 (gcol + col2im,
# DCGAN's 4x4 layer), groups, >= 16 channels (packed and direct tiles, Winograd's weight
# gradient), a batch of one (the GEMMs split over the threads) and windows cropped by padding.
CPU_CASES = [((2, 3, 5, 6), (3, 4, 3, 3), ((1, 1), (0, 0), (1, 1), 1), (0, 0)),
             ((2, 3, 4, 4), (3, 5, 3, 3), ((1, 1), (1, 1), (2, 2), 1), (1, 1)),
             ((3, 32, 4, 4), (32, 16, 4, 4), ((2, 2), (1, 1), (1, 1), 1), (0, 0)),
             ((2, 16, 5, 4), (16, 24, 3, 3), ((3, 2), (1, 0), (1, 1), 1), (2, 1)),
             ((2, 32, 6, 5), (32, 8, 3, 3), ((1, 1), (1, 1), (1, 1), 2), (0, 0)),
             ((3, 16, 7, 12), (16, 32, 3, 3), ((1, 1), (1, 1), (1, 1), 1), (0, 0)),
             ((2, 24, 6, 6), (24, 20, 3, 3), ((1, 1), (0, 0), (1, 1), 1), (0, 0)),
             ((1, 16, 6, 7), (16, 20, 3, 3), ((1, 1), (2, 2), (1, 1), 1), (0, 0)),
             ((4, 6, 3, 3), (6, 1, 3, 3), ((2, 2), (1, 1), (1, 1), 6), (1, 1)),
             # a 1x1 input: one matmul (a batch of 0 gives gw = 0); padded or with output padding: conv2d's
             ((5, 20, 1, 1), (20, 17, 4, 4), ((1, 1), (0, 0), (1, 1), 1), (0, 0)),
             ((0, 20, 1, 1), (20, 17, 4, 4), ((1, 1), (0, 0), (1, 1), 1), (0, 0)),
             ((3, 20, 1, 1), (20, 17, 4, 4), ((2, 2), (1, 1), (1, 1), 1), (1, 0))]
CASE_IDS = ["x".join(map(str, c[0])) + "_" + "x".join(map(str, c[1])) + f"_s{c[2][0][0]}" for c in CPU_CASES]


def _with_threads(k, fn):
    before = k.get_num_threads()
    try:
        for threads in (1, 2):
            k.set_num_threads(threads)
            fn()
    finally:
        k.set_num_threads(before)


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CPU_CASES, ids=CASE_IDS)
def test_cpu_paths_match_reference(case, dtype, isa):
    k = get_backend("cpu").ops.module
    _with_threads(k, lambda: _check_kernels(k, case, dtype, 1e-10 if dtype == np.float64 else 2e-4))


@pytest.mark.parametrize("path", ["winograd", "direct", "packed", "im2col", "flipped"])
@pytest.mark.parametrize("case", [CPU_CASES[i] for i in (0, 2, 5, 7)], ids=[CASE_IDS[i] for i in (0, 2, 5, 7)])
def test_forced_conv_paths_match_reference(monkeypatch, case, path):
    """EMBER_CONV_PATH forces conv2d's paths (where they fit) under every part of the transposed conv."""
    require("cpu")
    k = get_backend("cpu").ops.module
    monkeypatch.setenv("EMBER_CONV_PATH", path)
    _with_threads(k, lambda: _check_kernels(k, case, np.float64, 1e-10, seed=1))


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_batch_of_zero_and_only_some_gradients(device):
    require(device)
    rng = np.random.default_rng(2)
    x = _t(np.zeros((0, 3, 4, 4), np.float32), device)
    w = _t(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), device, requires_grad=True)
    b = _t(rng.standard_normal(2).astype(np.float32), device, requires_grad=True)
    y = F.conv_transpose2d(x, w, b, stride=2, output_padding=1)
    assert y.shape == (0, 2, 10, 10)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), 0)
    np.testing.assert_array_equal(b.grad.numpy(), 0)
    x = _t(rng.standard_normal((2, 3, 4, 4)).astype(np.float32), device)
    w.grad = None
    F.conv_transpose2d(x, w, stride=2).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)
    assert F.conv_transpose2d(x, w).grad_fn.__class__.__name__ == "ConvTranspose2dBackward"
