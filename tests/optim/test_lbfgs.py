"""LBFGS: trajectories equal to PyTorch's (float64) on a quadratic, Rosenbrock's function and a
small MLP, with a fixed step and with the strong-Wolfe line search; its counters, state_dict,
argument errors. The runs are a few tens of iterations: the two libraries' dot products round
differently (1e-16), and a longer run on an ill-conditioned problem amplifies that past 1e-10."""
import numpy as np
import pytest

import ember as em

DEVICES = ["numpy", "cpu"]
CONFIGS = [dict(), dict(line_search_fn="strong_wolfe"), dict(lr=0.5, max_iter=7, history_size=3),
           dict(line_search_fn="strong_wolfe", history_size=2, max_eval=9, tolerance_change=1e-12)]


def _ids(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults"


def _quadratic(lib, ps):
    """0.5 x' A x - b' x with A symmetric positive definite (condition number ~ 50)."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a = (q * np.linspace(1.0, 50.0, 6)) @ q.T
    x, = ps
    a, b = (lib.tensor(v, dtype=x.dtype, device=x.device) for v in (a, rng.standard_normal(6)))
    return 0.5 * (x * (a @ x)).sum() - (b * x).sum()


def _rosenbrock(lib, ps):
    x, = ps
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


PROBLEMS = {"quadratic": (_quadratic, [np.zeros(6)]),
            "rosenbrock": (_rosenbrock, [np.array([-1.2, 1.0, -0.5, 0.8])])}


def _run(lib, loss_fn, init, kw, device=None, steps=2):
    """The loss that each step() returns and the parameters after it."""
    if lib is em:
        ps = [em.nn.Parameter(em.tensor(a, dtype=em.float64, device=device)) for a in init]
    else:
        ps = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in init]
    opt = lib.optim.LBFGS(ps, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_fn(lib, ps)
        loss.backward()
        return loss
    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        out.append((float(loss.detach()), [np.array(p.detach().numpy()) for p in ps]))
    return out, opt


def _assert_same(got, want, what):
    for k, ((gl, gp), (wl, wp)) in enumerate(zip(got, want)):
        np.testing.assert_allclose(gl, wl, rtol=1e-10, atol=1e-12, err_msg=f"{what}: loss of step {k + 1}")
        for a, b in zip(gp, wp):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{what}: parameters after step {k + 1}")


def _counters(opt, torch_opt):
    st = opt.state[id(opt.param_groups[0]["params"][0])]
    tst = torch_opt.state[torch_opt.param_groups[0]["params"][0]]
    return (st["func_evals"], st["n_iter"]), (tst["func_evals"], tst["n_iter"])


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", CONFIGS, ids=_ids)
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_matches_torch_on_functions(problem, kw, device):
    torch = pytest.importorskip("torch")
    loss_fn, init = PROBLEMS[problem]
    if problem == "rosenbrock":  # its valley amplifies rounding: 2 x 20 iterations reach a 1e-10 difference
        kw = dict(dict(max_iter=10), **kw)
    got, opt = _run(em, loss_fn, init, kw, device)
    want, topt = _run(torch, loss_fn, init, kw)
    _assert_same(got, want, f"{problem} {kw} on {device}")
    mine, theirs = _counters(opt, topt)
    assert mine == theirs


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", CONFIGS[:2], ids=_ids)
def test_matches_torch_on_an_mlp(kw, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    model = em.nn.Sequential(em.nn.Linear(3, 5), em.nn.Tanh(), em.nn.Linear(5, 2)).to(device, em.float64)
    model.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    runs = []
    for lib, net in ((em, model), (torch, ref)):
        kw_ = dict(dtype=lib.float64, device=device) if lib is em else dict(dtype=lib.float64)
        xs, ys = lib.tensor(x, **kw_), lib.tensor(y, **kw_)
        opt = lib.optim.LBFGS(list(net.parameters()), **kw)

        def closure():
            opt.zero_grad()
            loss = ((net(xs) - ys) ** 2).mean()
            loss.backward()
            return loss
        runs.append([(float(opt.step(closure).detach()), [np.array(p.detach().numpy()) for p in net.parameters()])
                     for _ in range(2)])
    _assert_same(runs[0], runs[1], f"mlp {kw} on {device}")
    assert runs[0][-1][0] < 0.5 * runs[0][0][0]  # it trained


def test_stops_at_once_when_the_gradient_is_zero():
    p = em.nn.Parameter(em.tensor([1.0, 2.0], dtype=em.float64))
    opt = em.optim.LBFGS([p])

    def closure():
        opt.zero_grad()
        loss = (p * 0).sum()
        loss.backward()
        return loss
    assert opt.step(closure).item() == 0
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])
    assert opt.state[id(p)] == {"func_evals": 1, "n_iter": 0}


@pytest.mark.parametrize("kw", CONFIGS[:2], ids=_ids)
def test_state_dict_round_trip_continues_the_trajectory(kw, tmp_path):
    loss_fn, init = PROBLEMS["rosenbrock"]
    full, _ = _run(em, loss_fn, init, dict(kw, max_iter=4), "cpu", steps=4)
    part, opt = _run(em, loss_fn, init, dict(kw, max_iter=4), "cpu", steps=2)
    path = tmp_path / "lbfgs.safetensors"
    em.save(opt.state_dict(), path)
    q = em.nn.Parameter(em.tensor(part[-1][1][0], dtype=em.float64))
    opt2 = em.optim.LBFGS([q], lr=3.0)
    opt2.load_state_dict(em.load(path))
    assert opt2.param_groups[0]["max_iter"] == 4

    def closure():
        opt2.zero_grad()
        loss = loss_fn(em, [q])
        loss.backward()
        return loss
    for k in (2, 3):
        assert float(opt2.step(closure)) == pytest.approx(full[k][0], rel=1e-12)
        np.testing.assert_allclose(q.numpy(), full[k][1][0], rtol=1e-12)


@pytest.mark.torch
def test_state_dict_layout_matches_torch():
    torch = pytest.importorskip("torch")
    loss_fn, init = PROBLEMS["quadratic"]
    _, opt = _run(em, loss_fn, init, dict(max_iter=3), "numpy", steps=1)
    _, topt = _run(torch, loss_fn, init, dict(max_iter=3), steps=1)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd["state"][0]) == set(tsd["state"][0]) - {"al"}  # al is the two-loop's scratch
    assert len(sd["state"][0]["old_dirs"]) == len(tsd["state"][0]["old_dirs"])
    assert set(sd["param_groups"][0]) == set(tsd["param_groups"][0])


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1), "learning rate"), (dict(max_iter=0), "max_iter"), (dict(history_size=0), "history_size"),
    (dict(max_eval=0), "max_eval"), (dict(line_search_fn="armijo"), "line_search_fn"),
    (dict(tolerance_grad=-1.0), "tolerance_grad"),
])
def test_bad_arguments_raise_value_error(kw, match):
    with pytest.raises(ValueError, match=rf"\[LBFGS\] invalid {match}"):
        em.optim.LBFGS([em.nn.Parameter(em.zeros(2))], **kw)


def test_one_parameter_group_one_dtype_and_a_closure():
    a, b = em.nn.Parameter(em.zeros(2)), em.nn.Parameter(em.zeros(3))
    with pytest.raises(ValueError, match="parameter groups"):
        em.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(TypeError, match="dtype"):
        em.optim.LBFGS([a, em.nn.Parameter(em.zeros(2, dtype=em.float64))])
    with pytest.raises(TypeError, match="closure"):
        em.optim.LBFGS([a, b]).step()


def test_built_without_parameters():
    """As the other optimizers: built unbound, bound later; a step before that raises."""
    model = em.nn.Linear(2, 1)
    opt = em.optim.LBFGS(lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (model(em.ones(3, 2)) ** 2).mean()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="without parameters"):
        opt.step(closure)
    opt.bind(model.parameters())
    first = opt.step(closure).item()
    assert closure().item() < first
