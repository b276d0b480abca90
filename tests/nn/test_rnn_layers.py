"""nn.RNN / LSTM / GRU and their cells against PyTorch with weights copied by name (outputs,
final states and every parameter's gradient) on every device, float64 gradchecks of the cells
and of a short 2-layer bidirectional sequence, PyTorch's names/shapes/init, and bad input."""
import math

import numpy as np
import pytest

import ember as em
from ember.testing import gradcheck

from ..devices import DEVICES, require

LAYERS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
LAYER_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def _pair(torch_mod, em_mod, device):
    em_mod.load_state_dict({k: v.detach().numpy() for k, v in torch_mod.state_dict().items()})
    return em_mod.to(device)


def _states(s):
    return list(s) if isinstance(s, tuple) else [s]


def _compare(t, e, tx, ex, t_out, e_out, tol):
    (to, ts), (eo, es) = t_out, e_out
    ts, es = _states(ts), _states(es)
    g = np.random.default_rng(1)
    weights = [g.standard_normal(o.shape) for o in [to] + ts]
    loss_t = sum((o * __import__("torch").from_numpy(w)).sum() for o, w in zip([to] + ts, weights))
    loss_e = sum((o * em.tensor(w, dtype=eo.dtype, device=eo.device)).sum() for o, w in zip([eo] + es, weights))
    loss_t.backward()
    loss_e.backward()
    np.testing.assert_allclose(eo.numpy(), to.detach().numpy(), **tol, err_msg="output")
    for a, b in zip(es, ts):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **tol, err_msg="final state")
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **tol, err_msg="input grad")
    pe = dict(e.named_parameters())
    assert set(pe) == {n for n, _ in t.named_parameters()}
    for n, p in t.named_parameters():
        np.testing.assert_allclose(pe[n].grad.numpy(), p.grad.numpy(), **tol, err_msg=f"grad of {n}")


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls,kw", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("config", [dict(num_layers=1), dict(num_layers=2, bidirectional=True, batch_first=True),
                                    dict(num_layers=2, bias=False)], ids=["1layer", "2bi_bf", "nobias"])
def test_layer_matches_torch(device, cls, kw, config):
    require(device)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    small = device == "cuda-emu"
    isz, hsz, steps, batch = (3, 4, 3, 2) if small else (5, 7, 6, 3)
    t = getattr(torch.nn, cls)(isz, hsz, **kw, **config).double()
    e = _pair(t, getattr(em.nn, cls)(isz, hsz, **kw, **config, dtype=em.float64), device)
    shape = (batch, steps, isz) if config.get("batch_first") else (steps, batch, isz)
    x = np.random.default_rng(0).standard_normal(shape)
    dirs = 2 if config.get("bidirectional") else 1
    h0 = np.random.default_rng(2).standard_normal((config["num_layers"] * dirs, batch, hsz))
    lstm = cls == "LSTM"
    th = (torch.tensor(h0), torch.tensor(h0 * 0.5)) if lstm else torch.tensor(h0)
    eh = (em.tensor(h0, dtype=em.float64, device=device), em.tensor(h0 * 0.5, dtype=em.float64, device=device)) \
        if lstm else em.tensor(h0, dtype=em.float64, device=device)
    tx = torch.tensor(x, requires_grad=True)
    ex = em.tensor(x, dtype=em.float64, device=device, requires_grad=True)
    _compare(t, e, tx, ex, t(tx, th), e(ex, eh), dict(rtol=1e-9, atol=1e-10))


@pytest.mark.torch
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
@pytest.mark.parametrize("cls,kw", LAYERS, ids=LAYER_IDS)
def test_layer_float32_matches_torch(device, cls, kw):
    require(device)
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    t = getattr(torch.nn, cls)(9, 20, num_layers=2, bidirectional=True, **kw)
    e = _pair(t, getattr(em.nn, cls)(9, 20, num_layers=2, bidirectional=True, **kw), device)
    x = np.random.default_rng(0).standard_normal((7, 5, 9)).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, device=device, requires_grad=True)
    _compare(t, e, tx, ex, t(tx), e(ex), dict(rtol=1e-4, atol=2e-5))


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_matches_torch(device, cls):
    require(device)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(5, 6).double()
    e = _pair(t, getattr(em.nn, cls)(5, 6, dtype=em.float64), device)
    x = np.random.default_rng(0).standard_normal((3, 5))
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, dtype=em.float64, device=device, requires_grad=True)
    t_out, e_out = t(tx), e(ex)  # zero initial state
    t_out, e_out = (t(tx, t_out), e(ex, e_out))  # then from the first step's state
    t_h, e_h = _states(t_out), _states(e_out)
    loss_t = sum((s * (k + 1)).sum() for k, s in enumerate(t_h))
    loss_e = sum((s * (k + 1)).sum() for k, s in enumerate(e_h))
    loss_t.backward()
    loss_e.backward()
    for a, b in zip(e_h, t_h):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    pe = dict(e.named_parameters())
    for n, p in t.named_parameters():
        np.testing.assert_allclose(pe[n].grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=n)


@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu"])
@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradcheck(device, cls):
    require(device)
    em.manual_seed(0)
    cell = getattr(em.nn, cls)(3, 2, dtype=em.float64).to(device)
    x = em.randn(2, 3, dtype=em.float64, device=device, requires_grad=True)
    h = em.randn(2, 2, dtype=em.float64, device=device, requires_grad=True)
    c = em.randn(2, 2, dtype=em.float64, device=device, requires_grad=True)
    params = list(cell.parameters())
    lstm = cls == "LSTMCell"

    def f(x, h, c, *ps):
        out = cell(x, (h, c) if lstm else h)
        return em.cat(list(out), dim=1) if lstm else out
    assert gradcheck(f, [x, h, c] + params)


@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu"])
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_two_layer_bidirectional_gradcheck(device, cls):
    require(device)
    em.manual_seed(0)
    m = getattr(em.nn, cls)(2, 2, num_layers=2, bidirectional=True, dtype=em.float64).to(device)
    x = em.randn(3, 1, 2, dtype=em.float64, device=device, requires_grad=True)
    h0 = em.randn(4, 1, 2, dtype=em.float64, device=device, requires_grad=True)
    lstm = cls == "LSTM"

    def f(x, h0, *ps):
        out, s = m(x, (h0, h0 * 0.5) if lstm else h0)
        parts = [out.reshape(-1)] + [t.reshape(-1) for t in _states(s)]
        return em.cat(parts, dim=0)
    params = list(m.parameters()) if device == "numpy" else list(m.parameters())[-4:]  # emu: keep it quick
    assert gradcheck(f, [x, h0] + params)


def test_names_shapes_and_init():
    torch = pytest.importorskip("torch")
    e = em.nn.GRU(10, 16, num_layers=2, bidirectional=True)
    t = torch.nn.GRU(10, 16, num_layers=2, bidirectional=True)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    bound = 1 / math.sqrt(16)
    for p in e.parameters():
        a = p.numpy()
        assert a.min() >= -bound and a.max() <= bound and a.std() > bound / 3
    assert [k for k in em.nn.LSTMCell(3, 4).state_dict()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_return_shapes(cls):
    m = getattr(em.nn, cls)(4, 6, num_layers=3, bidirectional=True, batch_first=True)
    out, s = m(em.randn(5, 7, 4))
    assert out.shape == (5, 7, 12)
    for t in _states(s):
        assert t.shape == (6, 5, 6)
    out, s = m(em.randn(7, 4))  # unbatched
    assert out.shape == (7, 12) and all(t.shape == (6, 6) for t in _states(s))


def test_dropout_between_layers():
    em.manual_seed(0)
    m = em.nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = em.randn(4, 2, 3)
    a, b = m(x)[0].numpy(), m(x)[0].numpy()
    assert not np.allclose(a, b)  # training: a fresh mask each call
    m.eval()
    np.testing.assert_array_equal(m(x)[0].numpy(), m(x)[0].numpy())


@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_bad_input_names_shapes(device):
    require(device)
    lstm = em.nn.LSTM(4, 3, num_layers=2).to(device)
    with pytest.raises(ValueError, match=r"\(5, 2, 6\) has 6 features, expected input_size=4"):
        lstm(em.randn(5, 2, 6, device=device))
    h = em.zeros(2, 2, 3, device=device)
    with pytest.raises(ValueError, match=r"h_0 of shape \(1, 2, 3\) must be \(2, 2, 3\)"):
        lstm(em.randn(5, 2, 4, device=device), (em.zeros(1, 2, 3, device=device), h))
    with pytest.raises(ValueError, match=r"c_0 of shape \(2, 3, 3\)"):
        lstm(em.randn(5, 2, 4, device=device), (h, em.zeros(2, 3, 3, device=device)))
    with pytest.raises(ValueError, match="no time steps"):
        lstm(em.randn(0, 2, 4, device=device))
    cell = em.nn.GRUCell(4, 3).to(device)
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\)"):
        cell(em.randn(2, 5, device=device))
    with pytest.raises(ValueError, match=r"hx of shape \(2, 4\) must be \(2, 3\)"):
        cell(em.randn(2, 4, device=device), em.randn(2, 4, device=device))
    with pytest.raises(ValueError, match="nonlinearity"):
        em.nn.RNN(2, 3, nonlinearity="sigmoid")
