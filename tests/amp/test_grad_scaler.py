"""ember.amp.GradScaler against torch.amp.GradScaler("cpu"): scale trajectory and skipped steps."""
import numpy as np
import pytest

import ember as em

torch = pytest.importorskip("torch")

OVERFLOW_AT = {2, 6, 7}  # steps whose gradients hold inf or NaN


def _inputs(step):
    x = np.array([0.5, -1.0, 2.0], np.float32) * (step + 1)
    if step in OVERFLOW_AT:
        x[step % 3] = np.inf if step != 7 else np.nan
    return x


def _run_ember(steps, **kw):
    p = em.tensor(np.array([1.0, 2.0, -3.0], np.float32), requires_grad=True)
    opt = em.optim.SGD([p], lr=0.1)
    scaler = em.amp.GradScaler("cpu", **kw)
    scales = []
    for s in range(steps):
        opt.zero_grad()
        scaler.scale((p * em.tensor(_inputs(s))).sum()).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, p.detach().numpy(), scaler


def _run_torch(steps, **kw):
    p = torch.tensor([1.0, 2.0, -3.0], requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", **kw)
    scales = []
    for s in range(steps):
        opt.zero_grad()
        scaler.scale((p * torch.from_numpy(_inputs(s))).sum()).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, p.detach().numpy(), scaler


@pytest.mark.torch
@pytest.mark.parametrize("kw", [{}, {"init_scale": 8.0, "growth_interval": 2}, {"growth_factor": 3.0,
                                                                               "backoff_factor": 0.25,
                                                                               "growth_interval": 1}], ids=str)
def test_trajectory_as_torch(kw):
    scales, p, scaler = _run_ember(12, **kw)
    want_scales, want_p, tscaler = _run_torch(12, **kw)
    assert scales == want_scales
    np.testing.assert_allclose(p, want_p, rtol=1e-6)
    assert scaler.state_dict() == tscaler.state_dict()


def test_overflow_skips_the_step():
    p = em.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = em.optim.SGD([p], lr=1.0)
    scaler = em.amp.GradScaler("cpu", init_scale=4.0)
    scaler.scale((p * em.tensor(np.array([1, np.inf, 1], np.float32))).sum()).backward()
    assert scaler.step(opt) is None
    np.testing.assert_array_equal(p.numpy(), np.ones(3, np.float32))
    scaler.update()
    assert scaler.get_scale() == 2.0


def test_unscale_then_step_and_errors():
    p = em.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = em.optim.SGD([p], lr=1.0)
    scaler = em.amp.GradScaler("cpu", init_scale=16.0)
    scaler.scale((p * 3.0).sum()).backward()
    scaler.unscale_(opt)
    np.testing.assert_array_equal(p.grad.numpy(), [3.0, 3.0])  # clip_grad_norm_ may run here
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    np.testing.assert_array_equal(p.numpy(), [-2.0, -2.0])
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()


def test_state_dict_round_trip_and_disabled():
    _, _, scaler = _run_ember(5, init_scale=32.0, growth_interval=3)
    other = em.amp.GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.state_dict() == scaler.state_dict()
    off = em.amp.GradScaler("cpu", enabled=False)
    loss = em.tensor(2.0)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^\[GradScaler\] device must be 'cpu' or 'cuda'"):
        em.amp.GradScaler("tpu")
    with pytest.raises(ValueError, match=r"^\[GradScaler\] growth_factor must be > 1"):
        em.amp.GradScaler(growth_factor=1.0)
    with pytest.raises(ValueError, match=r"^\[GradScaler\] backoff_factor must be in \(0, 1\)"):
        em.amp.GradScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match=r"^\[GradScaler\] growth_interval must be a positive int"):
        em.amp.GradScaler(growth_interval=0)
