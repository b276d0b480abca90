"""NaN through the CUDA kernels' shared maths (csrc/cuda/math.cuh, rows.cuh), on cuda-emu:
max_ and the online softmax propagate a NaN wherever it sits in a row (first element a thread
sees included), as PyTorch and the NumPy reference do; BCE's log clamp at -100 keeps a NaN."""
import numpy as np
import pytest

import ember as em
from ember.backends import get_backend

from .check import require

F = em.nn.functional
GPU_DEVICES = ["cuda-emu", pytest.param("cuda", marks=pytest.mark.cuda)]


def _logits(cols):
    x = np.random.default_rng(0).standard_normal((4, cols)).astype(np.float32)
    x[0, 0] = np.nan          # the first element of thread 0
    x[1, cols // 2] = np.nan  # inside the row
    x[2, cols - 1] = np.nan   # the tail
    return x


@pytest.mark.parametrize("device", GPU_DEVICES)
@pytest.mark.parametrize("cols", [40, 3000], ids=["warp_rows", "block_rows"])
def test_softmax_and_cross_entropy_rows_with_nan(device, cols):
    require(device)
    x, labels = _logits(cols), np.array([1, 2, 3, 4])
    for name, fn in [("softmax", lambda t: F.softmax(t, dim=1)), ("log_softmax", lambda t: F.log_softmax(t, dim=1)),
                     ("cross_entropy", lambda t: F.cross_entropy(t, em.tensor(labels, device=t.device),
                                                                 reduction="none"))]:
        got, want = (fn(em.tensor(x, device=d)).numpy().reshape(4, -1) for d in (device, "numpy"))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
        assert np.isnan(want).any(axis=-1)[:3].all(), name
        np.testing.assert_allclose(got[3], want[3], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("device", GPU_DEVICES)
def test_bce_kernel_keeps_nan(device):
    """The kernel's clamp max(log x, -100) is NaN for a NaN x (fmax would give -100)."""
    require(device)
    dev = get_backend(device)
    k, xp = dev.ops.module, dev.xp
    x = xp.asarray(np.array([0.25, np.nan, 0.0, 1.0], np.float32))
    t = xp.asarray(np.array([1.0, 1.0, 1.0, 0.0], np.float32))
    y = xp.zeros(4, np.float32)
    k.bce_forward(x, t, y)
    y = y.get() if hasattr(y, "get") else y
    assert np.isnan(y[1]) and np.isfinite(y[[0, 2, 3]]).all()
    np.testing.assert_allclose(y[[0, 2, 3]], [-np.log(0.25), 100, 100], rtol=1e-6)
