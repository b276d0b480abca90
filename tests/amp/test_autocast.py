"""ember.autocast: for every op on ember's lists, the dtype torch.autocast gives on the CPU."""
import numpy as np
import pytest

import ember as em
from ember import nn

from ..devices import require

F = nn.functional
torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = [("bf16", em.bfloat16, torch.bfloat16), ("fp16", em.float16, torch.float16)]
TORCH_NAME = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


def _data():
    rng = np.random.default_rng(0)
    d = {"x": rng.standard_normal((4, 8)), "w": rng.standard_normal((6, 8)), "b": rng.standard_normal(6),
         "img": rng.standard_normal((2, 3, 8, 8)), "k": rng.standard_normal((4, 3, 3, 3)),
         "p": rng.uniform(0.1, 0.9, (4, 8)), "t": np.array([0, 2, 5, 1])}
    return {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in d.items()}


def _cases(lib):
    """name -> f(tensors, low) computing one op, in ember (lib=em) or torch (lib=torch)."""
    E = lib is em
    f = F if E else TF
    Lin = (nn.Linear, nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.LSTM) if E else \
        (torch.nn.Linear, torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.LSTM)
    return {
        "matmul": lambda d, lo: d["x"] @ d["x"].T,
        "linear": lambda d, lo: f.linear(d["x"], d["w"], d["b"]),
        "conv2d": lambda d, lo: f.conv2d(d["img"], d["k"]),
        "softmax": lambda d, lo: f.softmax(d["x"], dim=-1),
        "log_softmax": lambda d, lo: f.log_softmax(d["x"], dim=-1),
        "softmax_low": lambda d, lo: f.softmax(d["x"].to(lo), dim=-1),
        "layer_norm": lambda d, lo: f.layer_norm(d["x"], (8,)),
        "layer_norm_low": lambda d, lo: f.layer_norm(d["x"].to(lo), (8,)),
        "batch_norm_low": lambda d, lo: f.batch_norm(d["x"].to(lo), None, None, training=True),
        "cross_entropy": lambda d, lo: f.cross_entropy(f.linear(d["x"], d["w"], d["b"]), d["t"]),
        "cross_entropy_low": lambda d, lo: f.cross_entropy(d["x"].to(lo)[:, :6], d["t"]),
        "nll_loss_low": lambda d, lo: f.nll_loss(d["x"].to(lo)[:, :6], d["t"]),
        "mse_loss_low": lambda d, lo: f.mse_loss(d["x"].to(lo), d["p"].to(lo)),
        "l1_loss_low": lambda d, lo: f.l1_loss(d["x"].to(lo), d["p"].to(lo)),
        "bce_low": lambda d, lo: f.binary_cross_entropy(d["p"].to(lo), d["p"].to(lo)),
        "bce_logits_low": lambda d, lo: f.binary_cross_entropy_with_logits(d["x"].to(lo), d["p"].to(lo)),
        "sum_low": lambda d, lo: d["x"].to(lo).sum(),
        "mean_low": lambda d, lo: d["x"].to(lo).mean(),
        "exp_low": lambda d, lo: d["x"].to(lo).exp(),
        "relu_low": lambda d, lo: f.relu(d["x"].to(lo)),
        "gelu_low": lambda d, lo: f.gelu(d["x"].to(lo)),
        "max_pool_low": lambda d, lo: f.max_pool2d(d["img"].to(lo), 2),
        "add_mixed": lambda d, lo: d["x"].to(lo) + d["x"],
        "cat_mixed": lambda d, lo: lib.cat([d["x"].to(lo), d["x"]]),
        "where_mixed": lambda d, lo: lib.where(d["x"] > 0, d["x"].to(lo), d["x"]),
        "rnn_cell": lambda d, lo: Lin[1](8, 5)(d["x"]),
        "lstm_cell": lambda d, lo: Lin[2](8, 5)(d["x"])[0],
        "gru_cell": lambda d, lo: Lin[3](8, 5)(d["x"]),
        "attention": lambda d, lo: f.scaled_dot_product_attention(d["x"][None], d["x"][None], d["x"][None]),
    }


def _ember_inputs(d):
    return {k: em.tensor(v) for k, v in d.items()}


def _torch_inputs(d):
    return {k: torch.from_numpy(v.copy()) for k, v in d.items()}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(_cases(em)))
@pytest.mark.parametrize("label,low,tlow", DTYPES, ids=[d[0] for d in DTYPES])
def test_dtype_as_torch(name, label, low, tlow):
    d = _data()
    if label == "fp16" and name == "cat_mixed":
        pytest.skip("torch 2.13's CPU autocast refuses cat of float16 with float32; ember promotes")
    with torch.autocast("cpu", dtype=tlow):
        want = _cases(torch)[name](_torch_inputs(d), tlow)
    with em.autocast("cpu", dtype=low):
        got = _cases(em)[name](_ember_inputs(d), low)
    assert str(got.dtype) == TORCH_NAME[want.dtype], f"{name}: ember {got.dtype}, torch {want.dtype}"
    tol = 0.05 if label == "bf16" else 5e-3
    np.testing.assert_allclose(got.float().numpy(), want.float().detach().numpy(), rtol=tol, atol=tol) \
        if not name.endswith("cell") else None


@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu"])
def test_parameters_stay_float32_and_their_casts_are_cached(device):
    require(device)
    lin = nn.Linear(8, 6).to(device)
    x = em.tensor(_data()["x"], device=device)
    with em.autocast("cuda" if device == "cuda-emu" else "cpu", dtype=em.bfloat16) as region:
        y1, y2 = lin(x), lin(x)
        assert y1.dtype == em.bfloat16 and y2.dtype == em.bfloat16
        casts = [v[2] for v in region._cache.values()]
        assert len(casts) == 2  # weight and bias, each cast once for both calls
        (y1.float().sum() + y2.float().sum()).backward()
    assert lin.weight.dtype == em.float32 and lin.weight.grad.dtype == em.float32
    want = 2 * x.numpy().astype(em.bfloat16).astype(np.float32).sum(0)
    np.testing.assert_allclose(lin.weight.grad.numpy()[0], want, rtol=1e-2)
    assert not region._cache  # freed when the region closes


def test_other_device_type_is_left_alone():
    x = em.tensor(_data()["x"], device="numpy")
    with em.autocast("cuda"):
        assert (x @ x.T).dtype == em.float32


def test_decorator_disabled_and_nested():
    x = em.tensor(_data()["x"])

    @em.autocast("cpu")
    def f(t):
        return t @ t.T

    assert f(x).dtype == em.bfloat16
    assert (x @ x.T).dtype == em.float32
    with em.autocast("cpu"):
        assert em.amp.is_autocast_enabled("cpu")
        with em.autocast("cpu", enabled=False):
            assert (x @ x.T).dtype == em.float32
        with em.autocast("cpu", dtype=em.float16):
            assert (x @ x.T).dtype == em.float16
        assert (x @ x.T).dtype == em.bfloat16
    assert not em.amp.is_autocast_enabled("cpu")
    assert em.autograd._autocast is None


def test_default_dtype_per_device_as_torch():
    assert em.autocast("cpu").dtype == em.bfloat16 and em.autocast("cuda").dtype == em.float16
    assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.get_autocast_dtype("cuda") == torch.float16


def test_float64_and_integers_are_not_cast():
    x = em.tensor(_data()["x"], dtype=em.float64)
    i = em.tensor(np.arange(6).reshape(2, 3))
    with em.autocast("cpu"):
        assert (x @ x.T).dtype == em.float64
        assert (i @ i.T).dtype == em.int64


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^\[autocast\] device_type must be 'cpu' or 'cuda', got 'tpu'"):
        em.autocast("tpu")
    with pytest.raises(ValueError, match=r"^\[autocast\] dtype must be ember.bfloat16 or ember.float16"):
        em.autocast("cpu", dtype=em.float64)
    with pytest.raises(TypeError, match=r"^\[autocast\] enabled must be a bool"):
        em.autocast("cpu", enabled="yes")


@pytest.mark.torch
def test_cnn_with_norms_as_torch():
    """conv -> batch_norm -> relu -> linear -> layer_norm: the norms take a bfloat16 input with
    float32 parameters (and running statistics, updated in float32), as PyTorch's do."""
    em.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5),
                      nn.LayerNorm(5))
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(),
                             torch.nn.Linear(4 * 6 * 6, 5), torch.nn.LayerNorm(5))
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    x = _data()["img"]
    with em.autocast("cpu"):
        y = m(em.tensor(x))
    with torch.autocast("cpu"):
        ty = tm(torch.from_numpy(x))
    assert y.dtype == em.bfloat16 and ty.dtype == torch.bfloat16
    np.testing.assert_allclose(y.float().numpy(), ty.float().detach().numpy(), atol=0.1)
    assert m[1].running_mean.dtype == em.float32
    np.testing.assert_allclose(m[1].running_mean.numpy(), tm[1].running_mean.numpy(), rtol=0.02, atol=1e-3)
    y.float().sum().backward()
    assert all(p.grad.dtype == em.float32 for p in m.parameters())
