"""Schedulers give PyTorch's learning rates epoch for epoch; gradient clipping; ModuleDict."""
import math

import numpy as np
import pytest

import ember as em
from ember.optim import lr_scheduler as S

SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_scheduler_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    p = em.nn.Parameter(em.zeros(1))
    tp = torch.zeros(1, requires_grad=True)
    opt = em.optim.SGD([{"params": [p]}, {"params": [em.nn.Parameter(em.zeros(1))], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [tp]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    sched, tsched = getattr(S, name)(opt, **kw), getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for epoch in range(14):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), f"epoch {epoch}"
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-12)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.torch
def test_reduce_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    opt = em.optim.Adam([em.nn.Parameter(em.zeros(1))], lr=1.0)
    topt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    kw = dict(mode="min", factor=0.5, patience=1, threshold=0.01, cooldown=1, min_lr=0.1)
    sched, tsched = S.ReduceLROnPlateau(opt, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    for metric in [5, 4, 4, 4, 4, 3.99, 3.99, 3.99, 3.99, 1, 1, 1, 1, 1, 1]:
        sched.step(metric)
        tsched.step(metric)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    assert sched.get_last_lr()[0] < 1.0


def test_scheduler_errors():
    opt = em.optim.SGD([em.nn.Parameter(em.zeros(1))], lr=0.1)
    with pytest.raises(ValueError):
        S.StepLR(opt, step_size=0)
    with pytest.raises(ValueError):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(TypeError):
        S.StepLR("not an optimizer", step_size=1)


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    gs = [rng.standard_normal(s) * 3 for s in [(4, 3), (7,)]]
    ps = [em.nn.Parameter(em.zeros(g.shape, dtype=em.float64)) for g in gs]
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    for p, tp, g in zip(ps, tps, gs):
        p.grad, tp.grad = em.tensor(g, dtype=em.float64), torch.from_numpy(g.copy())
    n = em.nn.utils.clip_grad_norm_(ps, 1.5, norm_type=norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tps, 1.5, norm_type=norm_type)
    assert n.item() == pytest.approx(tn.item(), rel=1e-12)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_nonfinite():
    p = em.nn.Parameter(em.zeros(3))
    p.grad = em.tensor([-2.0, 0.1, 5.0])
    em.nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_allclose(p.grad.numpy(), [-1.0, 0.1, 1.0])
    p.grad = em.tensor([np.inf, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        em.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_module_dict_registers_its_modules():
    d = em.nn.ModuleDict({"a": em.nn.Linear(2, 3), "b": em.nn.ReLU()})
    d["c"] = em.nn.Linear(3, 1)
    assert list(d) == ["a", "b", "c"] and len(d) == 3 and "b" in d
    assert set(d.state_dict()) == {"a.weight", "a.bias", "c.weight", "c.bias"}
    assert len(list(d.parameters())) == 4
    assert "(a): Linear(in_features=2" in repr(d)
    with pytest.raises(TypeError):
        d["x"] = 3
    buffers = dict(em.nn.CrossEntropyLoss(weight=[1.0, 2.0]).named_buffers())
    assert list(buffers) == ["weight"]
