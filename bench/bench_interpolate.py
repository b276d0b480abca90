"""Benchmark of F.interpolate's kernels, float32: ember-cpu vs PyTorch CPU, forward and backward,
nearest x2 and bilinear x2 (a decoder's upsampling) and a non-integer bilinear downscale.

Columns in microseconds; GB/s counts x read + y written forward and gy read + gx written
backward; ember/torch time < 1: ember faster. Each ember result is checked against torch (or the
NumPy reference) first.

Run:  python bench/bench_interpolate.py   (OMP_NUM_THREADS=2 pins both to two threads)
"""
import os

import numpy as np

from common import RATIO_NOTE, check_close, kernels, ratio, ratio_col, report, timeit, torch_or_none

K = kernels()
torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# (name, input shape, output size, mode, align_corners, scale factor given to the kernel or 0)
CASES = [("nearest x2", (16, 32, 56, 56), (112, 112), "nearest", False, 2.0),
         ("bilinear x2", (16, 32, 56, 56), (112, 112), "bilinear", False, 2.0),
         ("bilinear align_corners x2", (16, 32, 56, 56), (112, 112), "bilinear", True, 0.0),
         ("bilinear 0.7", (16, 32, 56, 56), (39, 39), "bilinear", False, 0.7)]


def _torch_fns(x, g, out, mode, align, scale):
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)
    aten = torch.ops.aten
    sh = sw = scale or None
    if mode == "nearest":
        fwd = lambda: aten.upsample_nearest2d.default(xt, list(out), sh, sw)  # noqa: E731
        bwd = lambda: aten.upsample_nearest2d_backward.default(gt, list(out), list(x.shape), sh, sw)  # noqa: E731
    else:
        fwd = lambda: aten.upsample_bilinear2d.default(xt, list(out), align, sh, sw)  # noqa: E731
        bwd = lambda: aten.upsample_bilinear2d_backward.default(gt, list(out), list(x.shape), align, sh,  # noqa: E731
                                                                sw)
    return fwd, bwd


def bench(rows, name, shape, out, mode, align, scale):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = np.empty(shape[:2] + out, np.float32)
    g = rng.standard_normal(y.shape).astype(np.float32)
    gx = np.empty_like(x)

    def fwd():
        K.interpolate_forward(x, y, mode, align, scale, scale)

    def bwd():
        K.interpolate_backward(g, gx, mode, align, scale, scale)
    fwd()
    bwd()
    tf = tb = None
    if torch is not None:
        tf, tb = _torch_fns(x, g, out, mode, align, scale)
        check_close(name, y, tf().numpy(), rtol=1e-5, atol=1e-5)
        check_close(name + " backward", gx, tb().numpy(), rtol=1e-4, atol=1e-4)
    else:
        from ember.backends.numpy_ref import interpolate_backward, interpolate_forward
        check_close(name, y, interpolate_forward(x, out, mode, align, scale, scale))
        check_close(name + " backward", gx, interpolate_backward(g, x.shape, mode, align, scale, scale))
    for label, e, t, nbytes in ((" fwd", fwd, tf, x.nbytes + y.nbytes), (" bwd", bwd, tb, g.nbytes + gx.nbytes)):
        te = timeit(e)
        tt = timeit(t) if t else None
        rows.append({"op": name + label, "shape": "x".join(map(str, shape)) + "->" + "x".join(map(str, out)),
                     "ember_us": te * 1e6, "torch_us": tt and tt * 1e6, "ember_GB/s": nbytes / te / 1e9,
                     ratio_col("torch"): ratio(te, tt)})


def main():
    rows = []
    for case in CASES:
        bench(rows, *case)
    notes = [f"float32; ember threads={K.get_num_threads()}; torch "
             f"{torch.__version__ + ' threads=' + str(torch.get_num_threads()) if torch else 'missing'}"]
    report("bench_interpolate", ["op", "shape", "ember_us", "torch_us", "ember_GB/s", ratio_col("torch")], rows,
           notes + [RATIO_NOTE])


if __name__ == "__main__":
    main()
