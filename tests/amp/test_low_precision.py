"""bfloat16 and float16 tensors: names, creation, printing, promotion (as torch), storage,
Module.to, safetensors, DLPack, and the interim float32 path of the kernels."""
import ml_dtypes
import numpy as np
import pytest

import ember as em
from ember import nn

from ..devices import require

F = nn.functional
DEVICES = ["numpy", "cpu", "cuda-emu"]
LOW = [em.bfloat16, em.float16]


def test_names():
    assert em.bfloat16 == np.dtype(ml_dtypes.bfloat16) and em.float16 == np.float16 and em.half is em.float16
    assert em.as_dtype("bfloat16") == em.bfloat16 and em.as_dtype("half") == em.float16
    assert em.is_floating(em.bfloat16) and em.is_floating(em.float16) and not em.is_floating(em.int64)


@pytest.mark.parametrize("low", LOW, ids=str)
def test_creation_and_numpy(low):
    for t in (em.zeros(2, 3, dtype=low), em.ones(2, dtype=low), em.full((2,), 1.5, dtype=low), em.empty(3, dtype=low),
              em.arange(4, dtype=low), em.randn(3, dtype=low), em.rand(3, dtype=low), em.tensor([1.0, 2.0], dtype=low),
              em.zeros_like(em.ones(2, dtype=low)), em.tensor(np.ones(2, low))):
        assert t.dtype == low and t.numpy().dtype == low
    np.testing.assert_array_equal(em.arange(4, dtype=low).numpy().astype(np.float32), [0, 1, 2, 3])
    assert em.tensor(np.ones(2, np.float64)).dtype == em.float32  # wider floats still default to float32


def test_repr_names_the_dtype_as_torch():
    t = em.tensor([1.5, 0.333333, -2.0], device="numpy").bfloat16()
    assert repr(t).replace("device='numpy', ", "") == "tensor([ 1.5  ,  0.334, -2.   ], dtype=ember.bfloat16)"
    h = em.ones(2, device="numpy").half()
    assert repr(h).replace("device='numpy', ", "") == "tensor([1., 1.], dtype=ember.float16)"


@pytest.mark.torch
def test_promotion_as_torch():
    torch = pytest.importorskip("torch")
    names = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32,
             "float64": torch.float64, "int64": torch.int64, "bool": torch.bool}
    for a in names:
        for b in names:
            ta, tb = torch.ones(2, dtype=names[a]), torch.ones(2, dtype=names[b])
            x, y = em.ones(2, dtype=a) if a != "bool" else em.ones(2) > 0, em.ones(2, dtype=b) if b != "bool" \
                else em.ones(2) > 0
            assert str((x + y).dtype) == str(ta.add(tb).dtype).replace("torch.", ""), (a, b)
    x = em.ones(2, dtype=em.bfloat16)
    assert (x * 2.5).dtype == em.bfloat16 and (x + 1).dtype == em.bfloat16


def test_module_to_casts_floating_parameters_and_buffers():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert m.to(em.bfloat16) is m
    sd = m.state_dict()
    assert all(sd[k].dtype == em.bfloat16 for k in sd if k != "1.num_batches_tracked")
    assert sd["1.num_batches_tracked"].dtype == em.int64
    m.half()
    assert m[0].weight.dtype == em.float16
    m.float()
    assert m[0].weight.dtype == em.float32


@pytest.mark.parametrize("low", LOW, ids=str)
def test_safetensors_round_trip(tmp_path, low):
    x = em.tensor(np.linspace(-3, 3, 7)).to(low)
    em.save({"x": x}, tmp_path / "m.safetensors")
    back = em.load(tmp_path / "m.safetensors")["x"]
    assert back.dtype == low
    np.testing.assert_array_equal(back.numpy().view(np.uint16), x.numpy().view(np.uint16))
    from safetensors import safe_open
    with safe_open(str(tmp_path / "m.safetensors"), "np") as f:
        assert f.get_tensor("x").dtype == low


def test_dlpack():
    h = em.ones(3).half()
    assert np.from_dlpack(h).dtype == np.float16 and em.from_dlpack(h).dtype == em.float16
    with pytest.raises(BufferError):  # NumPy's DLPack export has no bfloat16
        np.from_dlpack(em.ones(3).bfloat16())


def test_requires_grad_on_low_precision():
    t = em.ones(3, dtype=em.bfloat16, requires_grad=True)
    (t * 2.0).float().sum().backward()
    assert t.grad.dtype == em.bfloat16
    np.testing.assert_array_equal(t.grad.numpy().astype(np.float32), [2, 2, 2])


def _ops():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 8)).astype(np.float32), rng.standard_normal((6, 8)).astype(np.float32)
    img, k = rng.standard_normal((2, 3, 6, 6)).astype(np.float32), rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    return {
        "matmul": ((x, w), lambda a, b: a @ b.T),
        "linear": ((x, w), lambda a, b: F.linear(a, b)),
        "conv2d": ((img, k), lambda a, b: F.conv2d(a, b, padding=1)),
        "max_pool2d": ((img,), lambda a: F.max_pool2d(a, 2)),
        "softmax": ((x,), lambda a: F.softmax(a, dim=-1)),
        "log_softmax": ((x,), lambda a: F.log_softmax(a, dim=-1)),
        "layer_norm": ((x,), lambda a: F.layer_norm(a, (8,))),
        "batch_norm": ((x,), lambda a: F.batch_norm(a, None, None, training=True)),
        "gelu": ((x,), F.gelu),
        "sigmoid": ((x,), F.sigmoid),
        "mse_loss": ((x, x[::-1].copy()), F.mse_loss),
        "cross_entropy": ((w[:4],), lambda a: F.cross_entropy(a, em.tensor([0, 1, 2, 3], device=a.device))),
    }


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("low", LOW, ids=str)
@pytest.mark.parametrize("name", sorted(_ops()))
def test_ops_compute_in_float32_and_return_low_precision(device, low, name):
    """forward and gradients: the float32 result of the low-precision-rounded inputs, rounded (the
    losses' reductions run on the array module in the low dtype: within 2 of its ulps)."""
    require(device)
    arrays, fn = _ops()[name]
    lows = [em.tensor(a, device=device).to(low).detach().requires_grad_() for a in arrays]
    wides = [em.tensor(t.numpy().astype(np.float32), device=device, requires_grad=True) for t in lows]
    y, want = fn(*lows), fn(*wides)
    assert y.dtype == low
    if name.endswith(("loss", "entropy")):
        eps = float(ml_dtypes.finfo(low).eps)
        np.testing.assert_allclose(y.numpy().astype(np.float32), want.numpy(), rtol=2 * eps)
    else:
        np.testing.assert_array_equal(y.numpy(), want.numpy().astype(low))
    y.float().sum().backward()
    want.sum().backward()
    for t, w in zip(lows, wides):
        assert t.grad.dtype == low
        np.testing.assert_allclose(t.grad.numpy().astype(np.float32), w.grad.numpy(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("device", DEVICES)
def test_sgd_on_low_precision_parameters_updates_in_place(device):
    require(device)
    p = em.tensor(np.ones(4, np.float32), device=device).bfloat16().detach().requires_grad_()
    opt = em.optim.SGD([p], lr=0.5, momentum=0.9)
    (p.float() * 2.0).sum().backward()
    opt.step()
    np.testing.assert_array_equal(p.numpy().astype(np.float32), [0, 0, 0, 0])


def test_bfloat16_is_refused_on_cuda():
    """CuPy has no bfloat16: a cuda backend refuses it when an array moves there (a stand-in
    array module here, so the check runs without a GPU); float16 moves."""
    import types

    from ember.backends import Backend
    be = Backend("cuda", types.SimpleNamespace(ndarray=list, asarray=lambda a: a), None)
    with pytest.raises(TypeError, match=r"^\[cuda\] bfloat16 is not supported on cuda \(CuPy has no bfloat16"):
        be.from_host(np.zeros(2, em.bfloat16))
    assert be.from_host(np.zeros(2, np.float16)).dtype == np.float16


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_and_lstm_modules_in_bfloat16(device):
    require(device)
    em.manual_seed(0)
    emb, lstm = nn.Embedding(5, 4).to(device), nn.LSTM(4, 3).to(device)
    idx = em.tensor([[1, 2], [4, 0]], device=device)
    want, _ = lstm(emb(idx))
    emb.bfloat16(), lstm.bfloat16()
    got, (h, c) = lstm(emb(idx))
    assert got.dtype == h.dtype == c.dtype == em.bfloat16
    np.testing.assert_allclose(got.numpy().astype(np.float32), want.numpy(), atol=0.03)
    got.float().sum().backward()
    assert emb.weight.grad.dtype == em.bfloat16 and lstm.weight_ih_l0.grad.dtype == em.bfloat16
