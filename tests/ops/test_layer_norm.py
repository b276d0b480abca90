"""Kernel-level edge tests for layer_norm over the last axis of (rows, cols): large offsets
(the centred two-pass variance), wide rows, bad arguments, and the CUDA kernels (shared-memory
column reduction) under the emulator's schedules with its race checker on."""
import numpy as np
import pytest

import ember as em

from .check import KERNEL_DEVICES, require

DEVICES = ["numpy"] + KERNEL_DEVICES


def _ref(x, w, b, eps=1e-5):
    x = x.astype(np.float64)
    m = x.mean(axis=1, keepdims=True)
    y = (x - m) / np.sqrt(((x - m) ** 2).mean(axis=1, keepdims=True) + eps)
    return y * w + b


@pytest.mark.parametrize("device", DEVICES)
def test_large_offset_and_wide_rows(device):
    require(device)
    rng = np.random.default_rng(3)
    for rows, cols in [(3, 1000), (9, 33), (2, 1)]:
        x = (rng.standard_normal((rows, cols)) + 1e4).astype(np.float32)  # |mean| >> std
        w, b = rng.standard_normal(cols).astype(np.float32), rng.standard_normal(cols).astype(np.float32)
        y = em.nn.functional.layer_norm(em.tensor(x, device=device), cols, em.tensor(w, device=device),
                                        em.tensor(b, device=device))
        np.testing.assert_allclose(y.numpy(), _ref(x, w, b), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_module_matches_torch_and_names(device):
    require(device)
    torch = pytest.importorskip("torch")
    t = torch.nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        t.weight.uniform_(-1, 1)
        t.bias.uniform_(-1, 1)
    m = em.nn.LayerNorm((3, 4), dtype=em.float64).to(device)
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 5, 3, 4))
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, dtype=em.float64, device=device, requires_grad=True)
    (t(tx) ** 2).sum().backward()
    (m(ex) ** 2).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(m.bias.grad.numpy(), t.bias.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_bad_input_names_shapes():
    x = em.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5,\)"):
        em.nn.functional.layer_norm(x, 5)
    with pytest.raises(ValueError, match="weight of shape"):
        em.nn.functional.layer_norm(x, 4, em.ones(3))
    with pytest.raises(TypeError):
        em.nn.functional.layer_norm(em.tensor(np.arange(4)), 4)
    with pytest.raises(ValueError):
        em.nn.LayerNorm(0)


def test_kernel_argument_checks(cpu_kernels):
    x = np.zeros((2, 3), np.float32)
    mean, rstd = np.empty(2, np.float32), np.empty(2, np.float32)
    with pytest.raises(ValueError, match="weight"):
        cpu_kernels.layer_norm_forward(x, np.ones(4, np.float32), None, np.empty_like(x), mean, rstd, 1e-5)
    with pytest.raises(TypeError):
        cpu_kernels.layer_norm_forward(x, np.ones(3, np.float64), None, np.empty_like(x), mean, rstd, 1e-5)
    with pytest.raises(ValueError, match="rows"):
        cpu_kernels.layer_norm_forward(x, None, None, np.empty_like(x), np.empty(3, np.float32), rstd, 1e-5)
    with pytest.raises(TypeError, match="int64"):
        xi = np.zeros((2, 3), np.int64)
        cpu_kernels.layer_norm_forward(xi, None, None, np.empty_like(xi), np.empty(2, np.int64),
                                       np.empty(2, np.int64), 1e-5)


@pytest.mark.parametrize("schedule", ["reverse", "random:5"])
def test_cuda_emu_schedules_with_race_checker(schedule):
    require("cuda-emu")
    emu = em.backends.get_backend("cuda-emu").ops.module
    emu.set_schedule(schedule)
    emu.set_check(True)
    try:
        rng = np.random.default_rng(1)
        x, w, b = rng.standard_normal((13, 37)), rng.standard_normal(37), rng.standard_normal(37)
        g = rng.standard_normal((13, 37))
        out = {}
        for dev in ("numpy", "cuda-emu"):
            tx = em.tensor(x, dtype=em.float64, device=dev, requires_grad=True)
            tw = em.tensor(w, dtype=em.float64, device=dev, requires_grad=True)
            tb = em.tensor(b, dtype=em.float64, device=dev, requires_grad=True)
            y = em.nn.functional.layer_norm(tx, 37, tw, tb)
            y.backward(em.tensor(g, dtype=em.float64, device=dev))
            out[dev] = [y.numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()]
        for a, e in zip(out["cuda-emu"], out["numpy"]):
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10)
    finally:
        emu.set_schedule("")
        emu.set_check("")
