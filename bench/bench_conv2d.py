"""Benchmark of conv2d forward + backward (float32, batch 64): ember-cpu vs PyTorch CPU.

Shapes are the seeds' CNN layers (3x3, padding 1): 1->32 on 28x28, 32->64 on 14x14,
64->128 on 8x8. Columns in milliseconds for forward, backward (grad input, weight, bias)
and both; GFLOP/s counts 2 flops per multiply-add (forward 1x, backward 2x the forward's);
ember/torch time < 1: ember faster. Each ember result is checked against torch (or the NumPy
reference without torch) first; the GPU rows against ember's CPU kernels. GPU rows (ember._cuda
vs torch/cuDNN) run when a GPU is usable.

--paths times each CPU path (EMBER_CONV_PATH: winograd, direct, packed, im2col, flipped;
csrc/cpu/conv2d.cpp's choose_path) against the plan's own choice ("auto") on the shapes its
thresholds were chosen from, each result checked first: a path faster than "auto" on a shape
means a threshold to revisit. --batch N sets the batch (default 64).

Run:  python bench/bench_conv2d.py [--paths] [--batch N]   (OMP_NUM_THREADS pins both libraries' threads)
"""
import argparse
import os

import numpy as np

from common import RATIO_NOTE, check_close, gpu, gpu_timeit, kernels, ratio, ratio_col, report, timeit, torch_or_none

K = kernels()
torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

BATCH = 64
SHAPES = [(1, 32, 28), (32, 64, 14), (64, 128, 8)]  # (C_in, C_out, H = W)
# The shapes choose_path's thresholds were chosen from (3x3, padding 1): Winograd from 8x8 to
# 56x56; direct rows (8x8 too narrow; 16x16 half a tile short; 13 and 32 wide fill theirs);
# packed against im2col (1 input channel); flipped against gcol (C > K, K = 2C, K = 2C >= 128).
PATH_SHAPES = [(1, 32, 28), (16, 32, 28), (32, 64, 14), (64, 32, 14), (64, 128, 8), (64, 128, 16), (32, 32, 13),
               (32, 32, 32), (32, 64, 56)]
PATHS = ["auto", "winograd", "direct", "packed", "im2col", "flipped"]
GEOM = dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1)


def ember_fns(x, w, b):
    y = np.empty((x.shape[0], w.shape[0]) + x.shape[2:], np.float32)
    gx, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    args = (GEOM["stride"], GEOM["padding"], GEOM["dilation"], GEOM["groups"])

    def fwd():
        K.conv2d_forward(x, w, b, y, *args)

    def bwd():
        K.conv2d_backward(x, w, g, gx, gw, gb, *args)
    return fwd, bwd, (y, gx, gw, gb, g)


def check(outs, x, w, b):
    y, gx, gw, gb, g = outs
    if torch is not None:
        xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
        yt = torch.nn.functional.conv2d(xt, wt, bt, padding=1)
        yt.backward(torch.from_numpy(g))
        want = [yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()]
    else:
        from ember.backends.numpy_ref import conv2d_backward, conv2d_forward
        x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, w, b, g))
        a = ((1, 1), (1, 1), (1, 1), 1)
        want = [conv2d_forward(x64, w64, b64, *a, y.shape[2:]), *conv2d_backward(x64, w64, g64, *a)]
    for name, got, exp in zip(("y", "grad_x", "grad_w", "grad_b"), (y, gx, gw, gb), want):
        check_close(f"conv2d {name}", got, exp, rtol=1e-3, atol=1e-4 * np.abs(exp).max())


def torch_fns(x, w, b, g):
    xt, wt, bt = (torch.from_numpy(a.copy()) for a in (x, w, b))
    gt = torch.from_numpy(g)
    aten = torch.ops.aten

    def fwd():
        return torch.nn.functional.conv2d(xt, wt, bt, padding=1)

    def bwd():  # the one call autograd makes for conv2d's backward
        return aten.convolution_backward(gt, xt, wt, [wt.shape[0]], [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                                         [True, True, True])
    return fwd, bwd


def layer(rng, cin, cout, hw):
    """x (BATCH, cin, hw, hw), w (cout, cin, 3, 3) scaled to unit-variance outputs, b."""
    x = rng.standard_normal((BATCH, cin, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((cout, cin, 3, 3)) / np.sqrt(9 * cin)).astype(np.float32)
    return x, w, rng.standard_normal(cout).astype(np.float32)


def main():
    rng = np.random.default_rng(0)
    rows = []
    for cin, cout, hw in SHAPES:
        x, w, b = layer(rng, cin, cout, hw)
        fwd, bwd, outs = ember_fns(x, w, b)
        fwd()
        bwd()
        check(outs, x, w, b)
        flops = 2.0 * BATCH * cout * hw * hw * cin * 9
        te_f, te_b = timeit(fwd), timeit(bwd)
        row = {"layer": f"{cin}->{cout} {hw}x{hw}", "ember_fwd_ms": te_f * 1e3, "ember_bwd_ms": te_b * 1e3,
               "ember_ms": (te_f + te_b) * 1e3, "ember_GFLOP/s": 3 * flops / (te_f + te_b) / 1e9,
               "ember_us": (te_f + te_b) * 1e6}  # JSON only: bench/run_all.py's summary column
        if torch is not None:
            tf, tb = torch_fns(x, w, b, outs[4])
            tt_f, tt_b = timeit(tf), timeit(tb)
            row.update({"torch_fwd_ms": tt_f * 1e3, "torch_bwd_ms": tt_b * 1e3, "torch_ms": (tt_f + tt_b) * 1e3,
                        ratio_col("torch"): ratio(te_f + te_b, tt_f + tt_b)})
        rows.append(row)
    notes = [f"float32, batch {BATCH}, 3x3 padding 1; ember isa={K.isa()} threads={K.get_num_threads()}; torch "
             f"{torch.__version__ + ' threads=' + str(torch.get_num_threads()) if torch else 'missing'}"]
    report("bench_conv2d", ["layer", "ember_fwd_ms", "ember_bwd_ms", "ember_ms", "torch_fwd_ms", "torch_bwd_ms",
                            "torch_ms", "ember_GFLOP/s", ratio_col("torch")], rows, notes + [RATIO_NOTE])


def paths_main():
    """Each forced path's forward and backward time on PATH_SHAPES (result checked first)."""
    rng = np.random.default_rng(0)
    rows = []
    for cin, cout, hw in PATH_SHAPES:
        x, w, b = layer(rng, cin, cout, hw)
        row = {"layer": f"{cin}->{cout} {hw}x{hw}"}
        for path in PATHS:
            os.environ["EMBER_CONV_PATH"] = "" if path == "auto" else path
            fwd, bwd, outs = ember_fns(x, w, b)
            fwd()
            bwd()
            check(outs, x, w, b)
            row[path + "_fwd"], row[path + "_bwd"] = timeit(fwd) * 1e3, timeit(bwd) * 1e3
        os.environ.pop("EMBER_CONV_PATH")
        rows.append(row)
    columns = ["layer"] + [f"{p}_{part}" for part in ("fwd", "bwd") for p in PATHS]
    report("bench_conv2d_paths", columns, rows,
           [f"ms, float32, batch {BATCH}, 3x3 padding 1; ember isa={K.isa()} threads={K.get_num_threads()}; a path "
            "runs where it fits (else the plan's choice): forward winograd|direct|packed|im2col, input gradient "
            "flipped|im2col (gcol), weight gradient winograd|packed|im2col"])


def cpu_conv2d(x, w, b):
    """y, gx, gw, gb from ember's CPU kernels, the gradients for gy = y (as the GPU rows run)."""
    y = np.empty((x.shape[0], w.shape[0]) + x.shape[2:], np.float32)
    gx, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    args = ((1, 1), (1, 1), (1, 1), 1)
    K.conv2d_forward(x, w, b, y, *args)
    K.conv2d_backward(x, w, y, gx, gw, gb, *args)
    return y, gx, gw, gb


def gpu_rows():
    """ember._cuda vs torch CUDA (cuDNN), forward + backward, float32."""
    g = gpu()
    if g is None:
        return
    cupy, cuda, tc = g
    rng = np.random.default_rng(0)
    rows = []
    for cin, cout, hw in SHAPES:
        x = cupy.asarray(rng.standard_normal((BATCH, cin, hw, hw), dtype=np.float32))
        w = cupy.asarray(rng.standard_normal((cout, cin, 3, 3), dtype=np.float32))
        b = cupy.asarray(rng.standard_normal(cout, dtype=np.float32))
        y = cupy.empty((BATCH, cout, hw, hw), np.float32)
        gx, gw, gb = cupy.empty_like(x), cupy.empty_like(w), cupy.empty_like(b)
        args = ((1, 1), (1, 1), (1, 1), 1)

        def ember():
            cuda.conv2d_forward(x, w, b, y, *args)
            cuda.conv2d_backward(x, w, y, gx, gw, gb, *args)
        ember()
        want = cpu_conv2d(x.get(), w.get(), b.get())
        for name, got, exp in zip(("y", "grad_x", "grad_w", "grad_b"), (y, gx, gw, gb), want):
            check_close(f"conv2d cuda {name}", got, exp, rtol=1e-3, atol=1e-4 * np.abs(exp).max())
        te = gpu_timeit(ember)
        row = {"layer": f"{cin}->{cout} {hw}x{hw}", "ember_ms": te * 1e3}
        if tc is not None:
            xt, wt, bt = (tc.as_tensor(a, device="cuda").requires_grad_() for a in (x, w, b))

            def torch_fn():
                out = tc.nn.functional.conv2d(xt, wt, bt, padding=1)
                out.backward(out)
            tt = gpu_timeit(torch_fn)
            tc.backends.cudnn.allow_tf32 = True  # PyTorch's default for cuDNN convolutions
            tt32 = gpu_timeit(torch_fn)
            tc.backends.cudnn.allow_tf32 = False
            row.update({"torch_ms": tt * 1e3, ratio_col("torch"): ratio(te, tt), "torch_tf32_ms": tt32 * 1e3,
                        ratio_col("torch_tf32"): ratio(te, tt32)})
        rows.append(row)
    report("bench_conv2d_cuda", ["layer", "ember_ms", "torch_ms", ratio_col("torch"), "torch_tf32_ms",
                                 ratio_col("torch_tf32")], rows,
           ["float32 forward + backward on the GPU; torch with TF32 off (ember's arithmetic), then with PyTorch's "
            "default TF32 cuDNN convolutions", RATIO_NOTE])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", action="store_true", help="time every CPU path on PATH_SHAPES")
    parser.add_argument("--batch", type=int, default=BATCH)
    opts = parser.parse_args()
    BATCH = opts.batch
    if opts.paths:
        paths_main()
    else:
        main()
        gpu_rows()
