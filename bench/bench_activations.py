"""Benchmark of the CPU activation, softmax and cross-entropy kernels (float32).

Columns: ember, the plain NumPy formula and torch (CPU, out= / aten kernels
where they exist, so no allocation is timed), in microseconds; GB/s for ember
counts each array read or written once; ember/numpy time and ember/torch time are time
ratios (< 1: ember is faster). Every ember result is checked against NumPy first (on the GPU
against torch, or the CuPy formula).

Run:  EMBER_CPU_MODULE=_cpu PYTHONPATH=build/<dir> python bench/bench_activations.py
(OMP_NUM_THREADS=1 pins ember and torch to one thread: steadier on a shared machine.)
"""
import math
import os

import numpy as np

from common import RATIO_NOTE, check_close, gpu, gpu_timeit, kernels, ratio, ratio_col, report, timeit, torch_or_none

try:
    from scipy.special import erf as _erf
except ImportError:  # NumPy has no erf: the exact-GELU NumPy column stays empty
    _erf = None

K = kernels()
torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):  # same thread count for both
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
SLOPE = 0.01
C = math.sqrt(2 / math.pi)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def np_gelu_grad(x, g):
    return g * (0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(C * (x + 0.044715 * x**3)))


def np_gelu_tanh_grad(x, g):
    t = np.tanh(C * (x + 0.044715 * x**3))
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * 0.044715 * x * x))


# name -> (ember forward, ember backward, numpy forward, numpy backward(saved, g), backward saves output?)
ACTS = {
    "relu": (K.relu_forward, K.relu_backward, lambda x: np.maximum(x, 0), lambda x, g: g * (x > 0), False),
    "leaky_relu": (lambda x, y: K.leaky_relu_forward(x, y, SLOPE),
                   lambda x, g, gx: K.leaky_relu_backward(x, g, gx, SLOPE),
                   lambda x: np.where(x > 0, x, x * SLOPE), lambda x, g: np.where(x > 0, g, g * SLOPE), False),
    "sigmoid": (K.sigmoid_forward, K.sigmoid_backward, np_sigmoid, lambda y, g: g * y * (1 - y), True),
    "tanh": (K.tanh_forward, K.tanh_backward, np.tanh, lambda y, g: g * (1 - y * y), True),
    "gelu": (lambda x, y: K.gelu_forward(x, y, False), lambda x, g, gx: K.gelu_backward(x, g, gx, False),
             np_gelu if _erf else None, np_gelu_grad if _erf else None, False),
    "gelu_tanh": (lambda x, y: K.gelu_forward(x, y, True), lambda x, g, gx: K.gelu_backward(x, g, gx, True),
                  np_gelu_tanh, np_gelu_tanh_grad, False),
    "elu": (lambda x, y: K.elu_forward(x, y, 1.0), lambda x, g, gx: K.elu_backward(x, g, gx, 1.0, False),
            lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            lambda x, g: np.where(x > 0, g, g * np.exp(np.minimum(x, 0))), False),
    "silu": (K.silu_forward, K.silu_backward, lambda x: x * np_sigmoid(x),
             lambda x, g: g * np_sigmoid(x) * (1 + x * (1 - np_sigmoid(x))), False),
    "softplus": (lambda x, y: K.softplus_forward(x, y, 1.0, 20.0),
                 lambda x, g, gx: K.softplus_backward(x, g, gx, 1.0, 20.0),
                 lambda x: np.where(x > 20, x, np.logaddexp(0, x)),
                 lambda x, g: np.where(x > 20, g, g * np_sigmoid(x)), False),
    "hardtanh": (lambda x, y: K.hardtanh_forward(x, y, -1.0, 1.0),
                 lambda x, g, gx: K.hardtanh_backward(x, g, gx, -1.0, 1.0), lambda x: np.clip(x, -1, 1),
                 lambda x, g: np.where((x > -1) & (x < 1), g, 0), False),
}


def torch_acts():
    if torch is None:
        return {}
    F, aten = torch.nn.functional, torch.ops.aten
    return {
        "relu": (lambda x, y: torch.clamp(x, min=0, out=y),
                 lambda x, g, gx: aten.threshold_backward.grad_input(g, x, 0, grad_input=gx)),
        "leaky_relu": (lambda x, y: aten.leaky_relu.out(x, SLOPE, out=y),
                       lambda x, g, gx: aten.leaky_relu_backward.grad_input(g, x, SLOPE, False, grad_input=gx)),
        "sigmoid": (lambda x, y: torch.sigmoid(x, out=y),
                    lambda y, g, gx: aten.sigmoid_backward.grad_input(g, y, grad_input=gx)),
        "tanh": (lambda x, y: torch.tanh(x, out=y),
                 lambda y, g, gx: aten.tanh_backward.grad_input(g, y, grad_input=gx)),
        "gelu": (lambda x, y: aten.gelu.out(x, approximate="none", out=y),
                 lambda x, g, gx: aten.gelu_backward.grad_input(g, x, approximate="none", grad_input=gx)),
        "gelu_tanh": (lambda x, y: aten.gelu.out(x, approximate="tanh", out=y),
                      lambda x, g, gx: aten.gelu_backward.grad_input(g, x, approximate="tanh", grad_input=gx)),
        "elu": (lambda x, y: aten.elu.out(x, out=y),
                lambda x, g, gx: aten.elu_backward.grad_input(g, 1.0, 1.0, 1.0, False, x, grad_input=gx)),
        "silu": (lambda x, y: aten.silu.out(x, out=y),
                 lambda x, g, gx: aten.silu_backward.grad_input(g, x, grad_input=gx)),
        "softplus": (lambda x, y: aten.softplus.out(x, 1.0, 20.0, out=y),
                     lambda x, g, gx: aten.softplus_backward.grad_input(g, x, 1.0, 20.0, grad_input=gx)),
        "hardtanh": (lambda x, y: aten.hardtanh.out(x, -1.0, 1.0, out=y),
                     lambda x, g, gx: aten.hardtanh_backward.grad_input(g, x, -1.0, 1.0, grad_input=gx)),
        "F": F,
    }


def row(op, shape, n_bytes, ember, numpy_fn, torch_fn):
    t_e = timeit(ember)
    t_n = timeit(numpy_fn) if numpy_fn else None
    t_t = timeit(torch_fn) if torch_fn else None
    return {"op": op, "shape": "x".join(map(str, shape)), "ember_us": t_e * 1e6,
            "numpy_us": t_n * 1e6 if t_n else None, "torch_us": t_t * 1e6 if t_t else None,
            "ember_GB/s": n_bytes / t_e / 1e9, ratio_col("numpy"): ratio(t_e, t_n), ratio_col("torch"): ratio(t_e, t_t)}


check = check_close


def bench_activations(rows, shapes):
    T = torch_acts()
    rng = np.random.default_rng(0)
    for shape in shapes:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        y, gx = np.empty_like(x), np.empty_like(x)
        xt, gt, yt, gxt = (torch.from_numpy(a) for a in (x, g, y.copy(), gx.copy())) if torch else (None,) * 4
        for name, (fwd, bwd, np_fwd, np_bwd, saves_out) in ACTS.items():
            fwd(x, y)
            saved = y if saves_out else x
            bwd(saved, g, gx)
            ref = (np_fwd or (lambda v: T["F"].gelu(torch.from_numpy(v)).numpy()))(x.astype(np.float64))
            check(name, y, ref)
            if np_bwd:
                check(name + " backward", gx, np_bwd(saved.astype(np.float64), g.astype(np.float64)))
            tf, tb = T.get(name, (None, None))
            st = torch.from_numpy(saved) if torch else None
            rows.append(row(name, shape, 8 * x.size, lambda: fwd(x, y), np_fwd and (lambda: np_fwd(x)),
                            tf and (lambda: tf(xt, yt))))
            rows.append(row(name + " bwd", shape, 12 * x.size, lambda: bwd(saved, g, gx),
                            np_bwd and (lambda: np_bwd(saved, g)), tb and (lambda: tb(st, gt, gxt))))


def np_log_softmax(x):
    z = x - x.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def np_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def bench_softmax(rows, shapes):
    aten = torch.ops.aten if torch else None
    rng = np.random.default_rng(1)
    for shape in shapes:
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        y, gx = np.empty_like(x), np.empty_like(x)
        for name, np_fwd, np_bwd, t_fwd, t_bwd, out_kw in (
            ("softmax", np_softmax, lambda y, g: y * (g - (g * y).sum(axis=1, keepdims=True)),
             aten and aten._softmax.out, aten and aten._softmax_backward_data.out, "grad_input"),
            ("log_softmax", np_log_softmax, lambda y, g: g - np.exp(y) * g.sum(axis=1, keepdims=True),
             aten and aten._log_softmax.out, aten and aten._log_softmax_backward_data.out, "out"),
        ):
            fwd, bwd = getattr(K, name + "_forward"), getattr(K, name + "_backward")
            fwd(x, y)
            check(name, y, np_fwd(x.astype(np.float64)))
            bwd(y, g, gx)
            check(name + " backward", gx, np_bwd(y.astype(np.float64), g.astype(np.float64)))
            tf = tb = None
            if torch:
                xt, yt, gt, gxt = (torch.from_numpy(a.copy()) for a in (x, y, g, gx))
                tf = lambda: t_fwd(xt, 1, False, out=yt)  # noqa: E731
                tb = lambda: t_bwd(gt, yt, 1, torch.float32, **{out_kw: gxt})  # noqa: E731
            rows.append(row(name, shape, 8 * x.size, lambda: fwd(x, y), lambda: np_fwd(x), tf))
            rows.append(row(name + " bwd", shape, 12 * x.size, lambda: bwd(y, g, gx), lambda: np_bwd(y, g), tb))


def bench_cross_entropy(rows, shapes):
    rng = np.random.default_rng(2)
    for n, c in shapes:
        x = (rng.standard_normal((n, c)) * 3).astype(np.float32)
        labels = rng.integers(0, c, n).astype(np.int64)
        gloss = np.full(n, 1.0 / n, np.float32)
        loss, gx = np.empty(n, np.float32), np.empty_like(x)
        r = np.arange(n)

        def ember():
            K.cross_entropy_forward(x, labels, loss)
            K.cross_entropy_backward(x, labels, gloss, gx)

        def numpy_fn():
            ls = np_log_softmax(x)
            out = -ls[r, labels]
            p = np.exp(ls)
            p[r, labels] -= 1
            return out, p * gloss[:, None]

        ember()
        want_loss, want_gx = numpy_fn()
        check("cross_entropy", loss, want_loss)
        check("cross_entropy backward", gx, want_gx)
        torch_fn = None
        if torch:
            xt, lt, gt = torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(labels), torch.from_numpy(gloss)

            def torch_fn():  # autograd: log_softmax + nll_loss, and their backward
                xt.grad = None
                torch.nn.functional.cross_entropy(xt, lt, reduction="none").backward(gt)

        rows.append(row("cross_entropy f+b", (n, c), 12 * x.size + 24 * n, ember, numpy_fn, torch_fn))


def main():
    rows = []
    bench_activations(rows, [(1 << 22,), (64, 128)])
    bench_softmax(rows, [(4096, 1000), (64, 128), (64, 10)])
    bench_cross_entropy(rows, [(4096, 1000), (64, 10)])
    notes = [f"ember isa={K.isa()} threads={K.get_num_threads()}; torch "
             f"{torch.__version__ + ' threads=' + str(torch.get_num_threads()) if torch else 'missing'}; "
             "torch cross_entropy goes through autograd"]
    report("bench_activations", ["op", "shape", "ember_us", "numpy_us", "torch_us", "ember_GB/s", ratio_col("numpy"),
                                 ratio_col("torch")], rows, notes + [RATIO_NOTE])


def gpu_rows():
    """ember._cuda vs torch CUDA (and the CuPy formula) on the GPU, float32."""
    g = gpu()
    if g is None:
        return
    cupy, cuda, tc = g
    rng = np.random.default_rng(0)
    x = cupy.asarray(rng.standard_normal(1 << 24, dtype=np.float32))
    y = cupy.empty_like(x)
    rows_2d = cupy.asarray(rng.standard_normal((4096, 1000), dtype=np.float32))
    out_2d = cupy.empty_like(rows_2d)
    labels = cupy.asarray(rng.integers(0, 1000, 4096))
    loss = cupy.empty(4096, np.float32)

    def cpu_gelu(v):  # ember's CPU kernel, checked against NumPy in main()
        out = np.empty_like(v)
        K.gelu_forward(v, out, False)
        return out

    def rows_softmax(v):
        e = cupy.exp(v - v.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def rows_cross_entropy(v):
        z = v - v.max(axis=1, keepdims=True)
        return cupy.log(cupy.exp(z).sum(axis=1)) - z[cupy.arange(v.shape[0]), labels]

    # (name, ember, CuPy formula or None, torch or None, the reference (out, want) for the check, bytes moved)
    cases = [
        ("relu", lambda: cuda.relu_forward(x, y), lambda: cupy.maximum(x, 0, out=y),
         (lambda: tc.relu(tx)) if tc else None, lambda: (y, cupy.maximum(x, 0)), 2 * x.nbytes),
        ("gelu", lambda: cuda.gelu_forward(x, y, False), None, (lambda: tc.nn.functional.gelu(tx)) if tc else None,
         lambda: (y, tc.nn.functional.gelu(tx) if tc else cpu_gelu(x.get())), 2 * x.nbytes),
        ("softmax 4096x1000", lambda: cuda.softmax_forward(rows_2d, out_2d), None,
         (lambda: tc.softmax(trows, dim=1)) if tc else None, lambda: (out_2d, rows_softmax(rows_2d)),
         2 * rows_2d.nbytes),
        ("cross_entropy 4096x1000", lambda: cuda.cross_entropy_forward(rows_2d, labels, loss), None,
         (lambda: tc.nn.functional.cross_entropy(trows, tlabels)) if tc else None,
         lambda: (loss, rows_cross_entropy(rows_2d)), rows_2d.nbytes),
    ]
    if tc:
        tx, trows, tlabels = (tc.as_tensor(a, device="cuda") for a in (x, rows_2d, labels))
    out = []
    for name, ember_fn, cupy_fn, torch_fn, reference, nbytes in cases:
        ember_fn()
        check_close(name, *reference())
        te = gpu_timeit(ember_fn)
        tcp = gpu_timeit(cupy_fn) if cupy_fn else None
        tt = gpu_timeit(torch_fn) if torch_fn else None
        out.append({"op": name, "ember_us": te * 1e6, "cupy_us": tcp and tcp * 1e6, "torch_us": tt and tt * 1e6,
                    "ember_GB/s": nbytes / te / 1e9, ratio_col("cupy"): ratio(te, tcp),
                    ratio_col("torch"): ratio(te, tt)})
    report("bench_activations_cuda", ["op", "ember_us", "cupy_us", "torch_us", "ember_GB/s", ratio_col("cupy"),
                                      ratio_col("torch")], out, ["float32 on the GPU", RATIO_NOTE])


if __name__ == "__main__":
    main()
    gpu_rows()
