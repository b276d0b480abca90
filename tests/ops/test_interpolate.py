"""interpolate edge cases beyond the op database: PyTorch's output sizes and taps over many
sizes and scale factors (the nearest/identity/2x shortcuts, non-integer factors, both
align_corners), bad input (ValueError in Python and in the binding), the modules, and the
CUDA kernels under every emulator schedule with its checks on."""
import numpy as np
import pytest

import ember as em
from ember.backends import get_backend
from ember.backends.numpy_ref import interpolate_backward, interpolate_forward

from .check import DEVICES, KERNEL_DEVICES, require

F = em.nn.functional

# (H, W) and the calls: sizes equal, doubled, odd, down; factors that make PyTorch's 1/scale map
# differ from in/out (1.04: same size but not the identity map; 2.0000001: twice the size)
CASES = [((5, 4), {"scale_factor": 2}), ((7, 5), {"size": (7, 11)}), ((6, 6), {"size": (3, 4)}),
         ((10, 9), {"scale_factor": 1.04}), ((10, 9), {"scale_factor": 2.0000001}),
         ((9, 7), {"scale_factor": (0.55, 1.9)}), ((9, 7), {"scale_factor": 1.3, "recompute_scale_factor": True}),
         ((4, 13), {"size": (1, 1)}), ((1, 1), {"size": (3, 2)})]
MODES = [{"mode": "nearest"}, {"mode": "bilinear"}, {"mode": "bilinear", "align_corners": True}]


@pytest.mark.torch
@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(map(str, m.values())))
@pytest.mark.parametrize("hw,kw", CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("device", DEVICES)
def test_matches_torch_sizes_and_factors(device, hw, kw, mode):
    require(device)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3) + hw).astype(np.float32)
    x = em.tensor(a, device=device, requires_grad=True)
    xt = torch.from_numpy(a.copy()).requires_grad_()
    y, yt = F.interpolate(x, **kw, **mode), torch.nn.functional.interpolate(xt, **kw, **mode)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(em.tensor(g, device=device))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw,match", [
    ({"size": 4, "mode": "bicubic"}, "mode must be one of"),
    ({"size": 4, "mode": "linear"}, "mode must be one of"),
    ({"size": 4, "scale_factor": 2}, "exactly one of size and scale_factor"),
    ({}, "exactly one of size and scale_factor"),
    ({"size": 4, "align_corners": True}, "align_corners option can only be set"),
    ({"size": 4, "recompute_scale_factor": True}, "not meaningful with an explicit size"),
    ({"size": (4, 4, 4)}, "one value or a pair"),
    ({"size": 0}, "size must be positive"),
    ({"scale_factor": -1}, "positive and finite"),
    ({"scale_factor": float("nan")}, "positive and finite"),
    ({"scale_factor": 0.1}, r"output size \(0, 0\)"),
])
def test_bad_arguments_raise_value_error(kw, match):
    x = em.tensor(np.zeros((2, 3, 4, 4), np.float32), device="numpy")
    with pytest.raises(ValueError, match=match):
        F.interpolate(x, **kw)


def test_bad_ndim_and_types():
    with pytest.raises(ValueError, match=r"\[interpolate\] expected a 4-D input.*\(3, 4, 4\)"):
        F.interpolate(em.zeros(3, 4, 4), scale_factor=2)
    with pytest.raises(TypeError, match="size must be ints"):
        F.interpolate(em.zeros(1, 1, 4, 4), size=2.5)
    with pytest.raises(TypeError, match="float32 or float64"):
        F.interpolate(em.tensor(np.zeros((1, 1, 2, 2), np.int64)), size=3)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_binding_checks(device):
    require(device)
    dev = get_backend(device)
    k, xp = dev.ops.module, dev.xp
    x, y = xp.zeros((1, 2, 4, 4), np.float32), xp.zeros((1, 2, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"\[interpolate_forward\] mode must be 'nearest' or 'bilinear'"):
        k.interpolate_forward(x, y, "bicubic", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="align_corners needs mode 'bilinear'"):
        k.interpolate_forward(x, y, "nearest", True, 0.0, 0.0)
    with pytest.raises(ValueError, match="batch or channels differ"):
        k.interpolate_forward(x, xp.zeros((1, 3, 8, 8), np.float32), "nearest", False, 0.0, 0.0)
    with pytest.raises(ValueError, match="positive and finite"):
        k.interpolate_backward(y, x, "bilinear", False, float("nan"), 2.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        k.interpolate_forward(x.astype(np.int64), y.astype(np.int64), "nearest", False, 0.0, 0.0)
    # any scale with any sizes keeps every tap inside the input
    for scale in (1e-30, 1e30):
        k.interpolate_forward(x + 1, y, "bilinear", False, scale, scale)
        assert bool((y == 1).all())


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random:5"])
def test_cuda_emu_schedules_with_checks(schedule):
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    k.set_schedule(schedule)
    k.set_check(True)
    try:
        for mode, align, scales, out in (("nearest", False, (1.6, 0.7), (11, 4)),
                                         ("bilinear", False, (0.0, 0.0), (5, 13)),
                                         ("bilinear", True, (0.0, 0.0), (9, 3))):
            y = np.empty((2, 3) + out)
            k.interpolate_forward(x, y, mode, align, *scales)
            np.testing.assert_allclose(y, interpolate_forward(x, out, mode, align, *scales), atol=1e-12)
            g = rng.standard_normal(y.shape)
            gx = np.empty_like(x)
            k.interpolate_backward(g, gx, mode, align, *scales)
            np.testing.assert_allclose(gx, interpolate_backward(g, x.shape, mode, align, *scales), atol=1e-12)
    finally:
        k.set_schedule("")
        k.set_check("")


@pytest.mark.torch
def test_modules_like_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 5)).astype(np.float32)
    pairs = [(em.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (em.nn.Upsample(size=(4, 7), mode="bilinear"), torch.nn.Upsample(size=(4, 7), mode="bilinear")),
             (em.nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
             (em.nn.UpsamplingBilinear2d(size=(6, 6)), torch.nn.UpsamplingBilinear2d(size=(6, 6)))]
    for m, mt in pairs:
        assert repr(m) == repr(mt)
        np.testing.assert_allclose(m(em.tensor(x)).numpy(), mt(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"\[Upsample\] align_corners"):
        em.nn.Upsample(scale_factor=2, align_corners=True)
