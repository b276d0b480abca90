"""cast: float32/float64 <-> bfloat16/float16, bit for bit against ml_dtypes / NumPy.

Up-casts over every 16-bit pattern, down-casts over a large sample of float32 and float64
patterns (random bits plus NaN payloads, ties, infinities, denormals, the largest finite
values and their rounding edges), on the kernel modules directly at every ISA level with 1
and 2 threads, and through Tensor.to on every device; gradients; errors.
"""
import ml_dtypes
import numpy as np
import pytest

import ember as em
from ember.backends import numpy_ref as ref

from ..devices import kernel_module
from .check import DEVICES, require

BF16, F16, F32, F64 = np.dtype(ml_dtypes.bfloat16), np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
LOW = [BF16, F16]
BITS = {F32: np.uint32, F64: np.uint64, BF16: np.uint16, F16: np.uint16}


def _edges32():
    """float32 patterns where the rounding rules bite, for both 16-bit formats."""
    e = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff, 0x7f7f8000, 0x7f7f7fff, 0x7f7f8001,
         0x7f800001, 0x7fc00000, 0x7fffffff, 0xff800001, 0xffc00001, 0x7fa00000, 0x7f812345, 0xff8fe000,
         0x00000001, 0x007fffff, 0x00400000, 0x80000001, 0x00008000, 0x00018000, 0x00007fff,
         0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0xc77ff000, 0x47800000, 0x38800000, 0x387fffff,
         0x33000000, 0x33000001, 0x32ffffff, 0x33400000, 0x33c00000, 0x3f808000, 0x3f818000, 0x3f800001]
    lows = np.array([0x0000, 0x7fff, 0x8000, 0x8001, 0xffff, 0x0fff, 0x1000, 0x1001, 0x2000, 0x3000], np.uint32)
    highs = np.random.default_rng(1).integers(0, 1 << 16, 400, dtype=np.uint32) << 16
    ties = (highs[:, None] | lows[None, :]).ravel()
    sub16 = np.arange(0x33000000, 0x38800000, 0x1fff, dtype=np.uint32)  # float16's subnormal range
    return np.concatenate([np.array(e, np.uint32), ties, sub16])


def sample32(n=1 << 18):
    rnd = np.random.default_rng(0).integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    u = np.concatenate([_edges32(), rnd])
    return u.view(np.float32)


def sample64(n=1 << 16):
    with np.errstate(invalid="ignore"):
        f = sample32(n).astype(np.float64)
        nudged = np.concatenate([f, np.nextafter(f, np.inf), np.nextafter(f, -np.inf)])
    extra = np.array([1e300, -1e300, 5e-324, 1 + 2.0 ** -8 + 2.0 ** -40, 1 + 2.0 ** -11 + 2.0 ** -40, 65519.99999,
                      65520.0, 3.3961775292304e38, np.nan, -np.inf])
    rnd = np.random.default_rng(2).integers(0, 1 << 63, n, dtype=np.uint64).view(np.float64)
    return np.concatenate([nudged, extra, rnd, -rnd])


def all16(dtype):
    return np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(dtype)


def assert_bits(got, want):
    assert got.dtype == want.dtype
    g, w = got.view(BITS[got.dtype]), want.view(BITS[want.dtype])
    bad = np.flatnonzero(g != w)
    assert bad.size == 0, f"{bad.size} differ, first at {bad[:5]}: got {g[bad[:5]]}, want {w[bad[:5]]}"


def _module_cast(mod, x, dtype):
    out = np.empty(x.shape, dtype)
    mod.cast_forward(x, out)
    return out


# ---- the reference against its libraries ---------------------------------------------------
@pytest.mark.parametrize("low", LOW, ids=str)
def test_reference_is_the_libraries_on_numbers(low):
    with np.errstate(invalid="ignore", over="ignore"):
        x = sample32()
        finite = ~np.isnan(x)
        assert_bits(ref.cast_forward(x, low)[finite], x.astype(low)[finite])
        h = all16(low)
        keep = ~np.isnan(h)
        assert_bits(ref.cast_forward(h, F32)[keep], h.astype(F32)[keep])


def test_reference_nan_rules():
    u = np.array([0x7f800001, 0xff812345, 0x7fc00000], np.uint32).view(np.float32)
    assert [hex(v) for v in ref.cast_forward(u, BF16).view(np.uint16)] == ["0x7fc0", "0xffc0", "0x7fc0"]
    assert [hex(v) for v in ref.cast_forward(u, F16).view(np.uint16)] == ["0x7e00", "0xfe09", "0x7e00"]
    h = np.array([0x7c01, 0xfd00], np.uint16).view(np.float16)
    assert [hex(v) for v in ref.cast_forward(h, F32).view(np.uint32)] == ["0x7fc02000", "0xffe00000"]


@pytest.mark.torch
def test_reference_matches_torch_on_float32():
    torch = pytest.importorskip("torch")
    x = sample32()
    for low, tdt in ((BF16, torch.bfloat16), (F16, torch.float16)):
        got = ref.cast_forward(x, low).view(np.uint16)
        want = torch.from_numpy(x.copy()).to(tdt).view(torch.int16).numpy().view(np.uint16)
        finite = ~np.isnan(x)
        np.testing.assert_array_equal(got[finite], want[finite])


# ---- the kernel modules, bit for bit -----------------------------------------------------------
@pytest.mark.parametrize("low", LOW, ids=str)
@pytest.mark.parametrize("wide", [F32, F64], ids=str)
def test_cpu_every_isa_and_thread_count(cpu_kernels, isa, threads, low, wide):
    h = all16(low)
    assert_bits(_module_cast(cpu_kernels, h, wide), ref.cast_forward(h, wide))
    x = sample32() if wide == F32 else sample64()
    with np.errstate(invalid="ignore", over="ignore"):
        want = ref.cast_forward(x, low)
    assert_bits(_module_cast(cpu_kernels, x, low), want)
    for n in (1, 7, 15, 16, 17, 33):  # tails of the 8- and 16-lane loops
        assert_bits(_module_cast(cpu_kernels, x[3:3 + n].copy(), low), want[3:3 + n])


@pytest.mark.parametrize("low", LOW, ids=str)
@pytest.mark.parametrize("wide", [F32, F64], ids=str)
def test_cuda_emu_kernels(low, wide):
    emu = kernel_module("EMBER_CUDA_EMU_MODULE", "ember._cuda_emu")
    h = all16(low)
    assert_bits(_module_cast(emu, h, wide), ref.cast_forward(h, wide))
    x = (sample32(1 << 12) if wide == F32 else sample64(1 << 10))
    with np.errstate(invalid="ignore", over="ignore"):
        assert_bits(_module_cast(emu, x, low), ref.cast_forward(x, low))
    g = np.empty(h.shape, wide)
    emu.cast_backward(h, g)
    assert_bits(g, ref.cast_backward(h, wide))


# ---- Tensor.to on every device, and gradients ---------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("low", LOW, ids=str)
def test_tensor_to_every_device(device, low):
    require(device)
    x = sample32(1 << 12)
    t = em.tensor(x, device=device)
    y = t.to(low)
    assert y.dtype == low and y.device == device
    with np.errstate(invalid="ignore", over="ignore"):
        assert_bits(y.numpy(), ref.cast_forward(x, low))
    assert_bits(y.float().numpy(), ref.cast_forward(ref.cast_forward(x, low), F32))
    assert_bits(y.double().numpy(), ref.cast_forward(ref.cast_forward(x, low), F64))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("low", LOW, ids=str)
def test_gradient_is_the_cast_back(device, low):
    """d/dx sum(w * float(low(x))) = float(low(w)): each cast's backward casts the gradient back."""
    require(device)
    rng = np.random.default_rng(3)
    x = em.tensor(rng.standard_normal((5, 7)), device=device, requires_grad=True)
    w = rng.standard_normal((5, 7)).astype(np.float32)
    y = x.to(low)
    assert y.requires_grad and type(y.grad_fn).__name__ == "CastBackward"
    (y.float() * em.tensor(w, device=device)).sum().backward()
    assert x.grad.dtype == F32
    np.testing.assert_array_equal(x.grad.numpy(), w.astype(low).astype(np.float32))


def test_bfloat16_float16_goes_through_float32():
    x = sample32(1 << 10)
    h = em.tensor(x).half()
    with np.errstate(invalid="ignore", over="ignore"):
        want = ref.cast_forward(ref.cast_forward(ref.cast_forward(x, F16), F32), BF16)
    assert_bits(h.bfloat16().numpy(), want)


# ---- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ember._cpu", "ember._cuda_emu"])
def test_binding_errors(name):
    mod = kernel_module("EMBER_CPU_MODULE" if name == "ember._cpu" else "EMBER_CUDA_EMU_MODULE", name)
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"^\[cast_forward\] 'x' \(2, 3\) and 'out' \(3, 2\) must have the same"):
        mod.cast_forward(x, np.zeros((3, 2), BF16))
    with pytest.raises(TypeError, match=r"^\[cast_forward\] one of 'x' \(float32\) and 'out' \(float32\) must be"):
        mod.cast_forward(x, np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match=r"^\[cast_forward\] not implemented for dtype float16"):
        mod.cast_forward(np.zeros((2, 3), F16), np.zeros((2, 3), BF16))
    with pytest.raises(TypeError, match=r"^\[cast_backward\] not implemented for dtype int64"):
        mod.cast_backward(np.zeros((2, 3), F16), np.zeros((2, 3), np.int64))


@pytest.mark.parametrize("name", ["ember._cpu", "ember._cuda_emu"])
def test_other_kernels_refuse_low_precision(name):
    mod = kernel_module("EMBER_CPU_MODULE" if name == "ember._cpu" else "EMBER_CUDA_EMU_MODULE", name)
    x = np.zeros((2, 3), BF16)
    with pytest.raises(TypeError, match=r"^\[relu_forward\] not implemented for dtype bfloat16"):
        mod.relu_forward(x, np.zeros((2, 3), BF16))
