"""Adadelta: 50-step trajectories equal to PyTorch's (float64, several parameter groups, weight
decay, maximize) on every device, the fused kernels against the NumPy reference (float32, every
ISA level, size tails), state_dict, and errors."""
import numpy as np
import pytest

import ember as em

from ..devices import DEVICES
from .test_optimizers import _trajectory

CONFIGS = [dict(), dict(lr=0.5, rho=0.5, eps=1e-4), dict(weight_decay=0.1, maximize=True), dict(rho=0.0),
           dict(rho=1.0)]


def _ids(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults"


def _groups(kw):
    """Three parameter groups: the defaults given, and two that override lr, rho, weight decay."""
    return lambda lib, ps: lib.optim.Adadelta(
        [{"params": ps[:2]}, {"params": ps[2:3], "lr": 2.0, "rho": 0.8},
         {"params": ps[3:], "weight_decay": 0.05, "eps": 1e-5}], **kw)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", CONFIGS, ids=_ids)
def test_matches_torch_over_50_steps(kw, device):
    torch = pytest.importorskip("torch")
    make = _groups(kw)
    got = _trajectory(lambda ps: make(em, ps), device, np.float64, steps=50)
    want = _trajectory(lambda ps: make(torch, ps), None, np.float64, steps=50, torch=torch)
    for k, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=f"step {k + 1} on {device}")


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "numpy"])
@pytest.mark.parametrize("kw", CONFIGS, ids=_ids)
def test_float32_kernels_match_numpy_reference(kw, device):
    make = _groups(kw)
    got = _trajectory(lambda ps: make(em, ps), device, np.float32, steps=20)
    want = _trajectory(lambda ps: make(em, ps), "numpy", np.float32, steps=20)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6, err_msg=f"on {device}")


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_kernels_at_every_isa_level(dtype, isa):
    make = _groups(dict(weight_decay=0.01))
    got = _trajectory(lambda ps: make(em, ps), "cpu", dtype, steps=10)
    want = _trajectory(lambda ps: make(em, ps), "numpy", dtype, steps=10)
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, err_msg=f"at {isa}", **tol)


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "numpy"])
@pytest.mark.parametrize("n", [0, 1, 255, 257, 70001])
def test_kernel_sizes_and_tails(device, n):
    """Every item updated, nothing past the end (p has one canary item beyond the n updated)."""
    rng = np.random.default_rng(n)
    p0, g = rng.standard_normal(n + 1), rng.standard_normal(n)
    sq0, acc0 = rng.random(n), rng.random(n)
    outs = []
    for b in (em.backends.get_backend(device), em.backends.get_backend("numpy")):
        p, sq, acc = b.from_host(p0.copy()), b.from_host(sq0.copy()), b.from_host(acc0.copy())
        b.ops.adadelta_step(p[:n], b.from_host(g), sq, acc, 1.0, 0.9, 1e-6, 0.01, False)
        outs.append([b.to_host(a) for a in (p, sq, acc)])
    for a, r in zip(*outs):
        np.testing.assert_allclose(a, r, rtol=1e-12)
    assert outs[0][0][n] == p0[n]


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "numpy"])
def test_kernel_argument_errors(device):
    be = em.backends.get_backend(device)
    ops, xp = be.ops, be.xp
    p, g = xp.zeros(4), xp.zeros(4)
    with pytest.raises(ValueError, match="adadelta_step"):
        ops.adadelta_step(p, g, xp.zeros(5), xp.zeros(4), 1.0, 0.9, 1e-6, 0.0, False)
    with pytest.raises(ValueError, match="required"):
        ops.adadelta_step(p, g, xp.zeros(4), None, 1.0, 0.9, 1e-6, 0.0, False)
    with pytest.raises(ValueError, match="rho"):
        ops.adadelta_step(p, g, xp.zeros(4), xp.zeros(4), 1.0, 1.5, 1e-6, 0.0, False)
    with pytest.raises(TypeError, match="adadelta_step"):
        ops.adadelta_step(*(xp.zeros(4, np.int64) for _ in range(4)), 1.0, 0.9, 1e-6, 0.0, False)


@pytest.mark.parametrize("kw", [dict(lr=-1), dict(rho=1.5), dict(rho=-0.1), dict(eps=-1), dict(weight_decay=-1),
                                dict(rho=float("nan"))], ids=_ids)
def test_bad_hyper_parameters_raise_value_error(kw):
    with pytest.raises(ValueError, match=r"\[Adadelta\] invalid"):
        em.optim.Adadelta([em.nn.Parameter(em.zeros(2))], **kw)


def test_state_dict_round_trip_continues_the_trajectory(tmp_path):
    def run(steps, opt=None, p=None):
        if p is None:
            p = em.nn.Parameter(em.tensor([1.0, -2.0, 3.0], dtype=em.float64))
            opt = em.optim.Adadelta([p], lr=0.7, weight_decay=0.1)
        for _ in range(steps):
            opt.zero_grad()
            ((p - 0.5) ** 2).sum().backward()
            opt.step()
        return p, opt

    full, _ = run(8)
    p, opt = run(4)
    em.save(opt.state_dict(), tmp_path / "opt.safetensors")
    q = em.nn.Parameter(em.tensor(p.numpy().copy(), dtype=em.float64))
    opt2 = em.optim.Adadelta([q])
    opt2.load_state_dict(em.load(tmp_path / "opt.safetensors"))
    assert opt2.param_groups[0]["lr"] == 0.7 and opt2.state[id(q)]["step"] == 4
    run(4, opt2, q)
    np.testing.assert_allclose(q.numpy(), full.numpy(), rtol=1e-12)


@pytest.mark.torch
def test_state_dict_layout_matches_torch():
    torch = pytest.importorskip("torch")
    p, tp = em.nn.Parameter(em.ones(3)), torch.ones(3, requires_grad=True)
    opt, topt = em.optim.Adadelta([p]), torch.optim.Adadelta([tp])
    p.sum().backward()
    tp.sum().backward()
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd["state"][0]) == set(tsd["state"][0])
    assert set(sd["param_groups"][0]) >= set(tsd["param_groups"][0]) - {"foreach", "capturable", "differentiable"}
