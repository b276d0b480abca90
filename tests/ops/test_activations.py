"""Kernel-level edge tests for the elementwise activations of ember._cpu.

Every float32 case runs on each ISA level the CPU has (generic, avx2, avx512),
since each is a separate SIMD build; float64 is scalar libm code. Results are
compared with float64 NumPy formulas: float32 within 1e-5 relative (1e-6
absolute near 0), float64 within 1e-12.
"""
import functools
import math

import numpy as np
import pytest

import ember as em

from .check import DEVICES, assert_zero_d_like_torch, require

ISAS = ["generic", "avx2", "avx512"]
SIZES = list(range(0, 34)) + [1000003]  # empty, every SIMD tail up to 32 lanes, threaded
SLOPE = 0.01
ALPHA, BETA, THRESHOLD, LO, HI = 0.7, 1.5, 4.0, -0.5, 0.8
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _phi(x):
    return 0.5 * _erfc(-x / math.sqrt(2)).astype(np.float64)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


_C = 2 * math.sqrt(2 / math.pi)


def _gelu_tanh_grad(x):
    s = _sigmoid(_C * (x + 0.044715 * x**3))
    return s + x * s * (1 - s) * _C * (1 + 3 * 0.044715 * x * x)


# name -> (forward(x), d forward / dx (x), backward saves the output?, kernel args)
OPS = {
    "relu": (lambda x: np.where(x <= 0, 0.0, x), lambda x: np.where(x <= 0, 0.0, 1.0), False, ()),
    "leaky_relu": (lambda x: np.where(x > 0, x, SLOPE * x), lambda x: np.where(x > 0, 1.0, SLOPE), False, (SLOPE,)),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x), True, ()),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, True, ()),
    "gelu": (lambda x: x * _phi(x), lambda x: _phi(x) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi), False,
             (False,)),
    "gelu_tanh": (lambda x: x * _sigmoid(_C * (x + 0.044715 * x**3)), _gelu_tanh_grad, False, (True,)),
}

OPS.update({
    "elu": (lambda x: np.where(x > 0, x, ALPHA * np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, ALPHA * np.exp(np.minimum(x, 0))), False, (ALPHA,)),
    "elu_result": (lambda x: np.where(x > 0, x, ALPHA * np.expm1(np.minimum(x, 0))),
                   lambda x: np.where(x > 0, 1.0, ALPHA * np.exp(np.minimum(x, 0))), True, (ALPHA,)),
    "silu": (lambda x: x * _sigmoid(x), lambda x: _sigmoid(x) * (1 + x * _sigmoid(-x)), False, ()),
    "softplus": (lambda x: np.where(BETA * x > THRESHOLD, x, np.logaddexp(0, BETA * x) / BETA),
                 lambda x: np.where(BETA * x > THRESHOLD, 1.0, _sigmoid(BETA * x)), False, (BETA, THRESHOLD)),
    "hardtanh": (lambda x: np.clip(x, LO, HI), lambda x: ((x > LO) & (x < HI)).astype(float), False, (LO, HI)),
    "relu6": (lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float), False, (0.0, 6.0)),
})
KERNEL = {"gelu_tanh": "gelu", "elu_result": "elu", "relu6": "hardtanh"}
BACKWARD_ARGS = {"elu": (ALPHA, False), "elu_result": (ALPHA, True)}  # where they differ from forward's


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


# float32 exact GELU takes erf from a rational whose absolute error is <= 4e-7 (as PyTorch's
# erf, about 1.5e-7): gelu and its derivative may be off by |x| * 2.5e-7 on top of _tol.
GELU_ERF_ERROR = 2.5e-7


def _assert_close(name, got, want, x, dtype, what, rtol=1e-5, atol=1e-6):
    if dtype != np.float32:
        np.testing.assert_allclose(got, want, **_tol(dtype), err_msg=what)
        return
    if name == "gelu":
        atol = atol + np.abs(x.astype(np.float64)) * GELU_ERF_ERROR
    err = np.abs(got.astype(np.float64) - want)
    bad = ~(err <= atol + rtol * np.abs(want))
    assert not bad.any(), f"{what}: {bad.sum()} off, x={x[bad][:3]}, got {got[bad][:3]}, want {want[bad][:3]}"


def _call(k, name, direction, *arrays):
    args = BACKWARD_ARGS.get(name, OPS[name][3]) if direction == "backward" else OPS[name][3]
    getattr(k, KERNEL.get(name, name) + "_" + direction)(*arrays, *args)


@functools.lru_cache(maxsize=None)
def _data(n, dtype):
    """Inputs spread over [-12, 12] (tanh/gelu cross their branch points), grads, and references."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).clip(-12, 12).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    refs = {name: (f(x64), g64 * df(x64)) for name, (f, df, _, _) in OPS.items()}
    return x, g, refs


# float64 is scalar code, the same on every ISA level: run it once.
CASES = [(np.float32, i) for i in ISAS] + [(np.float64, "generic")]


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype,isa", CASES, indirect=["isa"], ids=[f"{np.dtype(d).name}-{i}" for d, i in CASES])
def test_forward_backward_sizes(cpu_kernels, isa, name, dtype):
    saves_out = OPS[name][2]
    for n in SIZES:
        x, g, refs = _data(n, dtype)
        y = np.full_like(x, np.nan)
        _call(cpu_kernels, name, "forward", x, y)
        _assert_close(name, y, refs[name][0], x, dtype, f"{name} forward n={n}")
        gx = np.full_like(x, np.nan)
        _call(cpu_kernels, name, "backward", y if saves_out else x, g, gx)
        # from the output, the reference is the analytic formula of that (rounded) output
        ref = refs[name][1]
        if name == "sigmoid":
            ref = g * (y.astype(np.float64) * (1 - y.astype(np.float64)))
        elif name == "tanh":
            ref = g * (1 - y.astype(np.float64) ** 2)
        elif name == "elu_result":
            ref = g * np.where(y > 0, 1.0, y.astype(np.float64) + ALPHA)
        _assert_close(name, gx, ref, x, dtype, f"{name} backward n={n}")


EXTREMES = [-1e4, 1e4, -100, 100, -89, 89, -88, 88, -87.5, -20, 20, -10.5, -10, 10, -5, -0.7518, -0.6, 0.6,
            -0.59, 1e-3, -1e-3, 1e-30, -1e-30, 0.0, -0.0]


@pytest.mark.parametrize("name", OPS)
def test_extremes_f32(cpu_kernels, isa, name):
    x = np.array(EXTREMES, np.float32)
    y = np.empty_like(x)
    _call(cpu_kernels, name, "forward", x, y)
    assert not np.isnan(y).any(), (name, x[np.isnan(y)])
    _assert_close(name, y, OPS[name][0](x.astype(np.float64)), x, np.float32, f"{name} forward")
    if not OPS[name][2]:
        gx = np.empty_like(x)
        _call(cpu_kernels, name, "backward", x, np.ones_like(x), gx)
        _assert_close(name, gx, OPS[name][1](x.astype(np.float64)), x, np.float32, f"{name} backward")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_infinities(cpu_kernels, isa, dtype):
    x = np.array([-np.inf, np.inf], dtype)
    expect = {"relu": [0, np.inf], "leaky_relu": [-np.inf, np.inf], "sigmoid": [0, 1], "tanh": [-1, 1],
              "gelu": [0, np.inf], "gelu_tanh": [0, np.inf], "elu": [-ALPHA, np.inf], "silu": [0, np.inf],
              "softplus": [0, np.inf], "hardtanh": [LO, HI], "relu6": [0, 6]}
    for name, want in expect.items():
        y = np.empty_like(x)
        _call(cpu_kernels, name, "forward", x, y)
        np.testing.assert_array_equal(y, np.array(want, dtype), err_msg=name)
    for name in ("gelu", "gelu_tanh", "elu", "silu", "softplus"):  # 0 and 1 at -inf and inf, not inf * 0
        gx = np.empty_like(x)
        _call(cpu_kernels, name, "backward", x, np.ones_like(x), gx)
        np.testing.assert_array_equal(gx, [0, 1], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_relu_of_nan(cpu_kernels, isa, dtype):
    x = np.array([np.nan, -1, 2] * 11, dtype)  # NaN in every lane of the vector body and the tail
    y, gx = np.empty_like(x), np.empty_like(x)
    cpu_kernels.relu_forward(x, y)
    cpu_kernels.relu_backward(x, np.ones_like(x), gx)
    np.testing.assert_array_equal(y, np.array([np.nan, 0, 2] * 11, dtype))
    np.testing.assert_array_equal(gx, np.array([1, 0, 1] * 11, dtype))


def test_sigmoid_of_minus_100_and_nan(cpu_kernels, isa):
    x = np.array([-100, -104, -1e4, np.nan], np.float32)
    y = np.empty_like(x)
    cpu_kernels.sigmoid_forward(x, y)
    assert np.all(y[:3] >= 0) and np.all(y[:3] < 1e-38)
    assert np.isnan(y[3])


@pytest.mark.parametrize("name", OPS)
def test_gradient_finite_differences_f64(cpu_kernels, name):
    x = np.array([-3.1, -0.75, -0.3, 0.2, 0.55, 0.65, 1.7, 4.2])  # away from relu's kink at 0
    h = 1e-6
    fp, fm, y = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    _call(cpu_kernels, name, "forward", x + h, fp)
    _call(cpu_kernels, name, "forward", x - h, fm)
    _call(cpu_kernels, name, "forward", x, y)
    gx = np.empty_like(x)
    _call(cpu_kernels, name, "backward", y if OPS[name][2] else x, np.ones_like(x), gx)
    np.testing.assert_allclose(gx, (fp - fm) / (2 * h), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_bad_arguments(cpu_kernels, direction):
    x32, x64 = np.zeros(5, np.float32), np.zeros(5, np.float64)
    n_args = 2 if direction == "forward" else 3
    fn = getattr(cpu_kernels, "sigmoid_" + direction)
    with pytest.raises(TypeError, match="float64|float32"):
        fn(*([x32] * (n_args - 1) + [x64]))
    with pytest.raises(TypeError):
        fn(*[np.zeros(5, np.int64)] * n_args)
    with pytest.raises(ValueError):
        fn(*([x32] * (n_args - 1) + [np.zeros(6, np.float32)]))
    with pytest.raises(ValueError, match="contiguous"):  # the Python layer makes inputs contiguous
        fn(*([np.zeros(10, np.float32)[::2]] + [x32] * (n_args - 1)))


@pytest.mark.parametrize("name", ["tanh", "gelu", "gelu_tanh", "leaky_relu", "elu", "silu"])
def test_relative_accuracy_near_zero(cpu_kernels, isa, name):
    # tanh(x) ~ x and gelu(x) ~ x/2 near 0: an exp-based form that cancels
    # would pass the 1e-6 absolute bound but not this relative one.
    x = np.array([1e-30, 1e-8, 1e-3, 0.1, 0.5, 0.599], np.float32)
    x = np.concatenate([x, -x])
    y = np.empty_like(x)
    _call(cpu_kernels, name, "forward", x, y)
    np.testing.assert_allclose(y, OPS[name][0](x.astype(np.float64)), rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("device", DEVICES)
def test_relu_passes_nan_like_torch(device, dtype):
    """relu(NaN) is NaN and its gradient passes through, as PyTorch's does (x <= 0 gives 0)."""
    require(device)
    import ember as em
    x = em.tensor(np.array([np.nan, -1, -0.0, 2] * 9, dtype), device=device, requires_grad=True)  # SIMD body + tail
    y = em.nn.functional.relu(x)
    y.backward(em.tensor(np.full(36, 3, dtype), device=device))
    got, grad = np.asarray(y.detach().to("numpy")), np.asarray(x.grad.to("numpy"))
    np.testing.assert_array_equal(got, np.array([np.nan, 0, 0, 2] * 9, dtype))
    np.testing.assert_array_equal(grad, np.array([3, 0, 0, 3] * 9, dtype))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"])
@pytest.mark.parametrize("device", DEVICES)
def test_zero_d_like_torch(device, name):
    """NumPy hands back scalars for 0-d arrays: the value and the gradient stay 0-d arrays."""
    torch = pytest.importorskip("torch")
    kw = {"leaky_relu": dict(negative_slope=0.2), "gelu_tanh": dict(approximate="tanh")}.get(name, {})
    fn = name[:4] if name == "gelu_tanh" else name
    assert_zero_d_like_torch(lambda x: getattr(em.nn.functional, fn)(x, **kw),
                             lambda x: getattr(torch.nn.functional, fn)(x, **kw), device)


@pytest.mark.parametrize("name", ["elu", "silu", "softplus", "hardtanh", "relu6"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_nan_passes(cpu_kernels, isa, name, dtype):
    x = np.array([np.nan, -1, 2] * 11, dtype)  # NaN in every lane of the vector body and the tail
    y = np.empty_like(x)
    _call(cpu_kernels, name, "forward", x, y)
    assert np.isnan(y[::3]).all() and not np.isnan(y[1::3]).any()


def _ulp32(v):
    return np.spacing(np.abs(v).astype(np.float32)).astype(np.float64)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_exact_gelu_error_bound(cpu_kernels, isa, direction):
    """Within float32 rounding of erf: |error| <= |x| * 2.5e-7 (erf's <= 4e-7 absolute, halved) plus a
    few ulp of the result, on a dense grid over [-12, 12] and at the tails (gelu(-inf) = 0, NaN passes)."""
    x = np.concatenate([np.linspace(-12, 12, 200001), [-30, -1e4, 30, 1e4]]).astype(np.float32)
    x64 = x.astype(np.float64)
    out = np.empty_like(x)
    if direction == "forward":
        cpu_kernels.gelu_forward(x, out, False)
        want = x64 * _phi(x64)
    else:
        cpu_kernels.gelu_backward(x, np.ones_like(x), out, False)
        want = _phi(x64) + x64 * np.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi)
    err = np.abs(out - want)
    bound = np.abs(x64) * 2.5e-7 + 4 * _ulp32(want) + 1e-38
    assert (err <= bound).all(), (x[np.argmax(err / bound)], (err / bound).max())
    special = np.array([-np.inf, np.inf, np.nan], np.float32)
    out = np.empty_like(special)
    (cpu_kernels.gelu_forward(special, out, False) if direction == "forward"
     else cpu_kernels.gelu_backward(special, np.ones_like(special), out, False))
    np.testing.assert_array_equal(out, [0, np.inf, np.nan] if direction == "forward" else [0, 1, np.nan])


@pytest.mark.parametrize("kw,match", [({"beta": 0.0}, "beta must be finite and nonzero"),
                                      ({"beta": float("inf")}, "beta must be finite and nonzero")])
def test_softplus_bad_beta(kw, match):
    with pytest.raises(ValueError, match=r"\[softplus\] " + match):
        em.nn.functional.softplus(em.zeros(3), **kw)


def test_hardtanh_bounds_checked():
    with pytest.raises(ValueError, match=r"\[hardtanh\] min_val cannot be greater than max_val"):
        em.nn.functional.hardtanh(em.zeros(3), 1.0, 0.0)
    with pytest.raises(ValueError, match=r"\[Hardtanh\] min_val cannot be greater"):
        em.nn.Hardtanh(2.0, 1.0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kw", [("relu", {}), ("leaky_relu", {"negative_slope": 0.1}), ("elu", {}),
                                     ("silu", {}), ("hardtanh", {}), ("relu6", {})])
def test_inplace_writes_into_x_and_bumps_its_version(device, name, kw):
    """As PyTorch: the result is in x's buffer, x is returned and becomes the node's output; a node
    that had saved x raises at backward; a leaf requiring grad cannot be written in place."""
    require(device)
    fn = getattr(em.nn.functional, name)
    a = em.tensor(np.linspace(-3, 7, 12), device=device, requires_grad=True)
    x = a * 1
    before = x._version_count
    buf = x._data
    y = fn(x, inplace=True, **kw)
    assert y is x and x._data is buf and x._version_count == before + 1
    np.testing.assert_allclose(x.numpy(), fn(a.detach(), **kw).numpy(), rtol=1e-6)
    (y * y).sum().backward()
    a2 = em.tensor(np.linspace(-3, 7, 12), device=device, requires_grad=True)
    (fn(a2, **kw) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), a2.grad.numpy(), rtol=1e-6)
    x = a * 1
    z = x * x  # saves x
    fn(x, inplace=True, **kw)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        fn(a, inplace=True, **kw)
    with em.no_grad():
        fn(a, inplace=True, **kw)  # allowed outside grad mode, as in PyTorch
    assert a._version_count == 1


@pytest.mark.parametrize("name", ["leaky_relu", "elu"])
def test_inplace_with_negative_slope_refused(name):
    kw = {"negative_slope": -0.1} if name == "leaky_relu" else {"alpha": -1.0}
    x = em.tensor([1.0, -2.0], requires_grad=True) * 1
    with pytest.raises(ValueError, match=f"\\[{name}\\] in place with a negative slope"):
        getattr(em.nn.functional, name)(x, inplace=True, **kw)


@pytest.mark.torch
def test_modules_like_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-8, 8, 33).astype(np.float32)
    for name, args in [("ELU", (0.5,)), ("SiLU", ()), ("Softplus", (2.0, 5.0)), ("Hardtanh", (-2.0, 3.0)),
                       ("ReLU6", ()), ("ReLU", (True,)), ("LeakyReLU", (0.2, True))]:
        m, mt = getattr(em.nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(m) == repr(mt)
        np.testing.assert_allclose(m(em.tensor(x)).numpy(), mt(torch.from_numpy(x.copy())).numpy(), rtol=1e-6,
                                   atol=1e-7)


@pytest.mark.parametrize("device", ["cpu", "cuda-emu"])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "silu", "hardtanh", "relu6"])
def test_in_place_allocates_no_output(device, name):
    """inplace=True on the compiled backends writes into x's buffer: no pooled block is asked for
    (silu still copies x for its backward when x requires grad; here it does not)."""
    require(device)
    F = em.nn.functional
    x = em.randn(256, 1024, device=device)  # 1 MiB: a pooled size
    want = getattr(F, name)(x.clone()).numpy()
    before = em.cpu.memory_stats()
    y = getattr(F, name)(x, inplace=True)
    after = em.cpu.memory_stats()
    assert y is x
    assert (after["hits"] + after["misses"]) == (before["hits"] + before["misses"]), name
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-6, atol=1e-7)
