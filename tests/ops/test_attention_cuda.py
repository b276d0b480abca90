"""The CUDA attention kernels (csrc/cuda/attention.cu) on cuda-emu (and a GPU where there is one),
called through the kernel wrappers: forward, lse and every gradient against the NumPy reference
over the tile tails (32-key chunks, 16- or 8-row tiles), D and Dv from 1 to 256 (the largest
shared-memory tiles), Tq != Tk, causal both ways, masks broadcast through every stride, fully
masked rows and dropout; PyTorch parity and a float64 gradcheck through
F.scaled_dot_product_attention; the emulator's schedules with its race and bounds checks on."""
import math

import numpy as np
import pytest

import ember as em
from ember.backends import get_backend, numpy_ref
from ember.testing import gradcheck

from .check import require

DEVICES = ["cuda-emu", pytest.param("cuda", marks=pytest.mark.cuda)]
F = em.nn.functional


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)


def make_mask(rng, kind, B, H, tq, tk, dtype):
    """(mask, strides) of an additive mask: 'full' (B, H, Tq, Tk), 'heads' broadcast over h,
    'keys' a key-padding row per b (broadcast over h and queries), with -inf entries."""
    if kind is None:
        return None, (0, 0, 0)
    shape, strides = {"full": ((B, H, tq, tk), (H * tq * tk, tq * tk, tk)),
                      "heads": ((B, 1, tq, tk), (tq * tk, 0, tk)),
                      "keys": ((B, 1, 1, tk), (tk, 0, 0))}[kind]
    m = rng.standard_normal(shape).astype(dtype)
    m[rng.random(shape) < 0.3] = -np.inf
    m[..., 0] = 0  # every row keeps a key; fully masked rows have their own test
    return m, strides


def run_both(device, dtype, B, H, tq, tk, d, dv, causal=False, mask_kind=None, dropout_p=0.0, seed=5, rng_seed=0):
    """Forward and backward on `device` and in the NumPy reference; returns both tuples."""
    rng = np.random.default_rng(rng_seed)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in ((B * H, tq, d), (B * H, tk, d), (B * H, tk, dv)))
    g = rng.standard_normal((B * H, tq, dv)).astype(dtype)
    mask, strides = make_mask(rng, mask_kind, B, H, tq, tk, dtype)
    args = (H, 1.0 / math.sqrt(d), causal, strides, dropout_p, seed)
    dev = get_backend(device)
    put = dev.from_host
    dq, dk, dvv, dg = (put(a) for a in (q, k, v, g))
    dm = None if mask is None else put(mask)
    out, lse = dev.ops.attention_forward(dq, dk, dvv, dm, *args)
    grads = dev.ops.attention_backward(dq, dk, dvv, dm, out, lse, dg, *args)
    got = tuple(dev.to_host(a) for a in (out, lse) + tuple(grads))
    want_out, want_lse = numpy_ref.attention_forward(q, k, v, mask, *args)
    want = (want_out, want_lse) + tuple(numpy_ref.attention_backward(q, k, v, mask, want_out, want_lse, g, *args))
    return got, want


def assert_all_close(got, want, dtype):
    for name, a, b in zip(("out", "lse", "gq", "gk", "gv"), got, want):
        assert a.shape == b.shape and a.dtype == dtype, name
        np.testing.assert_allclose(a, b, err_msg=name, **tol(dtype))


# (B, H, Tq, Tk, D, Dv, causal, mask): odd T, Tq != Tk both ways, D = Dv = 1, D != Dv, the
# 32-wide chunk tails (33, 45), D = 256 (the largest shared tiles, 48 KB in double), causal with
# more query tiles than key tiles and the other way round, and each mask broadcast.
CASES = [
    (2, 1, 7, 7, 1, 1, False, None),
    (1, 3, 33, 45, 64, 64, False, "full"),
    (1, 1, 17, 9, 256, 256, False, None),
    (1, 1, 9, 40, 256, 200, True, "keys"),
    (2, 2, 40, 20, 8, 24, True, "heads"),
    (1, 2, 20, 70, 40, 33, True, "full"),
    (3, 1, 1, 1, 5, 3, False, "keys"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_reference(device, dtype, case):
    require(device)
    B, H, tq, tk, d, dv, causal, mask_kind = case
    got, want = run_both(device, dtype, B, H, tq, tk, d, dv, causal, mask_kind)
    assert_all_close(got, want, dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_mask_is_the_references(device, dtype, p):
    """The same seed drops the same probabilities as the NumPy reference: outputs equal to
    rounding, so a single differing keep bit would show. Another seed gives another output."""
    require(device)
    got, want = run_both(device, dtype, 2, 2, 19, 37, 16, 8, True, "heads", dropout_p=p, seed=123)
    assert_all_close(got, want, dtype)
    other, _ = run_both(device, dtype, 2, 2, 19, 37, 16, 8, True, "heads", dropout_p=p, seed=124)
    assert not np.allclose(other[0], got[0])


@pytest.mark.parametrize("device", DEVICES)
def test_fully_masked_rows_get_zero_and_no_gradient(device):
    """Rows whose keys are all masked: output 0 and lse +inf (the interface's convention), no
    gradient into q and none through them into k and v; Tk = 0 masks every row."""
    require(device)
    rng = np.random.default_rng(2)
    dev = get_backend(device)
    for tq, tk in ((37, 21), (5, 0)):
        q, k, v = (rng.standard_normal(s) for s in ((2, tq, 4), (2, tk, 4), (2, tk, 3)))
        mask = rng.standard_normal((tq, tk))
        dead = np.arange(tq) % 3 == 1
        mask[dead] = -np.inf
        args = (1, 0.5, False, (0, 0, tk), 0.0, 0)
        out, lse = dev.ops.attention_forward(*(dev.from_host(a) for a in (q, k, v, mask)), *args)
        out, lse = dev.to_host(out), dev.to_host(lse)
        rows = dead if tk else np.ones(tq, bool)
        assert (out[:, rows] == 0).all() and np.isposinf(lse[:, rows]).all()
        g = np.ones(out.shape)
        gq, gk, gv = (dev.to_host(a) for a in dev.ops.attention_backward(
            *(dev.from_host(a) for a in (q, k, v, mask, out, lse, g)), *args))
        assert (gq[:, rows] == 0).all()
        live = ~rows
        want = numpy_ref.attention_backward(q[:, live], k, v, mask[live], out[:, live], lse[:, live], g[:, live],
                                            *args)
        np.testing.assert_allclose(gk, want[1], **tol(np.float64))
        np.testing.assert_allclose(gv, want[2], **tol(np.float64))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_whose_first_key_tiles_are_masked(device, dtype):
    """The online softmax starting late: rows that see no key in the first 32-key tile (and part
    of the second) start from m = -inf there, then rescale from their first visible key on."""
    require(device)
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in ((1, 9, 8), (1, 75, 8), (1, 75, 6)))
    mask = np.zeros((9, 75), dtype)
    mask[::2, :40] = -np.inf
    mask[1::4, 60:] = 30  # the maximum jumps in the last tile
    dev = get_backend(device)
    args = (1, 0.7, False, (0, 0, 75), 0.0, 0)
    out, lse = dev.ops.attention_forward(*(dev.from_host(a) for a in (q, k, v, mask)), *args)
    g = rng.standard_normal((1, 9, 6)).astype(dtype)
    grads = dev.ops.attention_backward(*(dev.from_host(a) for a in (q, k, v, mask)), out, lse, dev.from_host(g), *args)
    want_out, want_lse = numpy_ref.attention_forward(q, k, v, mask, *args)
    want = numpy_ref.attention_backward(q, k, v, mask, want_out, want_lse, g, *args)
    got = tuple(dev.to_host(a) for a in (out, lse) + tuple(grads))
    assert_all_close(got, (want_out, want_lse) + tuple(want), dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("causal", [False, True])
def test_torch_parity_through_the_op(device, causal):
    """F.scaled_dot_product_attention on the CUDA kernels against torch's, (B, H, T, D) with
    Tq != Tk and a bool mask (when not causal), every gradient."""
    require(device)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    arrs = [rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 21, 16), (2, 3, 35, 16), (2, 3, 35, 12))]
    mask = None if causal else rng.random((21, 35)) > 0.3
    if mask is not None:
        mask[:, 0] = True
    ours = [em.tensor(a, device=device, requires_grad=True) for a in arrs]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrs]
    y = F.scaled_dot_product_attention(*ours, attn_mask=None if mask is None else em.tensor(mask, device=device),
                                       is_causal=causal)
    ty = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    y.backward(em.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_float64(device):
    require(device)
    rng = np.random.default_rng(6)
    leaves = [em.tensor(rng.standard_normal(s), dtype=np.float64, device=device, requires_grad=True)
              for s in ((1, 2, 5, 3), (1, 2, 7, 3), (1, 2, 7, 2))]
    mask = em.tensor(rng.standard_normal((5, 7)), dtype=np.float64, device=device)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), leaves)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), leaves)


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random:7"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_emu_schedules_with_checks(schedule, dtype):
    """Every kernel under each schedule with the race, uninitialised-read and bounds checks on:
    a missing barrier between the shared tiles' loads and uses fails here."""
    require("cuda-emu")
    k = get_backend("cuda-emu").ops.module
    k.set_schedule(schedule)
    k.set_check(True)
    try:
        for case in [(1, 2, 19, 35, 40, 33, True, "full"), (2, 1, 33, 7, 3, 70, False, "keys"),
                     (1, 1, 40, 9, 5, 2, True, None)]:
            got, want = run_both("cuda-emu", dtype, *case, dropout_p=0.25, seed=9)
            assert_all_close(got, want, dtype)
    finally:
        k.set_schedule("")
        k.set_check("")
