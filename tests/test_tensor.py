"""Tensor creation, dtypes, devices, NumPy interop and printing."""
import numpy as np
import pytest

import ember as em
from ember.backends import is_available

from .devices import require


def test_dtypes_follow_pytorch():
    assert em.tensor([1.0, 2.0]).dtype == em.float32
    assert em.tensor(np.array([0, 7])).dtype == em.int64
    assert em.tensor(np.array([0, 7], dtype=np.int32)).dtype == em.int64
    assert em.tensor([True, False]).dtype == em.bool_
    assert em.tensor(np.zeros(3)).dtype == em.float32          # float64 data -> default float32
    assert em.tensor(np.zeros(3), dtype=em.float64).dtype == em.float64
    assert em.tensor([1, 2], dtype="float64").dtype == em.float64
    assert (em.tensor([1, 2]) / em.tensor([2, 4])).dtype == em.float32   # int / int -> float32
    assert (em.tensor([1, 2]) * 0.5).dtype == em.float32
    assert (em.tensor([1.0]) + em.tensor([1.0], dtype=em.float64)).dtype == em.float64


def test_creation_functions():
    em.manual_seed(3)
    a = em.randn(2, 3)
    em.manual_seed(3)
    assert np.array_equal(a.numpy(), em.randn((2, 3)).numpy())
    assert em.zeros(2, 3).shape == (2, 3) and em.ones(4).numpy().sum() == 4
    assert em.full((2, 2), 7).dtype == em.int64 and em.full((2,), 1.5).numpy().tolist() == [1.5, 1.5]
    assert em.arange(5).numpy().tolist() == [0, 1, 2, 3, 4] and em.arange(0, 1, 0.5).dtype == em.float32
    assert em.zeros_like(a).shape == a.shape and em.ones_like(a, dtype=em.float64).dtype == em.float64
    r = em.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    with pytest.raises(ValueError, match="negative dimension"):
        em.zeros(2, -1)


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = em.from_numpy(a)
    a[0, 0] = 42
    assert t.numpy()[0, 0] == 42
    c = em.tensor(a)
    a[0, 1] = -1
    assert c.numpy()[0, 1] == 1


def test_numpy_interop_and_item():
    x = em.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert isinstance(np.asarray(x), np.ndarray) and np.asarray(x).shape == (2, 2)
    assert x.numpy().sum() == 10                       # works with requires_grad
    assert x.sum().item() == 10.0 and isinstance(x.sum().item(), float)
    with pytest.raises(ValueError, match="one element"):
        x.item()
    y = np.ones((2, 2), dtype=np.float32) + x           # ndarray + Tensor -> Tensor
    assert isinstance(y, em.Tensor)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]] and len(x) == 2


def test_dlpack_round_trip():
    x = em.tensor([1.0, 2.0, 3.0], device="numpy")  # a host tensor: NumPy imports host DLPack only
    y = np.from_dlpack(x)
    assert y.tolist() == [1.0, 2.0, 3.0]


def test_repr_is_readable():
    r = repr(em.tensor([1.5, 2.0], requires_grad=True))
    assert r.startswith("tensor([1.5, 2. ]") and "requires_grad=True" in r
    assert "grad_fn=<MulBackward>" in repr(em.tensor([1.0], requires_grad=True) * 2)


def test_unknown_device_lists_known_ones():
    with pytest.raises(ValueError, match="numpy, cpu, cuda, cuda-emu"):
        em.zeros(2, device="tpu")


def test_numpy_cpu_moves_copy_nothing():
    require("cpu")
    x = em.tensor([1.0, 2.0], device="numpy")
    y = x.to("cpu")
    assert y.device == "cpu" and np.shares_memory(x.numpy(), y.numpy())
    assert x.to("numpy") is x


def test_to_is_differentiable_between_devices():
    x = em.tensor([1.0, 2.0], device="numpy", requires_grad=True)
    dev = "cpu" if is_available("cpu") else "numpy"
    (x.to(dev) * 3).sum().backward()
    assert x.grad.device == "numpy" and x.grad.numpy().tolist() == [3.0, 3.0]


def test_cuda_not_available_without_gpu():
    try:
        import cupy  # noqa: F401
        pytest.skip("cupy present")
    except ImportError:
        assert em.cuda.is_available() is False
        with pytest.raises(RuntimeError, match="not available"):
            em.zeros(2, device="cuda")


def test_setitem_and_inplace_under_no_grad():
    p = em.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        p -= 1
    with em.no_grad():
        p -= 0.5
        p[0] = 5
    assert p.numpy().tolist() == [5.0, 0.5, 0.5]


def test_import_without_extension_falls_back_to_numpy_with_one_warning():
    import subprocess
    import sys
    # _cuda blocked too: on a GPU machine it would make cuda the default device
    code = ("import sys, warnings; sys.modules['ember._cpu'] = sys.modules['ember._cuda'] = None;\n"
            "warnings.simplefilter('always')\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    import ember as em; x = em.ones(2); y = em.zeros(3)\n"
            "msgs = [str(m.message) for m in w if 'compiled kernels unavailable' in str(m.message)]\n"
            "print(em.get_default_device(), len(msgs), msgs[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    dev, count, msg = out.split(" ", 2)
    assert dev == "numpy" and count == "1" and "ember._cpu" in msg


def test_from_dlpack_shares_memory():
    a = np.arange(4.0, dtype=np.float32)
    t = em.from_dlpack(a)
    a[0] = 9
    assert t.numpy()[0] == 9 and t.dtype == em.float32
