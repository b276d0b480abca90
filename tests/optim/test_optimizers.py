"""Adam, AdamW, RMSprop, Adagrad (and SGD through the same fused kernels): trajectories equal
to PyTorch's step for step on every device, hyper-parameter errors, groups, state_dict."""
import numpy as np
import pytest

import ember as em

from ..devices import DEVICES

SHAPES = [(1,), (7,), (3, 5), (73,)]

CONFIGS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.2, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True, eps=1e-6)),
    ("Adam", dict(lr=0.05, betas=(0.6, 0.9))),  # lerp's second form (weight >= 0.5)
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, maximize=True)),
]


def _ids(c):
    return f"{c[0]}-" + ",".join(f"{k}={v}" for k, v in c[1].items())


def _trajectory(make_opt, device, dtype, steps=8, torch=None):
    """Parameters after each step when gradient k is 0.5 p + noise_k (the same noise for every run)."""
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    noise = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    if torch is None:
        ps = [em.nn.Parameter(em.tensor(a, dtype=dtype, device=device)) for a in init]
    else:
        ps = [torch.tensor(a, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True) for a in init]
    opt = make_opt(ps)
    out = []
    for k in range(steps):
        for p, n in zip(ps, noise[k]):
            g = 0.5 * (p.detach().numpy() if torch is not None else p.numpy()) + n
            p.grad = torch.from_numpy(g.astype(dtype)) if torch is not None else em.tensor(g, dtype=dtype,
                                                                                             device=device)
        opt.step()
        out.append([np.array(p.detach().numpy()) for p in ps])
    return out


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_matches_torch_step_for_step(cfg, device):
    torch = pytest.importorskip("torch")
    name, kw = cfg
    got = _trajectory(lambda ps: getattr(em.optim, name)(ps, **kw), device, np.float64)
    want = _trajectory(lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kw), None, np.float64, torch=torch)
    for k, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=f"{name} step {k + 1} on {device}")


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "numpy"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_float32_kernels_match_numpy_reference(cfg, device):
    name, kw = cfg
    got = _trajectory(lambda ps: getattr(em.optim, name)(ps, **kw), device, np.float32)
    want = _trajectory(lambda ps: getattr(em.optim, name)(ps, **kw), "numpy", np.float32)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6, err_msg=f"{name} on {device}")


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"], indirect=True)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_cpu_kernels_at_every_isa_level(cfg, dtype, isa):
    """The loops are compiled once per ISA (csrc/cpu/isa/optim_kernel.cpp, vectorized): each level
    follows the NumPy reference's trajectory, over sizes with vector tails (7, 73 items)."""
    name, kw = cfg
    got = _trajectory(lambda ps: getattr(em.optim, name)(ps, **kw), "cpu", dtype)
    want = _trajectory(lambda ps: getattr(em.optim, name)(ps, **kw), "numpy", dtype)
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, err_msg=f"{name} at {isa}", **tol)


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "numpy"])
@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 70001])
def test_kernel_sizes_and_tails(device, n):
    """Grid-stride and thread-chunk tails: every item updated, nothing past the end."""
    rng = np.random.default_rng(n)
    be, ref = em.backends.get_backend(device), em.backends.get_backend("numpy")
    p0, g = rng.standard_normal(n + 1), rng.standard_normal(n)
    outs = []
    for b in (be, ref):
        p = b.from_host(p0.copy())
        m, v = b.xp.zeros(n), b.xp.zeros(n)
        b.ops.adam_step(p[:n], b.from_host(g), m, v, None, 1, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False)
        outs.append(b.to_host(p))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)
    assert outs[0][n] == p0[n]


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "numpy"])
def test_kernel_argument_errors(device):
    be = em.backends.get_backend(device)
    ops, xp = be.ops, be.xp
    p, g = xp.zeros(4), xp.zeros(4)
    with pytest.raises(ValueError, match="adam_step"):
        ops.adam_step(p, xp.zeros(5), xp.zeros(4), xp.zeros(4), None, 1, 0.1, 0.9, 0.999, 1e-8, 0, False, False)
    with pytest.raises(TypeError, match="adam_step"):
        ops.adam_step(p.astype(np.int64), g.astype(np.int64), xp.zeros(4, np.int64), xp.zeros(4, np.int64), None, 1,
                      0.1, 0.9, 0.999, 1e-8, 0, False, False)
    with pytest.raises(ValueError, match="contiguous"):
        ops.sgd_step(xp.zeros((4, 2))[:, 0], g, None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    with pytest.raises(ValueError, match="step"):
        ops.adagrad_step(p, g, xp.zeros(4), 0, 0.1, 0.0, 0.0, 1e-10, False)


@pytest.mark.parametrize("make", [
    lambda ps: em.optim.Adam(ps, lr=-1), lambda ps: em.optim.Adam(ps, betas=(1.0, 0.9)),
    lambda ps: em.optim.Adam(ps, betas=(0.9, -0.1)), lambda ps: em.optim.Adam(ps, eps=-1),
    lambda ps: em.optim.AdamW(ps, weight_decay=-0.1), lambda ps: em.optim.RMSprop(ps, alpha=-0.5),
    lambda ps: em.optim.RMSprop(ps, momentum=-1), lambda ps: em.optim.Adagrad(ps, lr_decay=-1),
    lambda ps: em.optim.Adagrad(ps, initial_accumulator_value=-1), lambda ps: em.optim.SGD(ps, lr=-0.1),
    lambda ps: em.optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": -2}]),
])
def test_bad_hyper_parameters_raise_value_error(make):
    ps = [em.nn.Parameter(em.zeros(2)), em.nn.Parameter(em.zeros(3))]
    with pytest.raises(ValueError, match="invalid"):
        make(ps)


def test_zero_grad_set_to_none_and_param_groups():
    a, b = em.nn.Parameter(em.ones(3)), em.nn.Parameter(em.ones(2))
    opt = em.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.9, rtol=1e-6)  # first Adam step moves by lr
    np.testing.assert_allclose(b.numpy(), 0.5, rtol=1e-6)
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and not a.grad.numpy().any()
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    opt.step()  # no gradients: nothing moves
    np.testing.assert_allclose(a.numpy(), 0.9, rtol=1e-6)
    assert "Parameter Group 1" in repr(opt)


def test_closure_returns_the_loss():
    p = em.nn.Parameter(em.tensor([2.0]))
    opt = em.optim.RMSprop([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    assert opt.step(closure).item() == pytest.approx(4.0)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "SGD"])
def test_state_dict_round_trip_continues_the_trajectory(name, tmp_path):
    kw = dict(lr=0.05, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.05)
    if name == "Adam":
        kw["amsgrad"] = True

    def run(steps, opt=None, p=None):
        if p is None:
            p = em.nn.Parameter(em.tensor([1.0, -2.0, 3.0], dtype=em.float64))
            opt = getattr(em.optim, name)([p], **kw)
        for _ in range(steps):
            opt.zero_grad()
            ((p - 0.5) ** 2).sum().backward()
            opt.step()
        return p, opt

    full, _ = run(6)
    p, opt = run(3)
    path = tmp_path / "opt.safetensors"
    em.save(opt.state_dict(), path)  # nested: arrays as tensors, the rest as metadata
    q = em.nn.Parameter(em.tensor(p.numpy().copy(), dtype=em.float64))
    opt2 = getattr(em.optim, name)([q], lr=1.0)
    opt2.load_state_dict(em.load(path))
    assert opt2.param_groups[0]["lr"] == 0.05
    run(3, opt2, q)
    np.testing.assert_allclose(q.numpy(), full.numpy(), rtol=1e-12)


@pytest.mark.torch
def test_state_dict_layout_matches_torch():
    torch = pytest.importorskip("torch")
    p = em.nn.Parameter(em.ones(3))
    tp = torch.ones(3, requires_grad=True)
    opt, topt = em.optim.Adam([p], amsgrad=True), torch.optim.Adam([tp], amsgrad=True)
    p.sum().backward()
    tp.sum().backward()
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd["state"][0]) == set(tsd["state"][0])
    assert set(sd["param_groups"][0]) >= set(tsd["param_groups"][0]) - {"foreach", "capturable", "differentiable",
                                                                         "fused", "decoupled_weight_decay"}
