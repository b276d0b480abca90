"""SGD: trajectories equal to PyTorch's, state_dict round trip."""
import numpy as np
import pytest

import ember as em

CONFIGS = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
           dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.01), dict(lr=0.1, maximize=True)]


def _quadratic(p, target):
    return ((p - target) ** 2).sum()


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_sgd_converges_on_a_quadratic(cfg):
    if cfg.get("maximize"):
        pytest.skip("maximize diverges on a quadratic by design; checked against torch below")
    p = em.nn.Parameter(em.tensor([3.0, -2.0]))
    opt = em.optim.SGD([p], **cfg)
    for _ in range(200):
        opt.zero_grad()
        _quadratic(p, em.tensor([1.0, 1.0])).backward()
        opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0, 1.0], atol=1e-2)


@pytest.mark.torch
@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_sgd_matches_pytorch_step_for_step(cfg):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0, target = rng.standard_normal(5), rng.standard_normal(5)
    p = em.nn.Parameter(em.tensor(w0, dtype=em.float64))
    tp = torch.tensor(w0, requires_grad=True)
    opt, topt = em.optim.SGD([p], **cfg), torch.optim.SGD([tp], **cfg)
    for _ in range(10):
        opt.zero_grad()
        (((p - em.tensor(target, dtype=em.float64)) ** 2) * 0.5).sum().backward()
        opt.step()
        topt.zero_grad()
        (((tp - torch.from_numpy(target)) ** 2) * 0.5).sum().backward()
        topt.step()
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_sgd_state_dict_round_trip():
    p = em.nn.Parameter(em.tensor([1.0, 2.0]))
    opt = em.optim.SGD([p], lr=0.1, momentum=0.9)
    p.sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["momentum"] == 0.9 and 0 in sd["state"]
    q = em.nn.Parameter(em.tensor([1.0, 2.0]))
    opt2 = em.optim.SGD([q], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1
    buf = opt2.state[id(q)]["momentum_buffer"]  # the device's own array (CuPy on cuda)
    np.testing.assert_array_equal(q._backend.to_host(buf), [1.0, 1.0])
