"""scaled_dot_product_attention beyond the op database: parity with PyTorch (output and the q, k, v
gradients) over shapes that cross the CPU kernel's tiles, masks (bool and float, broadcast), causal,
rows with every key masked, float64 gradcheck, every ISA level with 1 and 2 threads, the dropout
mask (one hash on every device, the right keep rate and scaling), and bad input."""
import numpy as np
import pytest

import ember as em
from ember.backends.numpy_ref import attention_backward, attention_forward
from ember.backends.numpy_ref.attention import attention_keep
from ember.testing import gradcheck

from .check import DEVICES, KERNEL_DEVICES, require

F = em.nn.functional
torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _inputs(rng, qs, ks, vs, dtype):
    return [rng.standard_normal(s).astype(dtype) for s in (qs, ks, vs)]


def _run_ember(arrays, device, mask=None, **kw):
    ts = [em.tensor(a, dtype=a.dtype, device=device, requires_grad=True) for a in arrays]
    m = None if mask is None else em.tensor(mask, dtype=mask.dtype, device=device)
    out = F.scaled_dot_product_attention(*ts, attn_mask=m, **kw)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    out.backward(em.tensor(g, dtype=g.dtype, device=device))
    return out.numpy(), [t.grad.numpy() for t in ts], g


def _run_torch(arrays, g, mask=None, **kw):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = TF.scaled_dot_product_attention(*ts, attn_mask=None if mask is None else torch.tensor(mask), **kw)
    out.backward(torch.tensor(g))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


def _check_vs_torch(arrays, device, mask=None, tol=None, **kw):
    out, grads, g = _run_ember(arrays, device, mask, **kw)
    want, want_grads = _run_torch(arrays, g, mask, **kw)
    tol = tol or (dict(rtol=1e-9, atol=1e-10) if arrays[0].dtype == np.float64 else dict(rtol=2e-4, atol=2e-5))
    np.testing.assert_allclose(out, want, err_msg="out", **tol)
    for name, a, b in zip("qkv", grads, want_grads):
        np.testing.assert_allclose(a, b, err_msg=f"grad {name}", **tol)


# (q, k, v) shapes: 2-D, 4-D, Tq != Tk, Dv != D, odd lengths that cross the CPU tiles (128 queries,
# 128 keys) with their tails, head dims 1, 7, 64 and 256.
SHAPES = [
    ((7, 5), (7, 5), (7, 5)),
    ((1, 1, 1, 4), (1, 1, 1, 4), (1, 1, 1, 4)),
    ((2, 3, 33, 7), (2, 3, 33, 7), (2, 3, 33, 7)),
    ((2, 2, 5, 4), (2, 2, 130, 4), (2, 2, 130, 3)),
    ((1, 2, 130, 64), (1, 2, 130, 64), (1, 2, 130, 64)),
    ((1, 1, 7, 1), (1, 1, 9, 1), (1, 1, 9, 1)),
    ((1, 1, 70, 256), (1, 1, 33, 256), (1, 1, 33, 256)),
    ((3, 9, 6), (3, 9, 6), (3, 9, 6)),
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("device", DEVICES)
def test_matches_torch(device, shapes, causal, rng):
    require(device)
    _check_vs_torch(_inputs(rng, *shapes, np.float32), device, is_causal=causal)


def _masks(rng, B, H, Tq, Tk):
    pad = np.ones((B, 1, 1, Tk), dtype=bool)
    pad[-1, ..., Tk // 2:] = False
    return {
        "key_padding_bool": pad,
        "square_bool": rng.random((Tq, Tk)) > 0.3,
        "square_float": rng.standard_normal((Tq, Tk)).astype(np.float32),
        "per_head_float": np.where(rng.random((1, H, Tq, Tk)) > 0.2, rng.standard_normal((1, H, Tq, Tk)),
                                   -np.inf).astype(np.float32),
        "query_column_bool": rng.random((B, H, Tq, 1)) > 0.0,  # broadcast over the keys
        "full_float": rng.standard_normal((B, H, Tq, Tk)).astype(np.float32),
    }


@pytest.mark.parametrize("kind", list(_masks(np.random.default_rng(0), 2, 3, 4, 5)))
@pytest.mark.parametrize("device", DEVICES)
def test_masks_match_torch(device, kind, rng):
    require(device)
    B, H, Tq, Tk = 2, 3, 67, 131
    mask = _masks(rng, B, H, Tq, Tk)[kind]
    _check_vs_torch(_inputs(rng, (B, H, Tq, 8), (B, H, Tk, 8), (B, H, Tk, 8), np.float32), device, mask)


@pytest.mark.parametrize("mask_shape", [(2, 1, 2, 5, 6), (3, 1, 5, 6), (5, 1)], ids=str)
@pytest.mark.parametrize("device", DEVICES)
def test_mask_over_three_leading_dims(device, mask_shape, rng):
    """Leading dims (2, 3, 2): a mask broadcast over the middle one has no single batch stride."""
    require(device)
    mask = rng.random(mask_shape) > 0.3
    mask[..., 0] = True
    _check_vs_torch(_inputs(rng, (2, 3, 2, 5, 4), (2, 3, 2, 6, 4), (2, 3, 2, 6, 4), np.float32), device, mask)


@pytest.mark.parametrize("device", DEVICES)
def test_fully_masked_rows_give_zero(device, rng):
    """A row with every key masked gives 0 and no gradient, as PyTorch's CPU kernel."""
    require(device)
    mask = rng.random((2, 1, 9, 11)) > 0.4
    mask[0, 0, 3] = False
    mask[1, 0, :2] = False
    arrays = _inputs(rng, (2, 2, 9, 4), (2, 2, 11, 4), (2, 2, 11, 4), np.float64)
    out, grads, _ = _run_ember(arrays, device, mask)
    assert not np.isnan(out).any() and not any(np.isnan(g).any() for g in grads)
    np.testing.assert_array_equal(out[0, :, 3], 0)
    np.testing.assert_array_equal(grads[0][1, :, :2], 0)
    _check_vs_torch(arrays, device, mask)


@pytest.mark.parametrize("device", DEVICES)
def test_no_keys(device, rng):
    require(device)
    out, grads, _ = _run_ember(_inputs(rng, (2, 3, 4), (2, 0, 4), (2, 0, 5), np.float32), device)
    assert out.shape == (2, 3, 5)
    np.testing.assert_array_equal(out, 0)
    np.testing.assert_array_equal(grads[0], 0)


@pytest.mark.parametrize("case", ["plain", "causal", "mask", "rectangular"])
@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck(device, case, rng):
    require(device)
    qs, ks = ((1, 2, 5, 3), (1, 2, 7, 3)) if case == "rectangular" else ((1, 2, 6, 3), (1, 2, 6, 3))
    ts = [em.tensor(a, dtype=np.float64, device=device, requires_grad=True) for a in _inputs(rng, qs, ks, ks,
                                                                                              np.float64)]
    kw = {"is_causal": True} if case == "causal" else {}
    if case == "mask":
        kw["attn_mask"] = em.tensor(rng.standard_normal((6, 6)), dtype=np.float64, device=device)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.7, **kw), ts)


def _reference(arrays, mask, H, causal, p=0.0, seed=0):
    """The numpy reference called directly: (out, lse, gq, gk, gv) for the (BH, T, D) arrays."""
    q, k, v = arrays
    strides = (0, 0, 0) if mask is None else (0, 0, mask.shape[-1])
    scale = 1 / np.sqrt(q.shape[-1])
    out, lse = attention_forward(q, k, v, mask, H, scale, causal, strides, p, seed)
    g = np.random.default_rng(2).standard_normal(out.shape).astype(q.dtype)
    return (out, lse, g) + attention_backward(q, k, v, mask, out, lse, g, H, scale, causal, strides, p, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["plain", "causal", "mask", "dropout"])
def test_cpu_kernel_every_isa_and_thread_count(cpu_kernels, isa, threads, dtype, case, rng):
    """The kernel module called directly against the reference, every output prefilled with NaN."""
    BH, H, Tq, Tk, D = 4, 2, 131, 259, 19
    arrays = _inputs(rng, (BH, Tq, D), (BH, Tk, D), (BH, Tk, D + 2), dtype)
    mask = rng.standard_normal((Tq, Tk)).astype(dtype) if case == "mask" else None
    causal, p, seed = case == "causal", 0.3 if case == "dropout" else 0.0, 12345
    out, lse, g, gq, gk, gv = _reference(arrays, mask, H, causal, p, seed)
    strides = (0, 0, 0) if mask is None else (0, 0, Tk)
    scale = 1 / np.sqrt(D)
    got_out, got_lse = np.full_like(out, np.nan), np.full_like(lse, np.nan)
    cpu_kernels.attention_forward(*arrays, mask, got_out, got_lse, H, scale, causal, *strides, p, seed)
    got = [np.full_like(a, np.nan) for a in arrays]
    cpu_kernels.attention_backward(*arrays, mask, out, lse, g, *got, H, scale, causal, *strides, p, seed)
    tol = dict(rtol=1e-10, atol=1e-11) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_out, out, **tol)
    np.testing.assert_allclose(got_lse, lse, **tol)
    for name, a, want in zip("qkv", got, (gq, gk, gv)):
        np.testing.assert_allclose(a, want, err_msg=f"grad {name}", **tol)


def _splitmix64_top32(seed, ctr):
    x = (seed + ctr + 0x9E3779B97F4A7C15) % 2**64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % 2**64
    return (x ^ (x >> 31)) >> 32


def test_keep_mask_is_the_specified_hash():
    seed, p = 2**64 - 5, 0.37  # seed + counter wraps around 2^64
    keep = attention_keep(seed, 2, 3, 4, p)
    want = [_splitmix64_top32(seed, c) >= int(p * 2**32) for c in range(24)]
    np.testing.assert_array_equal(keep.reshape(-1), want)


def test_dropout_same_on_every_device(rng):
    arrays = _inputs(rng, (2, 3, 70, 8), (2, 3, 131, 8), (2, 3, 131, 8), np.float64)
    results = []
    for device in DEVICES:
        device = getattr(device, "values", [device])[0]
        if not em.backends.is_available(device):
            continue
        em.manual_seed(7)
        results.append((device, _run_ember(arrays, device, dropout_p=0.25)))
    assert len(results) >= 2
    (_, (out0, grads0, _)), rest = results[0], results[1:]
    for device, (out, grads, _) in rest:
        np.testing.assert_allclose(out, out0, rtol=1e-10, atol=1e-12, err_msg=device)
        for a, b in zip(grads, grads0):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=device)
    em.manual_seed(7)
    again, _, _ = _run_ember(arrays, "numpy", dropout_p=0.25)
    np.testing.assert_array_equal(again, out0)
    em.manual_seed(8)
    other, _, _ = _run_ember(arrays, "numpy", dropout_p=0.25)
    assert np.abs(other - out0).max() > 1e-3


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_keep_rate_and_scaling(device):
    """q = 0 makes every weight 1 / Tk and v = I reads each one out: O[i, j] = keep(i, j) / ((1 - p) Tk)."""
    require(device)
    Tq, Tk, p = 200, 150, 0.3
    q = em.zeros((2, Tq, 4), dtype=np.float64, device=device)
    k = em.tensor(np.random.default_rng(0).standard_normal((2, Tk, 4)), dtype=np.float64, device=device)
    v = em.tensor(np.broadcast_to(np.eye(Tk), (2, Tk, Tk)).copy(), dtype=np.float64, device=device)
    em.manual_seed(0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy() * (1 - p) * Tk
    kept = out > 0.5
    np.testing.assert_allclose(out[kept], 1.0, rtol=1e-12)
    np.testing.assert_allclose(out[~kept], 0.0, atol=1e-12)
    rate = kept.mean()  # 60000 Bernoulli(0.7) draws: sd 0.002
    assert abs(rate - (1 - p)) < 0.01, rate


def _t(shape, device="cpu", dtype=np.float32):
    return em.tensor(np.zeros(shape, dtype), dtype=dtype, device=device)


@pytest.mark.parametrize("args,kw,error,match", [
    ((_t((2, 3, 4)), _t((2, 3, 5)), _t((2, 3, 5))), {}, ValueError, r"key \(2, 3, 5\).*head dim 4"),
    ((_t((2, 3, 4)), _t((2, 6, 4)), _t((2, 5, 4))), {}, ValueError, r"value \(2, 5, 4\).*key's length 6"),
    ((_t((2, 3, 4)), _t((3, 3, 4)), _t((3, 3, 4))), {}, ValueError, r"leading dims"),
    ((_t((4,)), _t((4,)), _t((4,))), {}, ValueError, r"\(\.\.\., T, D\).*\(4,\)"),
    ((_t((2, 3, 4)), _t((2, 3, 4), dtype=np.float64), _t((2, 3, 4))), {}, TypeError, "float64"),
    ((_t((2, 3, 4)), _t((2, 3, 4)), _t((2, 3, 4))), {"attn_mask": _t((3, 3)), "is_causal": True}, ValueError,
     "not both"),
    ((_t((2, 3, 4)), _t((2, 5, 4)), _t((2, 5, 4))), {"attn_mask": _t((3, 4))}, ValueError,
     r"\(3, 4\) does not broadcast to \(2, 3, 5\)"),
    ((_t((2, 3, 4)), _t((2, 5, 4)), _t((2, 5, 4))), {"attn_mask": _t((3, 5), dtype=np.float64)}, TypeError,
     "bool or of query's dtype"),
    ((_t((2, 3, 4)), _t((2, 3, 4)), _t((2, 3, 4))), {"dropout_p": 1.0}, ValueError, r"dropout_p"),
    ((_t((2, 3, 4)), _t((2, 3, 4)), _t((2, 3, 4))), {"scale": float("inf")}, ValueError, "scale"),
])
def test_bad_input(args, kw, error, match):
    with pytest.raises(error, match=match):
        F.scaled_dot_product_attention(*args, **kw)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_head_dim_limit(device):
    require(device)
    x = _t((1, 2, 257), device)
    with pytest.raises(ValueError, match=r"head dim.*\(1, 2, 257\).*\[1, 256\]"):
        F.scaled_dot_product_attention(x, x, x)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_binding_checks(device):
    require(device)
    k = em.backends.get_backend(device).ops.module
    q, out, lse = np.zeros((4, 3, 2), np.float32), np.zeros((4, 3, 2), np.float32), np.zeros((4, 3), np.float32)
    mask = np.zeros((3, 3), np.float32)
    ok = (q, q, q, None, out, lse, 2, 1.0, False, 0, 0, 0, 0.0, 0)

    def call(**changes):
        names = ["q", "k", "v", "mask", "out", "lse", "H", "scale", "causal", "sb", "sh", "sq", "p", "seed"]
        args = dict(zip(names, ok)) | changes
        k.attention_forward(*args.values())

    call()
    with pytest.raises(ValueError, match="H=3 must divide"):
        call(H=3)
    with pytest.raises(ValueError, match="too small for strides"):
        call(mask=mask, sq=3, sh=1)
    with pytest.raises(ValueError, match=">= 0"):
        call(mask=mask, sq=-3)
    with pytest.raises(ValueError, match="overflows"):
        call(mask=mask, sb=2**62, H=1)
    with pytest.raises(ValueError, match="dropout_p"):
        call(p=1.0)
    with pytest.raises(ValueError, match="scale must be finite"):
        call(scale=float("nan"))
    with pytest.raises(ValueError, match=r"'lse' \(4, 2\)"):
        call(lse=np.zeros((4, 2), np.float32))
    with pytest.raises(TypeError, match="float16"):
        h = q.astype(np.float16)
        call(q=h, k=h, v=h)


def test_in_place_write_after_forward_raises():
    x = em.tensor(np.ones((3, 4), np.float32), device="cpu", requires_grad=True)
    q = x * 1
    out = F.scaled_dot_product_attention(q, q, q)
    q += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
