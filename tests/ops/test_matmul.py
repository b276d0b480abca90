"""Kernel-level tests for the batched matmul (`_cpu.matmul_forward` / `matmul_backward`).

Each ISA level has its own micro-kernel tile (generic 6x8 / 6x4, AVX2 6x16 /
6x8, AVX-512 14x32 / 14x16 for float32 / float64) and cache blocks (KC 128-384,
NC 256-512, MC up to 2240 rows), so sizes straddle those tails. References are
float64 NumPy; float32 results must be within 1e-4 of the result's scale.
"""
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember as em
from ember.nn import functional as F

ISAS = ["generic", "avx2", "avx512"]
DTYPES = [np.float32, np.float64]
TRANS = list(itertools.product([False, True], repeat=2))
# 1, odd, primes, and both sides of MR (6, 14), NR (4..32), KC (128..384).
SIZES = [1, 7, 15, 17, 31, 33, 63, 65, 127, 129, 257, 300, 385, 513]


def _operands(rng, dtype, batch_a, batch_b, M, N, K, ta, tb):
    a = rng.standard_normal((batch_a, K, M) if ta else (batch_a, M, K)).astype(dtype)
    b = rng.standard_normal((batch_b, N, K) if tb else (batch_b, K, N)).astype(dtype)
    return a, b


def _op(x, trans):
    return x.astype(np.float64).transpose(0, 2, 1) if trans else x.astype(np.float64)


def _assert_close(got, want, dtype, what):
    assert got.shape == want.shape, what
    if want.size == 0:
        return
    scale = max(np.abs(want).max(), 1.0)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    err = np.abs(got.astype(np.float64) - want).max() / scale
    assert err <= tol, f"{what}: max relative error {err:.3g} > {tol}"


def check_forward(k, rng, dtype, M, N, K, ta=False, tb=False, batch=1, batch_a=None, batch_b=None, accumulate=False):
    batch_a = batch if batch_a is None else batch_a
    batch_b = batch if batch_b is None else batch_b
    a, b = _operands(rng, dtype, batch_a, batch_b, M, N, K, ta, tb)
    c0 = rng.standard_normal((batch, M, N)).astype(dtype)
    c = c0.copy() if accumulate else np.full((batch, M, N), np.nan, dtype)
    k.matmul_forward(a, b, c, trans_a=ta, trans_b=tb, accumulate=accumulate)
    want = np.matmul(_op(a, ta), _op(b, tb)) + (c0 if accumulate else 0)
    want = np.broadcast_to(want, (batch, M, N))
    _assert_close(c, want, dtype, f"forward {(batch_a, batch_b, M, N, K)} ta={ta} tb={tb} acc={accumulate}")


def check_backward(k, rng, dtype, M, N, K, ta=False, tb=False, batch=1, batch_a=None, batch_b=None,
                   want_a=True, want_b=True):
    batch_a = batch if batch_a is None else batch_a
    batch_b = batch if batch_b is None else batch_b
    a, b = _operands(rng, dtype, batch_a, batch_b, M, N, K, ta, tb)
    g = rng.standard_normal((batch, M, N)).astype(dtype)
    ga = np.full_like(a, np.nan) if want_a else None
    gb = np.full_like(b, np.nan) if want_b else None
    k.matmul_backward(a, b, g, ga, gb, ta, tb)
    g64 = g.astype(np.float64)
    what = f"backward {(batch_a, batch_b, M, N, K)} ta={ta} tb={tb}"
    if want_a:
        ref = np.broadcast_to(g64 @ _op(b, tb).transpose(0, 2, 1), (batch, M, K))
        ref = ref.sum(0, keepdims=True) if batch_a == 1 else ref
        _assert_close(ga, ref.transpose(0, 2, 1) if ta else ref, dtype, what + " dA")
    if want_b:
        ref = np.broadcast_to(_op(a, ta).transpose(0, 2, 1) @ g64, (batch, K, N))
        ref = ref.sum(0, keepdims=True) if batch_b == 1 else ref
        _assert_close(gb, ref.transpose(0, 2, 1) if tb else ref, dtype, what + " dB")


# ---- forward -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_square_sizes(cpu_kernels, isa, rng, dtype):
    for s in SIZES:
        check_forward(cpu_kernels, rng, dtype, s, s, s)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rectangular_and_skinny(cpu_kernels, isa, rng, dtype):
    shapes = [(1, 513, 7), (513, 1, 7), (7, 9, 1), (1, 1, 1000), (14, 32, 385), (29, 65, 129), (300, 700, 400),
              (2241, 17, 5), (5, 1025, 3), (33, 31, 2000), (127, 257, 63)]
    for M, N, K in shapes:
        check_forward(cpu_kernels, rng, dtype, M, N, K)


@pytest.mark.parametrize("ta,tb", TRANS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_transposes(cpu_kernels, isa, rng, dtype, ta, tb):
    for M, N, K in [(1, 1, 1), (7, 33, 5), (15, 17, 31), (65, 63, 129), (130, 520, 390)]:
        check_forward(cpu_kernels, rng, dtype, M, N, K, ta, tb)


@pytest.mark.parametrize("batch_a,batch_b", [(3, 3), (1, 3), (3, 1), (1, 1)])
@pytest.mark.parametrize("ta,tb", TRANS)
def test_batch_broadcast(cpu_kernels, isa, rng, ta, tb, batch_a, batch_b):
    for M, N, K in [(5, 7, 3), (33, 65, 17), (100, 70, 300)]:
        for dtype in DTYPES:
            check_forward(cpu_kernels, rng, dtype, M, N, K, ta, tb, batch=3, batch_a=batch_a, batch_b=batch_b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_accumulate(cpu_kernels, isa, rng, dtype):
    for M, N, K in [(1, 1, 1), (17, 33, 15), (63, 65, 129), (300, 513, 400)]:
        for ta, tb in TRANS:
            check_forward(cpu_kernels, rng, dtype, M, N, K, ta, tb, accumulate=True)
    check_forward(cpu_kernels, rng, dtype, 20, 40, 30, batch=4, batch_b=1, accumulate=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty(cpu_kernels, rng, dtype):
    for M, N, K in [(0, 3, 4), (3, 0, 4), (0, 0, 0), (5, 6, 0)]:
        check_forward(cpu_kernels, rng, dtype, M, N, K)
        check_forward(cpu_kernels, rng, dtype, M, N, K, accumulate=True)  # K = 0 leaves C as it was
        check_backward(cpu_kernels, rng, dtype, M, N, K, batch=2, batch_a=1)
    check_forward(cpu_kernels, rng, dtype, 3, 4, 5, batch=0)
    check_backward(cpu_kernels, rng, dtype, 3, 4, 5, batch=0, batch_a=1, batch_b=1)  # sums over nothing: zeros


def test_large_batched_linear(cpu_kernels, rng):
    """B shared and A row-major: the batch folds into one tall GEMM, forward and backward."""
    check_forward(cpu_kernels, rng, np.float32, 50, 130, 90, batch=7, batch_b=1)
    check_backward(cpu_kernels, rng, np.float32, 50, 130, 90, batch=7, batch_b=1)
    check_backward(cpu_kernels, rng, np.float64, 50, 130, 90, tb=True, batch=7, batch_b=1)


# ---- backward ------------------------------------------------------------------------
@pytest.mark.parametrize("batch_a,batch_b", [(2, 2), (1, 2), (2, 1), (1, 1)])
@pytest.mark.parametrize("ta,tb", TRANS)
def test_backward(cpu_kernels, isa, rng, ta, tb, batch_a, batch_b):
    for M, N, K in [(1, 1, 1), (7, 33, 5), (40, 17, 65)]:
        for dtype in DTYPES:
            check_backward(cpu_kernels, rng, dtype, M, N, K, ta, tb, batch=2, batch_a=batch_a, batch_b=batch_b)


@pytest.mark.parametrize("want_a,want_b", [(True, False), (False, True), (False, False)])
def test_backward_partial(cpu_kernels, rng, want_a, want_b):
    for ta, tb in TRANS:
        check_backward(cpu_kernels, rng, np.float64, 9, 13, 11, ta, tb, batch=3, batch_a=1, want_a=want_a,
                       want_b=want_b)


def test_backward_large(cpu_kernels, rng):
    for ta, tb in TRANS:
        check_backward(cpu_kernels, rng, np.float32, 200, 300, 450, ta, tb, batch=2, batch_a=1)


# ---- fuzz ----------------------------------------------------------------------------
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(M=st.integers(0, 70), N=st.integers(0, 70), K=st.integers(0, 70), ta=st.booleans(), tb=st.booleans(),
       bcast=st.sampled_from(["none", "a", "b"]), batch=st.integers(1, 3), f64=st.booleans(), seed=st.integers(0, 99))
def test_fuzz(cpu_kernels, M, N, K, ta, tb, bcast, batch, f64, seed):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if f64 else np.float32
    kw = dict(batch=batch, batch_a=1 if bcast == "a" else batch, batch_b=1 if bcast == "b" else batch)
    check_forward(cpu_kernels, rng, dtype, M, N, K, ta, tb, **kw)
    check_backward(cpu_kernels, rng, dtype, M, N, K, ta, tb, **kw)


# ---- bad input -----------------------------------------------------------------------
def test_bad_input(cpu_kernels):
    k = cpu_kernels
    a = np.ones((1, 3, 4), np.float32)
    b = np.ones((1, 4, 5), np.float32)
    c = np.empty((1, 3, 5), np.float32)
    with pytest.raises(ValueError, match="inner"):
        k.matmul_forward(a, np.ones((1, 5, 5), np.float32), c)
    with pytest.raises(ValueError):
        k.matmul_forward(a, b, np.empty((1, 3, 6), np.float32))  # wrong out shape
    with pytest.raises(ValueError):
        k.matmul_forward(np.ones((2, 3, 4), np.float32), b, np.empty((3, 3, 5), np.float32))
    with pytest.raises(ValueError):
        k.matmul_forward(np.ones((6, 4), np.float32)[::2][None], b, c)  # not contiguous
    with pytest.raises(ValueError):
        k.matmul_forward(a[None], b[None], c[None])  # 4-D
    with pytest.raises(TypeError):
        k.matmul_forward(a, b.astype(np.float64), c)  # dtype mix
    with pytest.raises(TypeError):
        k.matmul_forward(a.astype(np.int64), b.astype(np.int64), c.astype(np.int64))
    with pytest.raises(TypeError):
        k.matmul_forward(a.tolist(), b, c)
    with pytest.raises(ValueError):
        k.matmul_backward(a, b, c, np.empty((1, 4, 3), np.float32), None, False, False)  # grad_a shape
    with pytest.raises(TypeError):
        k.matmul_backward(a, b, c, None, np.empty((1, 4, 5), np.float64), False, False)


# ---- K = 0 through every GEMM caller, every ISA level, 1 and 2 threads ------------------
# The GEMM writes C = 0 (or leaves C when accumulating) for an empty inner dimension on all
# of its paths, the packed one included (N above NC); conv2d, the RNN layers and linear
# reach it with K = 0 when a layer has no input channels or features.
@pytest.mark.parametrize("M,N", [(5, 7), (64, 700), (300, 40), (0, 9), (9, 0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_inner_dimension_zero(cpu_kernels, isa, threads, rng, dtype, M, N):
    check_forward(cpu_kernels, rng, dtype, M, N, 0)
    check_forward(cpu_kernels, rng, dtype, M, N, 0, accumulate=True)
    check_forward(cpu_kernels, rng, dtype, M, N, 0, batch=3, ta=True)
    check_backward(cpu_kernels, rng, dtype, M, N, 0, batch=2)
    check_backward(cpu_kernels, rng, dtype, 0, N, M, batch=2, batch_b=1)  # dB sums over M = 0 rows


KZERO_DEVICES = ["cpu", "cuda-emu"]


def _kzero_device(device, isa_name):
    if device == "cuda-emu" and isa_name != "generic":
        pytest.skip("cuda-emu has no ISA levels")
    pytest.importorskip("ember._cuda_emu" if device == "cuda-emu" else "ember._cpu")


@pytest.mark.parametrize("device", KZERO_DEVICES)
@pytest.mark.parametrize("shape", [(4, 0, 14, 14), (2, 0, 40, 40)])
def test_conv2d_no_input_channels(isa, threads, rng, device, shape):
    _kzero_device(device, isa)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((5, 0, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    tx, tw, tb = (em.tensor(a, device=device, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(tx, tw, tb, padding=1)
    # an empty sum plus the bias (PyTorch returns an empty tensor here instead)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(b[:, None, None], (shape[0], 5) + shape[2:]))
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(em.tensor(g, device=device))
    assert tx.grad.shape == x.shape and tw.grad.shape == w.shape
    np.testing.assert_allclose(tb.grad.numpy(), g.astype(np.float64).sum((0, 2, 3)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("device", KZERO_DEVICES)
def test_conv2d_empty_batch_and_outputs(isa, threads, rng, device):
    _kzero_device(device, isa)
    w = em.tensor(rng.standard_normal((5, 3, 3, 3)).astype(np.float32), device=device)
    y = F.conv2d(em.zeros(0, 3, 9, 9, device=device), w)
    assert y.shape == (0, 5, 7, 7)
    y = F.conv2d(em.ones(2, 3, 9, 9, device=device), em.zeros(0, 3, 3, 3, device=device))
    assert y.shape == (2, 0, 7, 7)


@pytest.mark.parametrize("device", KZERO_DEVICES)
def test_linear_no_input_features(isa, threads, rng, device):
    _kzero_device(device, isa)
    b = rng.standard_normal(600).astype(np.float32)
    x = em.tensor(np.zeros((70, 0), np.float32), device=device, requires_grad=True)
    w = em.tensor(np.zeros((600, 0), np.float32), device=device, requires_grad=True)
    tb = em.tensor(b, device=device, requires_grad=True)
    y = F.linear(x, w, tb)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(b, (70, 600)))
    y.sum().backward()
    np.testing.assert_array_equal(tb.grad.numpy(), np.full(600, 70, np.float32))


@pytest.mark.parametrize("mode,gates", [("lstm", 4), ("gru", 3), ("rnn_tanh", 1)])
def test_rnn_kernel_no_input_features(isa, threads, rng, mode, gates):
    # (the layers refuse input_size 0, as PyTorch does; the kernels must still get it right)
    from ember.backends import get_backend
    from ember.backends.numpy_ref import rnn as ref
    S, N, H = 5, 3, 20
    x = np.zeros((S, N, 0), np.float32)
    h0, c0 = (rng.standard_normal((N, H)).astype(np.float32) for _ in range(2))
    w_ih = np.zeros((gates * H, 0), np.float32)
    w_hh = (rng.standard_normal((gates * H, H)) * 0.3).astype(np.float32)
    b_ih, b_hh = (rng.standard_normal(gates * H).astype(np.float32) for _ in range(2))
    args = (mode, False, x, h0, c0 if mode == "lstm" else None, w_ih, w_hh, b_ih, b_hh)
    got = get_backend("cpu").ops.rnn_forward(*args)[0]
    want = ref.rnn_forward(*args)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
