"""Kernel-level edge tests for the fused cross-entropy (logits (N, C), int64 labels).

loss[r] = logsumexp(x[r]) - x[r, label[r]];  grad = (softmax(x) - onehot) * grad_loss[r].
float32 runs on each ISA level the CPU has; float64 is scalar code.
"""
import numpy as np
import pytest

ISAS = ["generic", "avx2", "avx512"]
CASES = [(np.float32, i) for i in ISAS] + [(np.float64, "generic")]
CASE_IDS = [f"{np.dtype(d).name}-{i}" for d, i in CASES]
SHAPES = [(0, 5), (1, 1), (4, 1)] + [(3, c) for c in range(2, 34)] + [(64, 10), (67, 1000), (2, 100003)]


def _reference(x, labels, gloss):
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    ls = np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    loss = (m[:, 0] - x[rows, labels]) + ls[:, 0]
    p = np.exp((x - m) - ls)
    p[rows, labels] -= 1
    return loss, p * gloss.astype(np.float64)[:, None]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


def _run(k, x, labels, gloss):
    loss = np.full(len(labels), np.nan, x.dtype)
    k.cross_entropy_forward(x, labels, loss)
    gx = np.full_like(x, np.nan)
    k.cross_entropy_backward(x, labels, gloss, gx)
    return loss, gx


@pytest.mark.parametrize("dtype,isa", CASES, indirect=["isa"], ids=CASE_IDS)
def test_forward_backward_shapes(cpu_kernels, isa, dtype):
    rng = np.random.default_rng(3)
    for n, c in SHAPES:
        x = (rng.standard_normal((n, c)) * 5).astype(dtype)
        labels = rng.integers(0, c, n).astype(np.int64)
        gloss = rng.standard_normal(n).astype(dtype)
        loss, gx = _run(cpu_kernels, x, labels, gloss)
        ref_loss, ref_gx = _reference(x, labels, gloss)
        np.testing.assert_allclose(loss, ref_loss, **_tol(dtype), err_msg=f"forward {(n, c)}")
        np.testing.assert_allclose(gx, ref_gx, **_tol(dtype), err_msg=f"backward {(n, c)}")


@pytest.mark.parametrize("dtype,isa", CASES, indirect=["isa"], ids=CASE_IDS)
def test_extreme_logits(cpu_kernels, isa, dtype):
    x = np.array([
        [1e4, -1e4, 0.0, 1e4 - 1],   # label on the max: loss ~ e^-1, p close to 1
        [1e4, -1e4, 0.0, 1e4 - 1],   # label far below: loss 2e4, p underflows to 0
        [-1e4, -1e4 + 3, -1e4, -1e4 + 88],
        [88, 89, 100, -100],
        [-np.inf, 0.5, -0.0, 1.5],   # a masked-out class
    ], dtype)
    labels = np.array([0, 1, 3, 2, 3], np.int64)
    gloss = np.array([1.0, -2.0, 0.5, 1.0, 3.0], dtype)
    loss, gx = _run(cpu_kernels, x, labels, gloss)
    assert not np.isnan(loss).any() and not np.isnan(gx).any()
    ref_loss, ref_gx = _reference(np.where(np.isinf(x), -1e300, x.astype(np.float64)), labels, gloss)
    np.testing.assert_allclose(loss, ref_loss, **_tol(dtype))
    np.testing.assert_allclose(gx, ref_gx, **_tol(dtype))
    np.testing.assert_allclose(gx.astype(np.float64).sum(axis=1), 0, atol=1e-5)  # softmax sums to 1


@pytest.mark.parametrize("dtype,isa", CASES, indirect=["isa"], ids=CASE_IDS)
def test_one_class(cpu_kernels, isa, dtype):
    x = np.array([[-1e4], [0.0], [1e4]], dtype)
    loss, gx = _run(cpu_kernels, x, np.zeros(3, np.int64), np.ones(3, dtype))
    np.testing.assert_array_equal(loss, 0)
    np.testing.assert_array_equal(gx, 0)


def test_gradient_finite_differences_f64(cpu_kernels):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 6)) * 2
    labels = np.array([5, 0, 2], np.int64)
    w = rng.standard_normal(3)  # objective = sum(w * loss)

    def objective(z):
        loss = np.empty(3)
        cpu_kernels.cross_entropy_forward(z, labels, loss)
        return (w * loss).sum()

    gx = np.empty_like(x)
    cpu_kernels.cross_entropy_backward(x, labels, w, gx)
    h = 1e-6
    for r, c in [(0, 5), (0, 1), (1, 0), (2, 2), (2, 4)]:
        xp, xm = x.copy(), x.copy()
        xp[r, c] += h
        xm[r, c] -= h
        np.testing.assert_allclose(gx[r, c], (objective(xp) - objective(xm)) / (2 * h), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("bad", [-1, 7, 1 << 40])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_label_out_of_range(cpu_kernels, bad, dtype):
    x = np.zeros((4, 7), dtype)
    labels = np.array([0, 6, bad, 1], np.int64)
    loss = np.full(4, 42, dtype)
    with pytest.raises(IndexError, match=rf"label {bad} at row 2 .*7 classes"):
        cpu_kernels.cross_entropy_forward(x, labels, loss)
    np.testing.assert_array_equal(loss, 42)  # nothing written before the check
    gx = np.full_like(x, 42)
    with pytest.raises(IndexError, match=rf"label {bad} at row 2"):
        cpu_kernels.cross_entropy_backward(x, labels, np.ones(4, dtype), gx)
    np.testing.assert_array_equal(gx, 42)


def test_bad_arguments(cpu_kernels):
    x = np.zeros((4, 3), np.float32)
    labels = np.zeros(4, np.int64)
    fwd, bwd = cpu_kernels.cross_entropy_forward, cpu_kernels.cross_entropy_backward
    with pytest.raises(TypeError, match="int64"):
        fwd(x, labels.astype(np.int32), np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="float64|float32"):
        fwd(x, labels, np.zeros(4, np.float64))
    with pytest.raises(TypeError, match="float64|float32"):
        bwd(x, labels, np.zeros(4, np.float64), np.zeros((4, 3), np.float32))
    with pytest.raises(TypeError):
        fwd(x.astype(np.int64), labels, np.zeros(4, np.int64))
    with pytest.raises(ValueError):  # one label per row
        fwd(x, np.zeros(3, np.int64), np.zeros(4, np.float32))
    with pytest.raises(ValueError):
        fwd(x, labels, np.zeros(3, np.float32))
    with pytest.raises(ValueError):
        bwd(x, labels, np.zeros(4, np.float32), np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="no classes"):
        fwd(np.zeros((4, 0), np.float32), labels, np.zeros(4, np.float32))
