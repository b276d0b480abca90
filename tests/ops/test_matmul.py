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
