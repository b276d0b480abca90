"""Benchmark of 2x2 max pooling (and average pooling) forward + backward, float32: ember-cpu vs
PyTorch CPU on the seeds' shape (64, 32, 28, 28) -> (64, 32, 14, 14).

Columns in microseconds; GB/s counts x read + y (+ indices) written forward and gy (+ indices)
read + gx written backward; ember/torch time < 1: ember faster. Each ember result is checked
against torch (or NumPy) first; the GPU rows against ember's CPU kernels. GPU rows when a GPU
is usable.

Run:  python bench/bench_pool.py
"""
import os

import numpy as np

from common import RATIO_NOTE, check_close, gpu, gpu_timeit, kernels, ratio, ratio_col, report, timeit, torch_or_none

K = kernels()
torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

SHAPE = (64, 32, 28, 28)
GEOM = ((2, 2), (2, 2), (0, 0))


def bench_max(rows, x, g):
    y, idx = np.empty(SHAPE[:2] + (14, 14), np.float32), np.empty(SHAPE[:2] + (14, 14), np.int64)
    gx = np.empty_like(x)

    def fwd():
        K.max_pool2d_forward(x, y, idx, *GEOM, (1, 1))

    def bwd():
        K.max_pool2d_backward(idx, g, gx, *GEOM, (1, 1))
    fwd()
    bwd()
    tf = tb = None
    if torch is not None:
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)
        yt, it = torch.nn.functional.max_pool2d(xt, 2, return_indices=True)
        np.testing.assert_array_equal(y, yt.numpy())
        np.testing.assert_array_equal(idx, it.numpy())
        aten = torch.ops.aten
        gxt = aten.max_pool2d_with_indices_backward(gt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False, it)
        np.testing.assert_allclose(gx, gxt.numpy())
        tf = lambda: aten.max_pool2d_with_indices(xt, [2, 2], [2, 2])  # noqa: E731
        tb = lambda: aten.max_pool2d_with_indices_backward(gt, xt, [2, 2], [2, 2], [0, 0], [1, 1], False, it)  # noqa
    else:
        from ember.backends.numpy_ref import max_pool2d_forward
        want, _ = max_pool2d_forward(x, *GEOM, (1, 1), (14, 14))
        np.testing.assert_array_equal(y, want)
    _rows(rows, "max_pool2d 2x2", fwd, bwd, tf, tb, x.nbytes + y.nbytes + idx.nbytes, g.nbytes + idx.nbytes + gx.nbytes)


def bench_avg(rows, x, g):
    y, gx = np.empty(SHAPE[:2] + (14, 14), np.float32), np.empty_like(x)

    def fwd():
        K.avg_pool2d_forward(x, y, *GEOM, True)

    def bwd():
        K.avg_pool2d_backward(g, gx, *GEOM, True)
    fwd()
    bwd()
    tf = tb = None
    if torch is not None:
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)
        np.testing.assert_allclose(y, torch.nn.functional.avg_pool2d(xt, 2).numpy(), rtol=1e-6)
        aten = torch.ops.aten
        gxt = aten.avg_pool2d_backward(gt, xt, [2, 2], [2, 2], [0, 0], False, True, None)
        np.testing.assert_allclose(gx, gxt.numpy(), rtol=1e-6)
        tf = lambda: torch.nn.functional.avg_pool2d(xt, 2)  # noqa: E731
        tb = lambda: aten.avg_pool2d_backward(gt, xt, [2, 2], [2, 2], [0, 0], False, True, None)  # noqa: E731
    else:  # each output the mean of its 2x2 window, each input a quarter of its window's gradient
        check_close("avg_pool2d", y, x.reshape(*SHAPE[:2], 14, 2, 14, 2).mean(axis=(3, 5)))
        check_close("avg_pool2d backward", gx, np.repeat(np.repeat(g, 2, axis=2), 2, axis=3) / 4)
    _rows(rows, "avg_pool2d 2x2", fwd, bwd, tf, tb, x.nbytes + y.nbytes, g.nbytes + gx.nbytes)


def _rows(rows, name, fwd, bwd, tf, tb, bytes_f, bytes_b):
    te_f, te_b = timeit(fwd), timeit(bwd)
    tt_f, tt_b = (timeit(tf), timeit(tb)) if tf else (None, None)
    for label, te, tt, nbytes in ((" fwd", te_f, tt_f, bytes_f), (" bwd", te_b, tt_b, bytes_b),
                                  (" fwd+bwd", te_f + te_b, tt_f and tt_f + tt_b, bytes_f + bytes_b)):
        rows.append({"op": name + label, "shape": "x".join(map(str, SHAPE)), "ember_us": te * 1e6,
                     "torch_us": tt and tt * 1e6, "ember_GB/s": nbytes / te / 1e9,
                     ratio_col("torch"): ratio(te, tt)})


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    g = rng.standard_normal(SHAPE[:2] + (14, 14)).astype(np.float32)
    rows = []
    bench_max(rows, x, g)
    bench_avg(rows, x, g)
    notes = [f"float32; ember isa={K.isa()} threads={K.get_num_threads()}; torch "
             f"{torch.__version__ + ' threads=' + str(torch.get_num_threads()) if torch else 'missing'}"]
    report("bench_pool", ["op", "shape", "ember_us", "torch_us", "ember_GB/s", ratio_col("torch")], rows,
           notes + [RATIO_NOTE])


def gpu_rows():
    """ember._cuda vs torch CUDA, 2x2 max pooling forward + backward."""
    g = gpu()
    if g is None:
        return
    cupy, cuda, tc = g
    x = cupy.asarray(np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32))
    y, idx = cupy.empty(SHAPE[:2] + (14, 14), np.float32), cupy.empty(SHAPE[:2] + (14, 14), np.int64)
    gx = cupy.empty_like(x)

    def ember():
        cuda.max_pool2d_forward(x, y, idx, *GEOM, (1, 1))
        cuda.max_pool2d_backward(idx, y, gx, *GEOM, (1, 1))
    ember()
    xc = x.get()
    yc, ic, gxc = np.empty(y.shape, np.float32), np.empty(idx.shape, np.int64), np.empty_like(xc)
    K.max_pool2d_forward(xc, yc, ic, *GEOM, (1, 1))
    K.max_pool2d_backward(ic, yc, gxc, *GEOM, (1, 1))
    for name, got, want in (("max_pool2d", y, yc), ("indices", idx, ic), ("max_pool2d backward", gx, gxc)):
        check_close(name, got, want, rtol=0, atol=0)
    te = gpu_timeit(ember)
    row = {"op": "max_pool2d 2x2 fwd+bwd", "ember_us": te * 1e6}
    if tc is not None:
        xt = tc.as_tensor(x, device="cuda").requires_grad_()

        def torch_fn():
            out = tc.nn.functional.max_pool2d(xt, 2)
            out.backward(out)
        tt = gpu_timeit(torch_fn)
        row.update({"torch_us": tt * 1e6, ratio_col("torch"): ratio(te, tt)})
    report("bench_pool_cuda", ["op", "ember_us", "torch_us", ratio_col("torch")], [row],
           ["float32 on the GPU", RATIO_NOTE])


if __name__ == "__main__":
    main()
    gpu_rows()
