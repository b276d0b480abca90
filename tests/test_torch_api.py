"""PyTorch's names on ember: devices, dtype casts and type strings, formatting, new_* constructors,
views (view refuses what torch refuses), split/chunk/narrow/repeat, the top level, nn extras."""
import math

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.testing import gradcheck

from .devices import DEVICES


def _torch():
    return pytest.importorskip("torch")


# ---- devices ------------------------------------------------------------------------------------
def test_device_objects_as_torch():
    torch = _torch()
    for args in [("cpu",), ("cuda",), ("cuda", 0), ("cuda:0",), ("cpu", 0), ("cuda:3",)]:
        d, t = em.device(*args), torch.device(*args)
        assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert em.device(em.device("cuda:1")) == em.device("cuda", 1)
    assert em.device("cuda-emu").type == "cuda-emu" and em.device("numpy").index is None


def test_device_equality_and_hash():
    assert em.device("cuda:0") == "cuda" and em.device("cuda:0") == "cuda:0" and em.device("cuda") == "cuda:1"
    assert em.device("cuda:0") != "cuda:1" and em.device("cpu") != "cuda" and em.device("cpu") != 3
    assert em.device("cpu") == em.device("cpu", 0) and em.device("cuda-emu") != "cuda"
    assert {em.device("cpu"): 1}["cpu"] == 1 and em.device("cpu") in ("numpy", "cpu")


@pytest.mark.parametrize("bad, err", [("gpu", ValueError), ("cuda:x", ValueError), ("cuda:-1", ValueError),
                                      (3, TypeError)])
def test_device_bad_strings(bad, err):
    with pytest.raises(err, match=r"^\[device\] "):
        em.device(bad)


def test_device_bad_index():
    with pytest.raises(ValueError, match="negative"):
        em.device("cuda", -1)
    with pytest.raises(TypeError, match="already has an index"):
        em.device("cuda:0", 0)


@pytest.mark.parametrize("device", DEVICES)
def test_tensor_device_is_a_device_usable_everywhere(device):
    x = em.randn(2, 3, device=device)
    assert isinstance(x.device, em.device) and x.device == device and str(x.device).startswith(device)
    assert x.is_cuda == (device == "cuda")
    d = x.device
    assert em.zeros(2, device=d).device == d and em.tensor([1.0], device=d).device == d
    assert x.to(d) is x and x.to(em.device("numpy")).device == "numpy"
    assert em.full_like(x, 2.0, device=d).device == d
    m = nn.Linear(3, 2).to(d)
    assert m.weight.device == d and m(x).device == d


def test_index_other_than_0_is_refused_on_host_devices():
    with pytest.raises(ValueError, match=r"^\[device\] 'cpu:1' does not exist"):
        em.zeros(2, device="cpu:1")
    assert em.zeros(2, device="cpu:0").device == "cpu"
    assert em.zeros(2, device=em.device("numpy", 0)).device == "numpy"


def test_accelerator_and_cudnn_flags():
    assert em.accelerator.is_available() == em.cuda.is_available()
    acc = em.accelerator.current_accelerator()
    assert (acc is None) == (not em.accelerator.is_available())
    assert acc is None or acc == "cuda"
    assert em.accelerator.device_count() == em.cuda.device_count()
    em.backends.cudnn.benchmark = True
    em.backends.cudnn.deterministic = True
    import ember.backends.cudnn as cudnn
    assert cudnn.benchmark and cudnn.deterministic and not cudnn.is_available()
    em.backends.cudnn.benchmark = em.backends.cudnn.deterministic = False
    assert not em.backends.mps.is_available() and not em.backends.mps.is_built()
    assert em.backends.get_backend("numpy").name == "numpy"  # the package of backends still works


def test_to_takes_torch_arguments():
    x = em.zeros(2, 3, device="numpy")
    like = em.ones(1, dtype=em.float64, device=em.available_devices()[-1])
    y = x.to(like)
    assert y.dtype == em.float64 and y.device == like.device
    assert x.to("numpy", non_blocking=True) is x and x.to(em.device("numpy"), em.float32) is x
    c = x.to("numpy", copy=True)
    assert c is not x and not np.shares_memory(c.numpy(), x.numpy())
    before = em.get_default_device()
    try:
        em.set_default_device(em.device("numpy"))
        assert em.zeros(1).device == "numpy" and em.get_default_device() == "numpy"
    finally:
        em.set_default_device(before)


def test_repr_names_the_device_as_torch():
    x = em.zeros(1, device="numpy")
    if em.get_default_device() != "numpy":
        assert "device='numpy'" in repr(x)


# ---- dtypes, type strings, formatting --------------------------------------------------------------
def test_casts_and_type_strings_match_torch():
    torch = _torch()
    a = np.array([[1.5, -2.0]], np.float32)
    x, t = em.tensor(a), torch.tensor(a)
    for name in ["float", "double", "long", "int", "bool"]:
        got, want = getattr(x, name)(), getattr(t, name)()
        assert got.type() == want.type() and str(got.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert x.type() == "torch.FloatTensor" and x.type(em.float64).dtype == em.float64
    assert x.type("torch.LongTensor").dtype == em.int64 and x.type("float64").dtype == em.float64
    with pytest.raises(ValueError, match=r"^\[type\] invalid type"):
        x.type("torch.FooTensor")


def test_format_spec():
    torch = _torch()
    for v in [1.23456, -0.5, 3.0]:
        assert f"{em.tensor(v):.4f}" == f"{torch.tensor(v):.4f}" == f"{v:.4f}"
    assert f"{em.tensor([2.5]):.2f}" == "2.50"      # one element of any rank, as the loss of a batch
    assert f"{em.tensor(7):>4}" == "   7"
    x = em.tensor([1.0, 2.0])
    assert f"{x}" == str(x)
    with pytest.raises(TypeError, match="one-element"):
        f"{x:.2f}"


def test_eq_and_hash_as_torch():
    x, y = em.tensor([1.0, 2.0, 3.0]), em.tensor([1.0, 0.0, 3.0])
    for got, want in [(x == y, [True, False, True]), (x != y, [False, True, False]),
                      (x.eq(y), [True, False, True]), (x.ne(2.0), [True, False, True]),
                      (x.lt(y), [False, False, False]), (x.le(y), [True, False, True]),
                      (x.gt(y), [False, True, False]), (x.ge(3), [False, False, True])]:
        assert got.dtype == em.bool_ and got.numpy().tolist() == want
    a, b = em.tensor([1.0]), em.tensor([1.0])
    assert hash(a) != hash(b) and len({a, b}) == 2 and {a: 1}[a] == 1


@pytest.mark.parametrize("device", DEVICES)
def test_new_constructors_take_self_dtype_and_device(device):
    torch = _torch()
    x = em.zeros(2, dtype=em.float64, device=device)
    t = torch.zeros(2, dtype=torch.float64)
    pairs = [(x.new_zeros(2, 3), t.new_zeros(2, 3)), (x.new_ones((1, 2)), t.new_ones((1, 2))),
             (x.new_full((2,), 3), t.new_full((2,), 3)), (x.new_tensor([1, 2]), t.new_tensor([1, 2])),
             (x.new_empty(0, 4), t.new_empty(0, 4))]
    for got, want in pairs:
        assert got.device == device and got.shape == tuple(want.shape)
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        if got.numel():
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert x.new_zeros(2, dtype=em.int64).dtype == em.int64
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert em.tensor([1, 2]).new_full((2,), 2.5).numpy().tolist() == [2, 2]  # self's dtype, as torch


# ---- views ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, perm, new", [((3, 4), (1, 0), (12,)), ((2, 3, 4), (0, 2, 1), (2, 12)),
                                               ((2, 3, 4), (1, 0, 2), (3, 8)), ((2, 3, 4), (1, 0, 2), (6, 4)),
                                               ((4, 1, 3), (1, 0, 2), (12,)), ((2, 3, 4), (0, 2, 1), (8, 3)),
                                               ((5, 6), (1, 0), (6, 5, 1)), ((2, 3, 4), (2, 1, 0), (4, 3, 2))])
def test_view_raises_exactly_where_torch_does(shape, perm, new):
    torch = _torch()
    a = np.arange(math.prod(shape), dtype=np.float32).reshape(shape)
    t = torch.tensor(a).permute(*perm)
    x = em.tensor(a).permute(*perm)
    try:
        want = t.view(*new)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"view size is not compatible.*Use \.reshape\(\.\.\.\) instead"):
            x.view(*new)
        np.testing.assert_array_equal(x.reshape(*new).numpy(), t.reshape(*new).numpy())
        return
    got = x.view(*new)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert np.shares_memory(got.numpy(), x.numpy())


def test_view_of_sliced_and_expanded_tensors():
    torch = _torch()
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    for sl, new in [((slice(None), slice(0, 4)), (2, 2, 4)), ((slice(None), slice(0, 4)), (16,)),
                    ((slice(0, 4, 2),), (12,)), ((slice(1, 3),), (3, 4))]:
        t, x = torch.tensor(a)[sl], em.tensor(a)[sl]
        try:
            want = t.view(*new).numpy()
        except RuntimeError:
            with pytest.raises(RuntimeError, match="reshape"):
                x.view(*new)
        else:
            np.testing.assert_array_equal(x.view(*new).numpy(), want)
    e = em.tensor([1.0, 2.0])[:, None].expand(2, 3)
    assert e.view(2, 3, 1).shape == (2, 3, 1)
    with pytest.raises(RuntimeError, match="reshape"):
        e.view(6)
    with pytest.raises(ValueError, match="cannot reshape"):
        em.zeros(2, 3).view(4)


def test_view_shares_version_and_writes():
    x = em.zeros(2, 3)
    v = x.view(3, 2)
    v[0, 0] = 5.0
    assert x[0, 0].item() == 5.0 and x._version_count == 1
    assert x.view_as(em.zeros(6)).shape == (6,) and x.reshape_as(em.zeros(3, 2)).shape == (3, 2)
    assert x[:, :1].expand_as(em.zeros(2, 4)).shape == (2, 4)


@pytest.mark.parametrize("device", DEVICES)
def test_split_chunk_narrow_match_torch(device):
    torch = _torch()
    a = np.arange(30, dtype=np.float64).reshape(5, 6)
    x, t = em.tensor(a, dtype=em.float64, device=device), torch.tensor(a)
    cases = [(lambda m: m.split(2), lambda m: m.split(2)), (lambda m: m.split([1, 5], dim=1), None),
             (lambda m: m.split(4, 1), None), (lambda m: m.chunk(3), None), (lambda m: m.chunk(4, dim=1), None),
             (lambda m: m.chunk(10), None), (lambda m: em.split(m, 5) if isinstance(m, em.Tensor) else m.split(5),
                                             None)]
    for fe, ft in cases:
        got, want = fe(x), (ft or fe)(t)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    for args in [(0, 1, 3), (1, -2, 2), (1, 0, 0), (0, 5, 0)]:
        np.testing.assert_array_equal(x.narrow(*args).numpy(), t.narrow(*args).numpy())
    assert [p.shape for p in em.zeros(0).chunk(3)] == [tuple(p.shape) for p in torch.zeros(0).chunk(3)]


def test_split_narrow_are_differentiable_views():
    x = em.randn(4, 5, dtype=em.float64, requires_grad=True)
    assert gradcheck(lambda x: em.cat([p * (i + 1) for i, p in enumerate(x.split([2, 3], dim=1))], dim=1), [x])
    assert gradcheck(lambda x: x.narrow(0, 1, 2) * 2, [x])
    assert gradcheck(lambda x: x.chunk(2)[1].exp(), [x])
    y = em.zeros(4, 5)
    y.split(2)[1][0, 0] = 3.0
    assert y[2, 0].item() == 3.0 and y._version_count == 1


@pytest.mark.parametrize("bad, err, msg", [
    (lambda x: x.split(0), ValueError, r"^\[split\] split_size must be positive"),
    (lambda x: x.split([2, 2]), ValueError, r"^\[split\] split sizes \[2, 2\] must"),
    (lambda x: x.chunk(0), ValueError, r"^\[chunk\] chunks must be a positive int"),
    (lambda x: x.narrow(1, 3, 2), ValueError, r"^\[narrow\] start \(3\) \+ length \(2\) exceeds"),
    (lambda x: x.narrow(1, 5, 0), IndexError, r"^\[narrow\] start 5 is out of range"),
    (lambda x: x.narrow(2, 0, 1), IndexError, r"^\[narrow\] dim 2 is out of range"),
    (lambda x: x.repeat(2), ValueError, r"^\[repeat\] got 1 repeat counts"),
    (lambda x: x.t().t().reshape(1, 5, 4).t(), ValueError, r"^\[t\] expects a tensor with <= 2"),
    (lambda x: x.mm(x), ValueError, r"^\[mm\] shapes \(5, 4\) and \(5, 4\) cannot be multiplied"),
    (lambda x: x.mm(x[0]), ValueError, r"^\[mm\] both operands must be matrices"),
    (lambda x: x[None].bmm(x[None]), ValueError, r"^\[bmm\] shapes \(1, 5, 4\) and \(1, 5, 4\)"),
    (lambda x: x.bmm(x), ValueError, r"^\[bmm\] both operands must be 3-D"),
])
def test_view_and_product_errors(bad, err, msg):
    with pytest.raises(err, match=msg):
        bad(em.zeros(5, 4))


@pytest.mark.parametrize("device", DEVICES)
def test_repeat_mm_bmm_t_clone_contiguous(device):
    torch = _torch()
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((5, 3, 4))
    x, y, z = (em.tensor(v, dtype=em.float64, device=device, requires_grad=True) for v in (a, b, c))
    tx, ty, tz = (torch.tensor(v, requires_grad=True) for v in (a, b, c))
    for fe, ft in [(lambda: x.repeat(2, 1, 3), lambda: tx.repeat(2, 1, 3)), (lambda: x.mm(y), lambda: tx.mm(ty)),
                   (lambda: em.mm(x, y), lambda: torch.mm(tx, ty)), (lambda: x.t(), lambda: tx.t()),
                   (lambda: z.bmm(z.transpose(1, 2)), lambda: tz.bmm(tz.transpose(1, 2))),
                   (lambda: em.bmm(z, z.permute(0, 2, 1)), lambda: torch.bmm(tz, tz.permute(0, 2, 1))),
                   (lambda: x.t().contiguous(), lambda: tx.t().contiguous()), (lambda: x.clone(), lambda: tx.clone())]:
        got, want = fe(), ft()
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12)
        g = rng.standard_normal(want.shape)
        for t in (x, y, z, tx, ty, tz):
            t.grad = None
        got.backward(g)
        want.backward(torch.tensor(g))
        for e, t in ((x, tx), (y, ty), (z, tz)):
            if t.grad is not None:
                np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x: x.repeat(1, 2, 0), [x]) and gradcheck(lambda x: x.repeat(3, 1), [x])
    v = em.zeros(3, device=device)
    assert v.t().shape == (3,) and v.contiguous() is v and v.clone()._version is not v._version
    nc = em.zeros(3, 4, device=device).t()
    assert not nc.is_contiguous() and nc.contiguous().is_contiguous()


# ---- top level ------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_top_level_functions_match_torch(device):
    torch = _torch()
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 4)) * 0.5
    x, t = em.tensor(a, dtype=em.float64, device=device), torch.tensor(a)
    for name in ["relu", "sigmoid", "tanh", "log1p", "expm1"]:
        np.testing.assert_allclose(getattr(em, name)(x).numpy(), getattr(torch, name)(t).numpy(), rtol=1e-6)
    for name in ["softmax", "log_softmax"]:
        np.testing.assert_allclose(getattr(em, name)(x, 1).numpy(), getattr(torch, name)(t, 1).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(em.flatten(x, 1, 2).numpy(), torch.flatten(t, 1, 2).numpy())
    np.testing.assert_array_equal(em.flatten(x, start_dim=0, end_dim=1).numpy(), torch.flatten(t, 0, 1).numpy())
    for name in ["zeros_like", "ones_like"]:
        got, want = getattr(em, name)(x), getattr(torch, name)(t)
        assert got.device == device and str(got.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert em.full_like(x, 7).numpy().max() == 7 and em.full_like(x, 7).dtype == em.float64
    em.manual_seed(0)
    r1 = em.randn_like(x)
    em.manual_seed(0)
    assert r1.shape == a.shape and r1.dtype == em.float64 and r1.device == device
    np.testing.assert_array_equal(em.randn_like(x).numpy(), r1.numpy())
    u = em.rand_like(x, dtype=em.float32)
    assert u.dtype == em.float32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    with pytest.raises(TypeError, match=r"^\[randn_like\] needs a floating-point dtype"):
        em.randn_like(em.tensor([1, 2]))


def test_log1p_expm1_gradients_and_precision():
    x = em.tensor([1e-10, 0.5, -0.3], dtype=em.float64, requires_grad=True)
    assert gradcheck(em.log1p, [x]) and gradcheck(lambda x: x.expm1(), [x])
    assert em.log1p(em.tensor([1e-10], dtype=em.float64)).item() == pytest.approx(1e-10, rel=1e-12)
    assert em.expm1(em.tensor([1, 2])).dtype == em.float32


# ---- nn extras ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (6, 5, 3)])
def test_dropout2d_zeros_whole_channels(device, shape):
    em.manual_seed(0)
    drop = nn.Dropout2d(0.4)
    x = em.ones(*shape, dtype=em.float64, device=device, requires_grad=True)
    y = drop(x)
    planes = y.numpy().reshape(-1, shape[-2] * shape[-1])
    assert set(np.unique(planes).tolist()) <= {0.0, 1 / 0.6}
    assert all(len(set(p.tolist())) == 1 for p in planes)       # each channel kept or dropped whole
    assert 0 < (planes[:, 0] == 0).sum() < len(planes)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())        # the gradient passes where the channel is kept
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout2d(0.0)(x) is x and (nn.Dropout2d(1.0)(x).numpy() == 0).all()
    assert repr(nn.Dropout2d(0.3)) == "Dropout2d(p=0.3)"


def test_dropout2d_statistics_and_errors():
    em.manual_seed(1)
    y = nn.functional.dropout2d(em.ones(200, 50, 2, 2), 0.3)
    kept = (y.numpy()[:, :, 0, 0] != 0).mean()
    assert abs(kept - 0.7) < 0.02
    with pytest.raises(ValueError, match=r"^\[dropout2d\] input must be \(N, C, H, W\) or \(C, H, W\)"):
        nn.functional.dropout2d(em.ones(2, 3))
    with pytest.raises(ValueError, match=r"^\[Dropout2d\] p must be a probability"):
        nn.Dropout2d(1.5)
    with pytest.raises(TypeError, match=r"^\[dropout2d\] input must be float32 or float64"):
        nn.functional.dropout2d(em.ones(2, 3, 4, dtype=em.int64))


def test_dropout2d_matches_torch_semantics_on_4d():
    torch = _torch()
    torch.manual_seed(0)
    t = torch.nn.Dropout2d(0.5)(torch.ones(8, 16, 3, 3))
    em.manual_seed(0)
    e = nn.Dropout2d(0.5)(em.ones(8, 16, 3, 3))
    for out in (t.numpy(), e.numpy()):         # the same structure: whole planes of 0 or 2
        assert set(np.unique(out).tolist()) == {0.0, 2.0}
        assert (out.reshape(8, 16, 9).std(axis=2) == 0).all()


def test_identity_and_flatten_parameters():
    ident = nn.Identity(54, unused_argument1=0.1, unused_argument2=False)
    x = em.randn(2, 3)
    assert ident(x) is x and list(ident.parameters()) == []
    for cls in (nn.RNN, nn.LSTM, nn.GRU):
        m = cls(3, 4)
        before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
        assert m.flatten_parameters() is None
        assert all(np.array_equal(v.numpy(), before[k]) for k, v in m.state_dict().items())


def test_view_agrees_with_torch_on_random_layouts():
    torch = _torch()
    rng = np.random.default_rng(7)
    for _ in range(300):
        shape = tuple(int(n) for n in rng.integers(1, 4, rng.integers(1, 5)))
        a = np.arange(math.prod(shape), dtype=np.float32).reshape(shape)
        perm = tuple(int(p) for p in rng.permutation(len(shape)))
        step = int(rng.integers(1, 3))
        t, x = torch.tensor(a).permute(*perm)[..., ::step], em.tensor(a).permute(*perm)[..., ::step]
        sizes = list(t.shape)
        new = []
        while sizes:                      # regroup the sizes into a random new shape of the same numel
            k = int(rng.integers(1, len(sizes) + 1))
            new.append(math.prod(sizes[:k]))
            sizes = sizes[k:]
            if rng.random() < 0.3:
                new.append(1)
        try:
            want = t.view(*new).numpy()
        except RuntimeError:
            with pytest.raises(RuntimeError, match="view size is not compatible"):
                x.view(*new)
            continue
        got = x.view(*new)
        np.testing.assert_array_equal(got.numpy(), want)
        assert got.numel() == 0 or np.shares_memory(got.numpy(), x.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_all_any_as_torch(device):
    torch = _torch()
    a = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]], np.float32)
    x, t = em.tensor(a, device=device), torch.tensor(a)
    for name in ("all", "any"):
        for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": -1}):
            got, want = getattr(x, name)(**kw), getattr(t, name)(**kw)
            assert got.dtype == em.bool and got.shape == tuple(want.shape), (name, kw)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert getattr(em, name)(x).item() == getattr(torch, name)(t).item()
    assert em.all(em.tensor([], device=device)).item() is True
    with pytest.raises(IndexError):
        x.all(dim=2)
