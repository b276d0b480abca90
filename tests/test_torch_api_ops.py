"""PyTorch's indexing, einsum, norm and in-place methods on ember: values and gradients against torch
on every device, float64 gradcheck, errors, and the version counter of in-place writes."""
import math

import numpy as np
import pytest

import ember as em
from ember.testing import gradcheck

from .devices import DEVICES

torch = pytest.importorskip("torch")


def _pair(a, device, grad=True):
    """(ember tensor on device, torch tensor) of the float64 array a, both requiring grad."""
    return (em.tensor(a, dtype=em.float64, device=device, requires_grad=grad),
            torch.tensor(a, dtype=torch.float64, requires_grad=grad))


def _compare(fe, ft, arrays, device, rng, rtol=1e-10):
    """fe(*ember) against ft(*torch): the values, then every input's gradient for a random upstream."""
    es, ts = zip(*[_pair(a, device) for a in arrays])
    got, want = fe(*es), ft(*ts)
    if isinstance(want, tuple):
        got, want = got[0], want[0]
    assert got.shape == tuple(want.shape) and got.device == device
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=rtol, atol=1e-12)
    g = rng.standard_normal(want.shape)
    got.backward(g)
    want.backward(torch.tensor(g))
    for e, t in zip(es, ts):
        want_g = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got_g = np.zeros(e.shape) if e.grad is None else e.grad.numpy()
        np.testing.assert_allclose(got_g, want_g, rtol=rtol, atol=1e-12)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---- gather / scatter / masked_fill ------------------------------------------------------------------
def _perm_index(rng, shape, n, dim):
    """An int64 index of shape with distinct positions (< n) along dim, so scatter has no ties."""
    moved = list(shape)
    moved.append(moved.pop(dim))
    rows = [rng.permutation(n)[:moved[-1]] for _ in range(math.prod(moved[:-1]))]
    return np.moveaxis(np.array(rows).reshape(moved), -1, dim)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_scatter_match_torch(device, dim, rng):
    a = rng.standard_normal((4, 5))
    d = dim % 2
    idx = rng.integers(0, a.shape[d], (3, 4) if d == 0 else (2, 3))       # smaller than a, repeats allowed
    ie, it = em.tensor(idx, device=device), torch.tensor(idx)
    _compare(lambda x: x.gather(dim, ie), lambda x: x.gather(dim, it), [a], device, rng)
    _compare(lambda x: em.gather(x, dim, ie), lambda x: torch.gather(x, dim, it), [a], device, rng)
    uniq = _perm_index(rng, (3, 4) if d == 0 else (4, 3), a.shape[d], d)
    ue, ut = em.tensor(uniq, device=device), torch.tensor(uniq)
    src = rng.standard_normal((4, 5))   # larger than the index: torch's backward refuses that, gradcheck checks it
    s1, s2 = src[:uniq.shape[0], :uniq.shape[1]], src[:idx.shape[0], :idx.shape[1]]
    _compare(lambda x, s: x.scatter(dim, ue, s), lambda x, s: x.scatter(dim, ut, s), [a, s1], device, rng)
    _compare(lambda x, s: x.scatter_add(dim, ie, s), lambda x, s: x.scatter_add(dim, it, s), [a, s2], device, rng)
    _compare(lambda x: x.scatter(dim, ue, value=2.5), lambda x: x.scatter(dim, ut, 2.5), [a], device, rng)
    x = em.tensor(a, dtype=em.float64, device=device, requires_grad=True)
    s = em.tensor(src, dtype=em.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x: x.gather(dim, ie), [x])
    assert gradcheck(lambda x, s: em.scatter(x, dim, ue, s), [x, s])
    assert gradcheck(lambda x, s: em.scatter_add(x, dim, ie, s), [x, s])


@pytest.mark.parametrize("device", DEVICES)
def test_scatter_in_place(device, rng):
    idx = np.array([[0, 2], [1, 0]])
    e = em.zeros(2, 3, device=device)
    t = torch.zeros(2, 3)
    src = np.arange(1, 5, dtype=np.float32).reshape(2, 2)
    assert e.scatter_(1, em.tensor(idx, device=device), em.tensor(src, device=device)) is e
    t.scatter_(1, torch.tensor(idx), torch.tensor(src))
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e._version_count == 1
    e.scatter_(0, em.tensor([[1, 0, 1]], device=device), value=-1.0)
    t.scatter_(0, torch.tensor([[1, 0, 1]]), -1.0)
    e.scatter_add_(1, em.tensor(idx, device=device), em.ones(2, 2, device=device))
    t.scatter_add_(1, torch.tensor(idx), torch.ones(2, 2))
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    ii = np.array([[0, 1, 1, 0, 1]])
    e_int = em.zeros(1, 2, dtype=em.int64, device=device).scatter_add(1, em.tensor(ii, device=device),
                                                                      em.tensor(ii + 3, device=device))
    t_int = torch.zeros(1, 2, dtype=torch.int64).scatter_add(1, torch.tensor(ii), torch.tensor(ii + 3))
    assert e_int.dtype == em.int64 and e_int.numpy().tolist() == t_int.tolist()
    a, b = _pair(rng.standard_normal((2, 3)), device)
    w, tw = _pair(rng.standard_normal((2, 2)), device)
    y, ty = a * 1, b * 1
    y.scatter_(1, em.tensor(idx, device=device), w)      # in a graph: a gets the unscattered gradient, w the rest
    ty.scatter_(1, torch.tensor(idx), tw)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


@pytest.mark.parametrize("bad, err, msg", [
    (lambda x: x.gather(1, em.tensor([[0.0]])), TypeError, r"^\[gather\] index must be an integer tensor"),
    (lambda x: x.gather(1, em.tensor([0, 1])), ValueError, r"^\[gather\] index of shape \(2,\) must have as many"),
    (lambda x: x.gather(1, em.tensor([[0, 5]])), IndexError, r"^\[gather\] index 5 is out of bounds for dimension 1 "
                                                             r"with size 4"),
    (lambda x: x.gather(1, em.tensor([[-1]])), IndexError, r"^\[gather\] index -1 is out of bounds"),
    (lambda x: x.gather(0, em.zeros(3, 5, dtype=em.int64)), ValueError, r"^\[gather\] index of shape \(3, 5\) is "
                                                                         r"larger than the input"),
    (lambda x: x.gather(2, em.zeros(1, 1, dtype=em.int64)), IndexError, r"^\[gather\] dim 2 is out of range"),
    (lambda x: x.gather(0, [[0]]), TypeError, r"^\[gather\] index must be a Tensor"),
    (lambda x: x.scatter(0, em.zeros(2, 2, dtype=em.int64), em.ones(1, 2)), ValueError,
     r"^\[scatter\] index of shape \(2, 2\) is larger than src of shape \(1, 2\)"),
    (lambda x: x.scatter(0, em.zeros(1, 1, dtype=em.int64)), TypeError, r"^\[scatter\] give exactly one of src"),
    (lambda x: x.scatter_add(0, em.zeros(1, 1, dtype=em.int64), 1.0), TypeError, r"^\[scatter_add\] src must be"),
    (lambda x: x.masked_fill(em.tensor([1, 0, 1, 0]), 1.0), TypeError, r"^\[masked_fill\] mask must be a bool"),
    (lambda x: x.masked_fill(em.ones(3, dtype=em.bool_), 1.0), ValueError, r"^\[masked_fill\] mask of shape \(3,\) "
                                                                            r"does not broadcast"),
    (lambda x: x.masked_fill(x > 0, em.ones(2)), ValueError, r"^\[masked_fill\] value must be a number or a 0-d"),
    (lambda x: x.topk(5), ValueError, r"^\[topk\] k must be an int in \[0, 4\]"),
    (lambda x: x.sort(dim=3), IndexError, r"^\[sort\] dim 3 is out of range"),
    (lambda x: x.cumsum(2), IndexError, r"^\[cumsum\] dim 2 is out of range"),
    (lambda x: x.norm(p="nuc"), ValueError, r"^\[norm\] p must be a number or 'fro'"),
    (lambda x: em.tensor([1, 2]).norm(), TypeError, r"^\[norm\] expects a floating-point tensor"),
])
def test_index_errors(bad, err, msg):
    with pytest.raises(err, match=msg):
        bad(em.zeros(2, 4))


@pytest.mark.parametrize("device", DEVICES)
def test_masked_fill_matches_torch(device, rng):
    a = rng.standard_normal((3, 4))
    for mask in [a > 0, (a > 0)[:1], (a > 0)[:, :1]]:
        me, mt = em.tensor(mask, device=device), torch.tensor(mask)
        _compare(lambda x: x.masked_fill(me, -1.5), lambda x: x.masked_fill(mt, -1.5), [a], device, rng)
        _compare(lambda x, v: x.masked_fill(me, v.sum()), lambda x, v: x.masked_fill(mt, v.sum()),
                 [a, rng.standard_normal(2)], device, rng)    # a 0-d value tensor gets the masked gradient
    ie = em.tensor([1, 2, 3], device=device)
    assert ie.masked_fill(ie > 1, 2.7).numpy().tolist() == [1, 2, 2]    # the value takes the input's dtype
    big = em.tensor(a, device=device).masked_fill(em.ones(2, 3, 4, dtype=em.bool_, device=device), 0.0)
    assert big.shape == tuple(torch.tensor(a).masked_fill(torch.ones(2, 3, 4, dtype=torch.bool), 0.0).shape)
    x = em.tensor(a, device=device)
    assert x.masked_fill_(x > 0, 0.0) is x and x.numpy().max() <= 0 and x._version_count == 1
    with pytest.raises(RuntimeError, match="cannot be stored"):
        x.masked_fill_(em.ones(2, 3, 4, dtype=em.bool_, device=device), 0.0)


# ---- sort / topk / cumsum ---------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_topk_match_torch(device, dim, rng):
    a = rng.standard_normal((5, 6, 7))
    for desc in (False, True):
        _compare(lambda x: x.sort(dim, descending=desc), lambda x: x.sort(dim, descending=desc), [a], device, rng)
        e, t = em.tensor(a, device=device).sort(dim, desc), torch.tensor(a).sort(dim, desc)
        np.testing.assert_array_equal(e.indices.numpy(), t.indices.numpy())
        assert e.indices.dtype == em.int64 and not e.indices.requires_grad
    for k, largest in [(1, True), (3, False), (5, True), (0, True)]:
        _compare(lambda x: x.topk(k, dim, largest), lambda x: x.topk(k, dim, largest), [a], device, rng)
        values, indices = em.topk(em.tensor(a, device=device), k, dim=dim, largest=largest)
        np.testing.assert_array_equal(indices.numpy(), torch.tensor(a).topk(k, dim, largest).indices.numpy())
    x = em.tensor(a, dtype=em.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x: x.sort(dim, descending=True).values, [x])
    assert gradcheck(lambda x: x.topk(2, dim).values * 3, [x])
    np.testing.assert_array_equal(em.argsort(x, dim).numpy(), torch.argsort(torch.tensor(a), dim).numpy())


def test_sort_ties_nan_and_ints_as_torch():
    a = np.array([3.0, np.nan, 1.0, 3.0, -np.inf, 1.0, np.nan])
    for desc in (False, True):
        e, t = em.tensor(a).sort(descending=desc, stable=True), torch.tensor(a).sort(descending=desc, stable=True)
        np.testing.assert_array_equal(e.values.numpy(), t.values.numpy())
        np.testing.assert_array_equal(e.indices.numpy(), t.indices.numpy())
    for k, largest in [(3, True), (3, False), (6, True)]:
        e, t = em.tensor(a).topk(k, largest=largest), torch.tensor(a).topk(k, largest=largest)
        np.testing.assert_array_equal(e.values.numpy(), t.values.numpy())
    i = np.array([[4, 1, 4, 0], [2, 2, 9, -1]])
    e, t = em.tensor(i).topk(2), torch.tensor(i).topk(2)
    np.testing.assert_array_equal(e.values.numpy(), t.values.numpy())
    s = em.tensor(3.0).sort()
    assert s.values.shape == () and s.indices.item() == 0


@pytest.mark.parametrize("device", DEVICES)
def test_cumsum_matches_torch(device, rng):
    a = rng.standard_normal((3, 4, 5))
    for dim in (0, 1, 2, -1):
        _compare(lambda x: x.cumsum(dim), lambda x: x.cumsum(dim), [a], device, rng)
        _compare(lambda x: em.cumsum(x, dim=dim), lambda x: torch.cumsum(x, dim=dim), [a], device, rng)
    x = em.tensor(a, dtype=em.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x: x.cumsum(1), [x])
    for v in ([True, False, True], [1, 2, 3]):
        e, t = em.tensor(v, device=device).cumsum(0), torch.tensor(v).cumsum(0)
        assert e.dtype == em.int64 and e.numpy().tolist() == t.tolist()
    assert em.tensor([1, 2], device=device).cumsum(0, dtype=em.float64).dtype == em.float64


# ---- norm ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", ["fro", 2, 1, 3, 0.5, math.inf, -math.inf, 0])
def test_norm_matches_torch(device, p, rng):
    a = rng.standard_normal((3, 4, 5))
    a[0, 0, 0] = 0.0
    for dim, keep in [(None, False), (1, False), (-1, True), ((0, 2), False)]:
        if p == "fro" and isinstance(dim, int):
            continue
        _compare(lambda x: x.norm(p, dim, keep), lambda x: x.norm(p, dim, keep), [a], device, rng)
    x = em.tensor(a, dtype=em.float64, device=device, requires_grad=True)
    if p not in (0, math.inf, -math.inf):   # those are not smooth where the test's finite steps land
        assert gradcheck(lambda x: em.norm(x, p, dim=1), [x])


def test_norm_at_zero_has_zero_gradient_as_torch():
    for p in (2, 3, 1.5):
        x, t = _pair(np.zeros(3), "numpy")
        x.norm(p).backward()
        t.norm(p).backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    assert em.randn(4, 5).norm(dim=1, keepdim=True).shape == (4, 1)
    assert em.tensor([3.0, 4.0]).norm(dtype=em.float64).dtype == em.float64


# ---- einsum ----------------------------------------------------------------------------------------------
EQUATIONS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),                 # matmul
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),        # batch matmul
    ("ij,ij->", [(3, 4), (3, 4)]),                   # full contraction
    ("ij->ji", [(3, 4)]),
    ("ij->j", [(3, 4)]),                             # a label only the input has: summed
    ("i,j->ij", [(3,), (4,)]),                       # outer product
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),   # ellipsis with broadcasting
    ("...d,...d->...", [(3, 1, 4), (5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),      # three operands
    ("ij,jk", [(3, 4), (4, 5)]),                     # implicit output
    ("ba", [(3, 4)]),                                # implicit output sorts the labels
    ("i...->...", [(3, 4, 2)]),
    ("ii->i", [(4, 4)]),                             # diagonal
    ("ii", [(4, 4)]),                                # trace
    ("bii->b", [(2, 3, 3)]),
    ("ij,j->i", [(3, 1), (4,)]),                     # a size-1 dimension broadcast against a label
    ("Ab,bC->AC", [(2, 3), (3, 4)]),                 # upper-case labels
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("eq, shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_torch(device, eq, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    _compare(lambda *xs: em.einsum(eq, *xs), lambda *ts: torch.einsum(eq, *ts), arrays, device, rng, rtol=1e-9)
    xs = [em.tensor(a, dtype=em.float64, device=device, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *xs: em.einsum(eq, *xs), xs)


def test_einsum_forms_and_errors():
    a, b = em.randn(2, 3), em.randn(3, 4)
    np.testing.assert_allclose(em.einsum("ij,jk->ik", [a, b]).numpy(), (a @ b).numpy(), rtol=1e-5)
    np.testing.assert_allclose(em.einsum(" i j , j k -> i k ", a, b).numpy(), (a @ b).numpy(), rtol=1e-5)
    assert em.einsum("ij,jk->ik", em.tensor([[1, 2]]), em.tensor([[3], [4]])).dtype == em.int64
    assert em.einsum("ij,jk->ik", a.double(), b).dtype == em.float64
    for eq, ops, err, msg in [
        ("ij,jk->ik", [a], ValueError, r"names 2 operands but 1 were given"),
        ("ij,jk->ik", [a, a], ValueError, r"subscript j has size 2 in operand 1, which does not broadcast with size 3"),
        ("ijk->i", [a], ValueError, r"subscripts 'ijk' name 3 dimensions but operand 0 has shape \(2, 3\)"),
        ("ij->ii", [a], ValueError, r"output subscripts 'ii' must be distinct"),
        ("ij->k", [a], ValueError, r"output subscripts 'k' must be distinct labels of the operands"),
        ("i1->i", [a], ValueError, r"invalid subscripts"),
        ("ii->i", [a], ValueError, r"subscript i is repeated in operand 0 with sizes 2 and 3"),
        ("ij", [], ValueError, r"needs at least one operand"),
    ]:
        with pytest.raises(err, match=r"^\[einsum\] .*" + msg):
            em.einsum(eq, *ops)
    with pytest.raises(TypeError, match=r"^\[einsum\] operand 1 must be a Tensor"):
        em.einsum("i,i->", em.ones(2), np.ones(2))


# ---- in-place ops -----------------------------------------------------------------------------------------
INPLACE = [("add_", (2.0,), {}), ("add_", ("T",), {"alpha": 0.5}), ("sub_", ("T",), {"alpha": 2}),
           ("sub_", (1.5,), {}), ("mul_", ("T",), {}), ("mul_", (3.0,), {}), ("div_", ("T",), {}),
           ("div_", (4.0,), {}), ("clamp_", (-0.5, 0.5), {}), ("clamp_", (), {"min": 0.0})]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, args, kwargs", INPLACE, ids=[f"{n}{i}" for i, (n, _, _) in enumerate(INPLACE)])
def test_inplace_values_grads_and_version_as_torch(device, name, args, kwargs, rng):
    a, o = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)) + 3.0
    (x, tx), (w, tw) = _pair(a, device), _pair(o, device)
    e_args = [w if v == "T" else v for v in args]
    t_args = [tw if v == "T" else v for v in args]
    y, ty = x * 2, tx * 2
    assert getattr(y, name)(*e_args, **kwargs) is y and y._version_count == 1
    getattr(ty, name)(*t_args, **kwargs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal((3, 4))
    (y * y).backward(g)
    (ty * ty).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    if tw.grad is not None:
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        getattr(x, name)(*e_args, **kwargs)           # a leaf that requires grad: refused outside no_grad
    with em.no_grad():
        getattr(x, name)(*e_args, **kwargs)           # as an optimizer step does
        with torch.no_grad():
            getattr(tx, name)(*t_args, **kwargs)
    np.testing.assert_allclose(x.numpy(), tx.detach().numpy(), rtol=1e-12)
    assert x._version_count == 1 and x.grad is not None


@pytest.mark.parametrize("write", [lambda x: x.add_(1.0), lambda x: x.mul_(2.0), lambda x: x.div_(2.0),
                                   lambda x: x.sub_(1.0, alpha=3), lambda x: x.clamp_(max=0.0),
                                   lambda x: x.normal_(), lambda x: x.uniform_(-1, 1),
                                   lambda x: x.masked_fill_(x > 0, 0.0),
                                   lambda x: x.scatter_(0, em.tensor([0]), 1.0)],
                         ids=["add_", "mul_", "div_", "sub_", "clamp_", "normal_", "uniform_", "masked_fill_",
                              "scatter_"])
def test_backward_through_a_value_saved_before_an_inplace_write_raises(write):
    w = em.randn(3, requires_grad=True)
    x = em.randn(3)
    y = (w * x).sum()              # saves x for w's gradient
    write(x)
    assert x._version_count == 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: \[float32 \[3\]\] is at version 1"):
        y.backward()


def test_inplace_on_an_output_that_backward_reads_raises_as_torch():
    a, ta = _pair(np.array([0.1, 0.2]), "numpy")
    y, ty = a.exp(), ta.exp()
    y.mul_(2)
    ty.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*output 0 of ExpBackward"):
        y.sum().backward()


@pytest.mark.parametrize("device", DEVICES)
def test_random_fills_and_copy(device):
    em.manual_seed(3)
    x = em.empty(2000, device=device)
    assert x.normal_(1.0, 2.0) is x and x._version_count == 1
    assert abs(x.numpy().mean() - 1.0) < 0.2 and abs(x.numpy().std() - 2.0) < 0.2
    x.uniform_(-3, -1)
    assert -3 <= x.numpy().min() and x.numpy().max() < -1 and x._version_count == 2
    em.manual_seed(3)
    again = em.empty(2000, device=device).normal_(1.0, 2.0)
    em.manual_seed(3)
    np.testing.assert_array_equal(again.numpy(), em.empty(2000, device=device).normal_(1.0, 2.0).numpy())
    with pytest.raises(TypeError, match=r"^\[normal_\] needs a floating-point tensor"):
        em.zeros(2, dtype=em.int64, device=device).normal_()
    with pytest.raises(ValueError, match=r"^\[uniform_\] expects a <= b"):
        x.uniform_(1, 0)
    w = em.randn(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="leaf tensor"):
        w.normal_()
    buf = em.zeros(2, 3, device=device)
    buf.copy_(w)                               # broadcast, and recorded: w's gradient flows through buf
    (buf * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 4.0))
    assert buf._version_count == 1
    with pytest.raises(ValueError, match=r"^\[copy_\] src of shape \(4,\) does not broadcast"):
        buf.copy_(em.ones(4, device=device, requires_grad=True))
    with em.no_grad():
        buf.copy_(em.ones(3, device=device))
    assert buf.numpy().min() == 1.0 and buf._version_count == 2


@pytest.mark.parametrize("write", [lambda x: x.zero_(), lambda x: x.fill_(2.0), lambda x: x.copy_(em.ones(3)),
                                   lambda x: x.masked_fill_(x > 0, 0.0), lambda x: x.uniform_(),
                                   lambda x: x.scatter_(0, em.tensor([1]), 5.0)],
                         ids=["zero_", "fill_", "copy_", "masked_fill_", "uniform_", "scatter_"])
def test_every_inplace_write_refuses_a_leaf_that_requires_grad_outside_no_grad(write):
    w = em.randn(3, requires_grad=True)
    t = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        t.zero_()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad is being used in an in-place operation"):
        write(w)
    assert w._version_count == 0
    with em.no_grad():
        assert write(w) is w
    assert w._version_count == 1 and w.requires_grad and w.grad_fn is None


@pytest.mark.parametrize("device", DEVICES)
def test_item_assignment_and_fills_in_a_graph_as_torch(device, rng):
    a = rng.standard_normal((5, 3))
    (w, tw), (b, tb) = _pair(a, device), _pair(rng.standard_normal(3), device)
    out, tout = em.zeros(5, 3, dtype=em.float64, device=device), torch.zeros(5, 3, dtype=torch.float64)
    for t in range(3):                          # a preallocated output filled step by step (an RNN loop)
        out[:, t] = w[:, t] * (t + 1)
        tout[:, t] = tw[:, t] * (t + 1)
    out[0] = 5.0
    tout[0] = 5.0
    out[em.tensor([1, 3], device=device)] = b   # fancy index, value broadcast
    tout[torch.tensor([1, 3])] = tb
    out[out > 4] = 0.5
    tout[tout > 4] = 0.5
    y, ty = w * 2, tw * 2
    y.zero_()
    ty.zero_()
    z, tz = w * 3, tw * 3
    z.fill_(1.5)
    tz.fill_(1.5)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    ((out * out).sum() + (y * w).sum() + (z * w).sum()).backward()
    ((tout * tout).sum() + (ty * tw).sum() + (tz * tw).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)
    assert type(y.grad_fn).__name__ == "FillBackward" and out._version_count == 6


def test_item_assignment_into_a_saved_tensor_raises():
    w = em.randn(3, requires_grad=True)
    x = em.randn(3)
    y = (w * x).sum()
    x[0] = w[1]                # x is saved by the product: the write is seen
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
