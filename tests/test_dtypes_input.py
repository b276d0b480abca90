"""Input dtypes at the edges: byte order, dtypes the kernels lack, integer range.

The kernels read native numbers: a big-endian array is refused by every binding (TypeError
naming its dtype), converted by em.tensor, refused by em.from_numpy (which shares memory, as
PyTorch's from_numpy accepts only native order). A dtype without a kernel is named in the
error. Integers that the new dtype cannot hold raise instead of wrapping.
"""
import numpy as np
import pytest

import ember as em
from ember.nn import functional as F

MODULES = ["ember._cpu", "ember._cuda_emu"]


def _calls(dt):
    """(name, args) for bindings that each read one float array of dtype dt."""
    x = np.arange(-3, 3, dtype=dt).reshape(2, 3)
    f = np.zeros((2, 3), np.float32)
    img = np.ones((1, 1, 3, 3), dt)
    return [
        ("relu_forward", (x, f)),
        ("softmax_forward", (x, f)),
        ("matmul_forward", (x, np.ones((3, 2), np.float32), np.zeros((2, 2), np.float32))),
        ("conv2d_forward", (img, np.ones((1, 1, 3, 3), np.float32), None, np.zeros((1, 1, 1, 1), np.float32),
                            (1, 1), (0, 0), (1, 1), 1)),
    ]


@pytest.mark.parametrize("module_name", MODULES)
def test_bindings_refuse_non_native_byte_order(module_name):
    mod = pytest.importorskip(module_name)
    for name, args in _calls(">f4"):
        with pytest.raises(TypeError, match=r"'>f4'.*non-native byte order"):
            getattr(mod, name)(*args)


@pytest.mark.parametrize("module_name", MODULES)
@pytest.mark.parametrize("dtype", ["float16", "uint8", "int32"])
def test_bindings_name_the_unsupported_dtype(module_name, dtype):
    mod = pytest.importorskip(module_name)
    x = np.ones((2, 3), dtype)
    with pytest.raises(TypeError, match=rf"relu_forward\] not implemented for dtype {dtype}"):
        mod.relu_forward(x, np.zeros((2, 3), dtype))
    with pytest.raises(TypeError, match=rf"'x' is float32 but 'out' is {dtype}"):
        mod.relu_forward(np.ones((2, 3), np.float32), x)


@pytest.mark.parametrize("device", ["cpu", "cuda-emu"])
def test_tensor_converts_big_endian(device):
    pytest.importorskip("ember._cuda_emu" if device == "cuda-emu" else "ember._cpu")
    a = np.array([[1.5, -2.0, 3.25], [-0.5, 4.0, 0.0]], ">f4")
    native = a.astype(np.float32)
    t = em.tensor(a, device=device)
    assert t.dtype == np.float32 and t.numpy().dtype.isnative
    np.testing.assert_array_equal(t.numpy(), native)
    np.testing.assert_array_equal(F.relu(t).numpy(), np.maximum(native, 0))
    np.testing.assert_allclose(F.softmax(t, dim=-1).numpy(), F.softmax(em.tensor(native), dim=-1).numpy())
    np.testing.assert_allclose((t @ t.T).numpy(), native @ native.T)
    img = em.tensor(np.arange(16, dtype=">f8").reshape(1, 1, 4, 4), device=device)
    assert img.dtype == np.float32
    np.testing.assert_allclose(F.conv2d(img, em.ones(1, 1, 2, 2, device=device)).numpy().ravel(),
                               [10, 14, 18, 26, 30, 34, 42, 46, 50])
    assert em.tensor(a, dtype=np.dtype(">f8")).numpy().dtype.isnative
    assert em.tensor(np.array([1, 2], ">i8")).numpy().tolist() == [1, 2]


def test_creation_dtypes_are_native():
    for t in (em.zeros(3, dtype=np.dtype(">f4")), em.ones(2, dtype=np.dtype(">f8")),
              em.tensor([1.0], dtype=np.dtype(">f4"))):
        assert t.numpy().dtype.isnative


def test_from_numpy_refuses_big_endian():
    with pytest.raises(TypeError, match=r"'>f4' is not in native byte order"):
        em.from_numpy(np.ones(3, ">f4"))
    assert em.from_numpy(np.ones(3, "<f4")).dtype == np.float32  # native spelled out is fine


def test_uint64_beyond_int64_raises():
    with pytest.raises(ValueError, match=r"int64 from uint64 values in \[18446744073709551615, 18446744073709551615\]"):
        em.tensor(np.array([2**64 - 1], np.uint64))
    with pytest.raises(ValueError, match="outside int64's range"):
        em.tensor([2**63])  # NumPy makes this uint64
    assert em.tensor(np.array([5, 2**63 - 1], np.uint64)).numpy().tolist() == [5, 2**63 - 1]
    with pytest.raises(ValueError, match="outside uint8's range"):
        em.tensor(np.array([300, 1]), dtype=np.uint8)
    with pytest.raises(ValueError, match="outside uint8's range"):
        em.tensor(np.array([-1]), dtype=np.uint8)


@pytest.mark.parametrize("data", [[1, 2 ** 63], [-1, 2 ** 63], [[1], [2 ** 70]], 2 ** 64, -2 ** 63 - 1, [True, 2 ** 64],
                                  (3, np.int64(4), 2 ** 64)])
def test_python_ints_beyond_int64_raise_as_torch(data):
    """NumPy falls back to float64 or object for such ints; PyTorch raises ValueError, so does ember,
    naming the int (with an integer dtype too)."""
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.tensor(data)
    for dtype in (None, em.int64):
        with pytest.raises(ValueError, match=r"from the int -?\d+: outside int64's range"):
            em.tensor(data, dtype=dtype)


@pytest.mark.parametrize("data,dtype", [([1.5, 2 ** 64], None), ([1, 2 ** 63], em.float32), ([1, 2 ** 64], em.float64),
                                        ([1, -2 ** 63], None)])
def test_big_python_ints_in_float_tensors_as_torch(data, dtype):
    """A float leaf or a float dtype makes a float tensor of them, as PyTorch; int64's own range fits."""
    torch = pytest.importorskip("torch")
    want = torch.tensor(data, dtype=None if dtype is None else getattr(torch, np.dtype(dtype).name))
    got = em.tensor(data, dtype=dtype)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
