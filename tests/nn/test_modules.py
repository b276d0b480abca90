"""Modules: registration, PyTorch names and shapes, state_dict round trips, torch parity."""
import numpy as np
import pytest

import ember as em
from ember import nn


def mlp():
    em.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_parameter_names_and_shapes_follow_pytorch():
    sd = mlp().state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sd["0.weight"].shape == (8, 4) and sd["2.bias"].shape == (3,)


def test_linear_init_bounds_are_pytorchs():
    lin = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    assert np.abs(lin.weight.numpy()).max() <= bound and np.abs(lin.bias.numpy()).max() <= bound
    assert np.abs(lin.weight.numpy()).max() > 0.8 * bound


def test_load_state_dict_round_trip_and_errors():
    a, b = mlp(), nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})
    x = em.randn(5, 4)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\]"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "2.bias"})
    with pytest.raises(KeyError, match=r"unexpected keys \['extra'\]"):
        b.load_state_dict({**a.state_dict(), "extra": np.zeros(1)})
    bad = dict(a.state_dict())
    bad["0.weight"] = np.zeros((4, 8))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(4, 8\).*\(8, 4\)"):
        b.load_state_dict(bad)
    missing, unexpected = b.load_state_dict({"0.bias": np.zeros(8)}, strict=False)
    assert "0.weight" in missing and unexpected == []


def test_module_traversal_train_eval_and_repr():
    m = mlp()
    assert len(list(m.parameters())) == 4 and len(list(m.children())) == 3
    assert all(not x.training for x in m.eval().modules())
    assert "Linear(in_features=4, out_features=8, bias=True)" in repr(m)
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_module_to_moves_in_place():
    m = mlp()
    assert m.to("numpy") is m
    assert all(p.device == "numpy" for p in m.parameters())
    assert m(em.randn(2, 4, device="numpy")).device == "numpy"
    m.to(dtype=em.float64)
    assert all(p.dtype == em.float64 for p in m.parameters())


@pytest.mark.torch
def test_mlp_matches_pytorch_with_copied_weights():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype=em.float64)
    m.load_state_dict(tm.state_dict())
    x = np.random.default_rng(0).standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    tl = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
    tl.backward()
    loss = nn.CrossEntropyLoss()(m(em.tensor(x, dtype=em.float64)), em.tensor(y))
    loss.backward()
    assert abs(loss.item() - tl.item()) < 1e-12
    for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_activation_modules():
    x = em.tensor([[-1.0, 0.5]])
    np.testing.assert_allclose(nn.LeakyReLU()(x).numpy(), [[-0.01, 0.5]], rtol=1e-6)
    assert nn.GELU(approximate="tanh")(x).shape == (1, 2)
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).numpy().sum(), 1.0, rtol=1e-6)
    assert nn.Flatten()(em.ones(2, 3, 4)).shape == (2, 12)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU(approximate="fast")


def test_init_functions():
    w = em.empty(30, 20)
    nn.init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= np.sqrt(6 / 50)
    nn.init.zeros_(w)
    assert w.numpy().sum() == 0
    nn.init.orthogonal_(w)
    q = w.numpy().astype(np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(20), atol=1e-5)
