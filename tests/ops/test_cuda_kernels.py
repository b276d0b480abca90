"""Parity of the CUDA kernels (csrc/cuda/*.cu) with NumPy, called straight through the
kernel modules: ``ember._cuda_emu`` (the same source on the CPU emulator, everywhere it is
built) and ``ember._cuda`` (a real GPU, with CuPy arrays; tests marked ``cuda``).

Sizes are small but hit every tail: the matmul tiles (64 and 128 wide, 8 or 16 deep),
16-byte vectors versus scalar loads, warp-per-row versus block-per-row softmax.
Kernels with barriers or shuffles run under the emulator's three schedules with its race
checker on. ``EMBER_CUDA_EMU_MODULE`` names another emulator module (a dotted name or a
path to the built ``.so``), for out-of-tree builds.
"""
import importlib
import importlib.util
import os

import numpy as np
import pytest

from ..devices import missing

SCHEDULES = ["forward", "reverse", "random:7"]
DTYPES = [np.float32, np.float64]


def _load_emu():
    name = os.environ.get("EMBER_CUDA_EMU_MODULE", "ember._cuda_emu")
    if os.sep in name or name.endswith(".so"):
        mod_name = os.path.basename(name).split(".")[0]
        spec = importlib.util.spec_from_file_location(mod_name, name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(name)


class Device:
    """A kernel module and how to move arrays to and from its memory."""

    def __init__(self, name, module, xp):
        self.name, self.module, self.xp = name, module, xp

    def put(self, a):
        return self.xp.asarray(a) if self.xp is not np else np.ascontiguousarray(a)

    def get(self, a):
        return a.get() if self.xp is not np else a

    def empty(self, shape, dtype):
        return self.xp.empty(shape, dtype=dtype)

    def set_schedule(self, schedule, monkeypatch):
        """Emulator schedule and race checker; no-ops on a real GPU."""
        if self.xp is not np:
            return
        monkeypatch.setenv("EMBER_EMU_SCHEDULE", schedule)
        monkeypatch.setenv("EMBER_EMU_CHECK", "1")
        for setter, value in (("set_schedule", schedule), ("set_check", "1")):
            if hasattr(self.module, setter):
                getattr(self.module, setter)(value)


def _emu_device():
    # Skip only when the module was not built; one that is there but fails to load is an error.
    try:
        return Device("cuda-emu", _load_emu(), np)
    except ModuleNotFoundError as e:
        if "EMBER_CUDA_EMU_MODULE" in os.environ:
            raise
        missing("ember._cuda_emu", e)


def _cuda_device():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA GPU")
        module = importlib.import_module("ember._cuda")
    except Exception as e:  # no cupy, no driver, no module
        pytest.skip(f"cuda is not usable: {e}")
    return Device("cuda", module, cupy)


@pytest.fixture(scope="module", params=["cuda-emu", pytest.param("cuda", marks=pytest.mark.cuda)])
def dev(request):
    return _emu_device() if request.param == "cuda-emu" else _cuda_device()


@pytest.fixture(params=SCHEDULES)
def scheduled(dev, request, monkeypatch):
    """The device under each emulator schedule, race checker on (once on a GPU)."""
    if dev.xp is not np and request.param != SCHEDULES[0]:
        pytest.skip("schedules are an emulator feature")
    dev.set_schedule(request.param, monkeypatch)
    yield dev
    dev.set_schedule("forward", monkeypatch)
    if hasattr(dev.module, "set_check"):
        dev.module.set_check("")
    if hasattr(dev.module, "set_schedule"):
        dev.module.set_schedule("")


def tol(dtype, kind="reduction"):
    if dtype == np.float64:
        return dict(rtol=1e-10, atol=1e-10)
    return dict(rtol=1e-5, atol=1e-6) if kind == "elementwise" else dict(rtol=1e-4, atol=1e-5)


def misaligned(a):
    """A C-contiguous copy of `a` whose data starts one element past a 16-byte boundary."""
    flat = np.empty(a.size + 2, dtype=a.dtype)
    off = 1 if flat.ctypes.data % 16 == 0 else 0
    out = flat[off : off + a.size].reshape(a.shape)
    out[...] = a
    return out


# ---- matmul ------------------------------------------------------------------------

# (batch of a, batch of b, M, N, K): tails of the 64/128 tiles, K tails of 8/16, K = 0,
# broadcast operands, and many small matrices (the 128 x 128 tile is chosen when there
# are enough tiles: batch 128).
MATMUL_SHAPES = [
    (1, 1, 1, 1, 1),
    (2, 2, 5, 7, 3),
    (2, 2, 33, 65, 17),
    (1, 1, 130, 70, 129),
    (3, 3, 64, 64, 64),
    (1, 3, 20, 12, 8),
    (3, 1, 9, 36, 40),
    (128, 128, 3, 5, 2),
    (128, 1, 12, 8, 20),
    (1, 1, 17, 9, 0),
]


def _operands(rng, shape, ta, tb, dtype):
    ba, bb, M, N, K = shape
    a = rng.standard_normal((ba, K, M) if ta else (ba, M, K)).astype(dtype)
    b = rng.standard_normal((bb, N, K) if tb else (bb, K, N)).astype(dtype)
    return a, b


def _op(x, t):
    return x.transpose(0, 2, 1) if t else x


@pytest.mark.parametrize("shape", MATMUL_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matmul_forward(dev, rng, shape, ta, tb, dtype):
    a, b = _operands(rng, shape, ta, tb, dtype)
    batch, M, N = max(shape[0], shape[1]), shape[2], shape[3]
    c0 = rng.standard_normal((batch, M, N)).astype(dtype)
    accumulate = ta != tb
    ref = np.matmul(_op(a, ta).astype(np.float64), _op(b, tb)) + (c0 if accumulate else 0)
    c = dev.put(c0)
    dev.module.matmul_forward(dev.put(a), dev.put(b), c, ta, tb, accumulate)
    np.testing.assert_allclose(dev.get(c), ref, **tol(dtype))


@pytest.mark.parametrize("shape", [(2, 2, 33, 65, 17), (128, 128, 3, 5, 2), (1, 1, 130, 70, 129)],
                         ids=lambda s: "x".join(map(str, s)))
def test_matmul_schedules(scheduled, rng, shape):
    dev = scheduled
    a, b = _operands(rng, shape, False, True, np.float64)
    c = dev.empty((max(shape[:2]), shape[2], shape[3]), np.float64)
    dev.module.matmul_forward(dev.put(a), dev.put(b), c, False, True, False)
    np.testing.assert_allclose(dev.get(c), np.matmul(a, _op(b, True)), **tol(np.float64))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matmul_misaligned(dev, rng, dtype):
    # Leading dimensions that allow vectors but a base pointer that does not: the kernel
    # must fall back to scalar loads.
    if dev.xp is not np:
        pytest.skip("CuPy allocations are always aligned")
    a = misaligned(rng.standard_normal((2, 32, 16)).astype(dtype))
    b = misaligned(rng.standard_normal((2, 16, 24)).astype(dtype))
    c = misaligned(np.zeros((2, 32, 24), dtype))
    dev.module.matmul_forward(a, b, c, False, False, False)
    np.testing.assert_allclose(c, a @ b, **tol(dtype))


@pytest.mark.parametrize("shape", MATMUL_SHAPES[1:], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True), (False, True)])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matmul_backward(dev, rng, shape, ta, tb, dtype):
    a, b = _operands(rng, shape, ta, tb, dtype)
    batch, M, N = max(shape[0], shape[1]), shape[2], shape[3]
    gc = rng.standard_normal((batch, M, N)).astype(dtype)
    # C = op(A) op(B): d op(A) = gC op(B)^T, d op(B) = op(A)^T gC, summed where broadcast.
    g_opa = gc.astype(np.float64) @ _op(_op(b, tb), True)
    g_opb = _op(_op(a, ta), True).astype(np.float64) @ gc
    ref_a, ref_b = _op(g_opa, ta), _op(g_opb, tb)
    if a.shape[0] == 1:
        ref_a = ref_a.sum(0, keepdims=True)
    if b.shape[0] == 1:
        ref_b = ref_b.sum(0, keepdims=True)
    ga, gb = dev.put(np.full(a.shape, np.nan, dtype)), dev.put(np.full(b.shape, np.nan, dtype))
    dev.module.matmul_backward(dev.put(a), dev.put(b), dev.put(gc), ga, gb, ta, tb)
    np.testing.assert_allclose(dev.get(ga), ref_a, **tol(dtype))
    np.testing.assert_allclose(dev.get(gb), ref_b, **tol(dtype))
    # Either gradient may be skipped.
    ga2 = dev.put(np.zeros(a.shape, dtype))
    dev.module.matmul_backward(dev.put(a), dev.put(b), dev.put(gc), ga2, None, ta, tb)
    np.testing.assert_allclose(dev.get(ga2), ref_a, **tol(dtype))


# ---- softmax / log_softmax ------------------------------------------------------------

# Rows of 1 to 1024 go one warp per row (E = 1..32 per lane); longer, one block per row.
SOFTMAX_COLS = [1, 5, 32, 33, 100, 1024, 1025, 3000]


def _softmax_ref(x):
    x = x.astype(np.float64)
    z = x - x.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.exp(z - lse), z - lse


@pytest.mark.parametrize("cols", SOFTMAX_COLS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax(dev, rng, cols, dtype, log):
    rows = 7 if cols <= 1024 else 3
    x = (rng.standard_normal((rows, cols)) * 1e4).astype(dtype)  # stable for logits of +-1e4
    x[0, :] = rng.standard_normal(cols)  # one row of ordinary logits
    p, logp = _softmax_ref(x)
    name = "log_softmax" if log else "softmax"
    y = dev.empty(x.shape, dtype)
    getattr(dev.module, f"{name}_forward")(dev.put(x), y)
    y = dev.get(y)
    np.testing.assert_allclose(y, logp if log else p, **tol(dtype))

    gy = rng.standard_normal(x.shape).astype(dtype)
    saved = (logp if log else p).astype(dtype)
    if log:
        ref = gy - np.exp(saved.astype(np.float64)) * gy.sum(axis=1, keepdims=True)
    else:
        ref = saved * (gy - (gy.astype(np.float64) * saved).sum(axis=1, keepdims=True))
    gx = dev.empty(x.shape, dtype)
    getattr(dev.module, f"{name}_backward")(dev.put(saved), dev.put(gy), gx)
    np.testing.assert_allclose(dev.get(gx), ref, **tol(dtype))


@pytest.mark.parametrize("cols", [33, 1500])
def test_softmax_schedules(scheduled, rng, cols):
    dev = scheduled
    x = rng.standard_normal((5, cols))
    p, logp = _softmax_ref(x)
    y = dev.empty(x.shape, np.float64)
    dev.module.softmax_forward(dev.put(x), y)
    np.testing.assert_allclose(dev.get(y), p, **tol(np.float64))
    gy = rng.standard_normal(x.shape)
    gx = dev.empty(x.shape, np.float64)
    dev.module.log_softmax_backward(dev.put(logp), dev.put(gy), gx)
    np.testing.assert_allclose(dev.get(gx), gy - p * gy.sum(1, keepdims=True), **tol(np.float64))


def test_softmax_masked_logits(dev):
    # -inf logits (masking) give probability 0, even at the start of a row.
    x = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, 2.0]] * 3)
    x = np.concatenate([x, np.zeros((6, 1500))], axis=1)  # also through the block-per-row kernel
    for cols in (3, x.shape[1]):
        xs = np.ascontiguousarray(x[:, :cols])
        y = dev.empty(xs.shape, np.float64)
        dev.module.softmax_forward(dev.put(xs), y)
        np.testing.assert_allclose(dev.get(y), _softmax_ref(xs)[0], **tol(np.float64))


# ---- cross_entropy ---------------------------------------------------------------------


@pytest.mark.parametrize("rows,cols", [(1, 1), (9, 10), (5, 33), (3, 1500)])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_cross_entropy(dev, rng, rows, cols, dtype):
    x = (rng.standard_normal((rows, cols)) * 1e4).astype(dtype)
    labels = rng.integers(0, cols, rows).astype(np.int64)
    p, logp = _softmax_ref(x)
    loss = dev.empty((rows,), dtype)
    dev.module.cross_entropy_forward(dev.put(x), dev.put(labels), loss)
    np.testing.assert_allclose(dev.get(loss), -logp[np.arange(rows), labels], **tol(dtype))

    gloss = rng.standard_normal(rows).astype(dtype)
    ref = p.copy()
    ref[np.arange(rows), labels] -= 1
    ref *= gloss[:, None]
    gx = dev.empty(x.shape, dtype)
    dev.module.cross_entropy_backward(dev.put(x), dev.put(labels), dev.put(gloss), gx)
    np.testing.assert_allclose(dev.get(gx), ref, **tol(dtype))


@pytest.mark.parametrize("cols", [10, 1100])  # a warp per row, a block per row
@pytest.mark.parametrize("bad", ["cols", -1])
def test_cross_entropy_bad_label(dev, rng, bad, cols):
    """The kernels check the labels as they go: the first bad row is named, not the last seen."""
    bad = cols if bad == "cols" else bad
    x = rng.standard_normal((6, cols))
    labels = np.array([1, 2, 3, bad, 4, cols + 2], dtype=np.int64)
    msg = f"cross_entropy: label {bad} at row 3 is out of range for {cols} classes"
    with pytest.raises(IndexError, match=msg):
        dev.module.cross_entropy_forward(dev.put(x), dev.put(labels), dev.empty((6,), np.float64))
    with pytest.raises(IndexError, match=msg):
        gx = dev.empty(x.shape, np.float64)
        dev.module.cross_entropy_backward(dev.put(x), dev.put(labels), dev.put(np.ones(6)), gx)


def test_cross_entropy_schedules(scheduled, rng):
    dev = scheduled
    x = rng.standard_normal((4, 1300))
    labels = np.array([0, 1299, 5, 640], dtype=np.int64)
    loss = dev.empty((4,), np.float64)
    dev.module.cross_entropy_forward(dev.put(x), dev.put(labels), loss)
    np.testing.assert_allclose(dev.get(loss), -_softmax_ref(x)[1][np.arange(4), labels], **tol(np.float64))


# ---- activations -------------------------------------------------------------------------


def _erf(x):
    try:
        from scipy.special import erf

        return erf(x)
    except ImportError:
        import math

        return np.vectorize(math.erf, otypes=[np.float64])(x)


SQRT_2_OVER_PI = np.sqrt(2 / np.pi)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


def _gelu_tanh_grad(x):
    t = np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3))
    du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du


# name -> (extra args, forward(x), backward(x, y, g), saved is "x" or "y")
ACTIVATIONS = {
    "relu": ((), lambda x: np.maximum(x, 0), lambda x, y, g: g * (x > 0), "x"),
    "leaky_relu": ((0.1,), lambda x: np.where(x > 0, x, 0.1 * x), lambda x, y, g: np.where(x > 0, g, 0.1 * g), "x"),
    "sigmoid": ((), lambda x: 1 / (1 + np.exp(-x)), lambda x, y, g: g * y * (1 - y), "y"),
    "tanh": ((), np.tanh, lambda x, y, g: g * (1 - y * y), "y"),
    "gelu": (
        (False,),
        lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
        lambda x, y, g: g * (0.5 * (1 + _erf(x / np.sqrt(2))) + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)),
        "x",
    ),
    "gelu_tanh": ((True,), _gelu_tanh, lambda x, y, g: g * _gelu_tanh_grad(x), "x"),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("n", [0, 1, 7, 1000, 4099])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("aligned", [True, False], ids=["aligned", "misaligned"])
def test_activation(dev, rng, name, n, dtype, aligned):
    if not aligned and dev.xp is not np:
        pytest.skip("CuPy allocations are always aligned")
    args, fwd, bwd, saved_kind = ACTIVATIONS[name]
    kernel = "gelu" if name == "gelu_tanh" else name
    x = (rng.standard_normal(n) * 3).astype(dtype)
    x[: min(n, 2)] = 0  # the kink of relu / leaky_relu
    g = rng.standard_normal(n).astype(dtype)
    place = (lambda a: a) if aligned else misaligned
    y = dev.put(place(np.zeros(n, dtype)))
    getattr(dev.module, f"{kernel}_forward")(dev.put(place(x)), y, *args)
    y = dev.get(y)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, fwd(x64), **tol(dtype, "elementwise"))

    saved = x if saved_kind == "x" else y
    gx = dev.put(place(np.zeros(n, dtype)))
    getattr(dev.module, f"{kernel}_backward")(dev.put(place(saved)), dev.put(place(g)), gx, *args)
    np.testing.assert_allclose(dev.get(gx), bwd(x64, saved.astype(np.float64), g), **tol(dtype, "elementwise"))


# ---- the cuda module's array checks -------------------------------------------------------


@pytest.mark.cuda
def test_cuda_rejects_host_and_strided_arrays():
    dev = _cuda_device()
    x = dev.xp.ones((4, 6), dtype=np.float32)
    with pytest.raises(TypeError, match="argument 'x' is on the host; move it to cuda"):
        dev.module.relu_forward(np.ones((4, 6), np.float32), x)
    with pytest.raises(ValueError, match="C-contiguous"):
        dev.module.relu_forward(x[:, ::2], dev.xp.empty((4, 3), np.float32))
