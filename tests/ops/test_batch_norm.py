"""batch_norm beyond the op database: running statistics as PyTorch updates them, bad input,
the kernels' float64 agreement with the reference on odd sizes, and the CUDA kernel under
every emulator schedule with the race checker."""
import numpy as np
import pytest

import ember as em
from ember.backends import get_backend
from ember.backends.numpy_ref import batch_norm_backward, batch_norm_forward

from .check import DEVICES, require

F = em.nn.functional


@pytest.mark.parametrize("device", DEVICES)
def test_running_stats_unbiased_momentum(device):
    require(device)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5)) * 2 + 1
    rm, rv = em.zeros(3, dtype=np.float64, device=device), em.ones(3, dtype=np.float64, device=device)
    F.batch_norm(em.tensor(x, dtype=np.float64, device=device), rm, rv, training=True, momentum=0.1)
    np.testing.assert_allclose(rm.numpy(), 0.1 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.9 + 0.1 * x.var(axis=(0, 2), ddof=1), rtol=1e-12)


def test_bad_input():
    x = em.tensor(np.zeros((4, 3), np.float32), device="cpu")
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) must have shape \(3,\)"):
        F.batch_norm(x, None, None, em.ones(2, device="cpu"), training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(em.tensor(np.zeros((1, 3), np.float32), device="cpu"), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"expected input with 4 channels"):
        em.nn.BatchNorm1d(4).to("cpu")(x)
    with pytest.raises(ValueError, match=r"4-D input"):
        em.nn.BatchNorm2d(3).to("cpu")(x)


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random:5"])
def test_cuda_emu_schedules_with_checks(schedule):
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    rng = np.random.default_rng(1)
    x, gy = rng.standard_normal((3, 5, 37)) + 3, rng.standard_normal((3, 5, 37))
    w, b = rng.standard_normal(5), rng.standard_normal(5)
    k.set_schedule(schedule)
    k.set_check(True)
    try:
        for training in (True, False):
            want_y, m, v = batch_norm_forward(x, w, b, np.full(5, 0.5), np.full(5, 2.0), 1e-5, training)
            y, mean, var = np.empty_like(x), np.full(5, 0.5), np.full(5, 2.0)
            k.batch_norm_forward(x, w, b, mean, var, y, 1e-5, training)
            np.testing.assert_allclose(y, want_y, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(mean, m, rtol=1e-12)
            gx, gw, gb = np.empty_like(x), np.empty(5), np.empty(5)
            k.batch_norm_backward(x, gy, w, mean, var, gx, gw, gb, 1e-5, training)
            for got, want in zip((gx, gw, gb), batch_norm_backward(x, gy, w, m, v, 1e-5, training)):
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)
    finally:
        k.set_schedule("")
        k.set_check("")


def test_binding_checks():
    require("cpu")
    k = get_backend("cpu").ops.module
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"'mean' \(4,\) must have shape \(3,\)"):
        k.batch_norm_forward(x, None, None, np.zeros(4, np.float32), np.zeros(3, np.float32), np.empty_like(x), 1e-5,
                             True)
    with pytest.raises(ValueError, match="3-D"):
        k.batch_norm_forward(x[0], None, None, np.zeros(4, np.float32), np.zeros(4, np.float32), x[0].copy(), 1e-5,
                             True)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 2, 2), (2, 3, 0)])
@pytest.mark.parametrize("training", [False, True])
def test_empty_batch_as_torch(device, shape, training):
    """No values: an empty output, the running statistics untouched, zero gradients, as PyTorch."""
    torch = pytest.importorskip("torch")
    rm, rv = em.full(3, 5.0, device=device), em.full(3, 2.0, device=device)
    w, b = (em.ones(3, device=device, requires_grad=True) for _ in range(2))
    x = em.zeros(shape, device=device, requires_grad=True)
    y = F.batch_norm(x, rm, rv, w, b, training=training)
    y.sum().backward()
    tw, tb = (torch.ones(3, requires_grad=True) for _ in range(2))
    tx, trm, trv = torch.zeros(shape, requires_grad=True), torch.full((3,), 5.0), torch.full((3,), 2.0)
    torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=training).sum().backward()
    assert y.shape == shape and x.grad.shape == shape
    for got, want in ((rm, trm), (rv, trv), (w.grad, tw.grad), (b.grad, tb.grad)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
