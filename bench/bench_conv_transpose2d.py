"""Benchmark of conv_transpose2d forward and forward + backward (float32): ember-cpu vs PyTorch CPU.

Shapes are DCGAN generators' layers: the 64x64 DCGAN of the paper (noise 100 -> 512 4x4, then
4x4 stride 2 padding 1 layers doubling the image: 512->256 8x8, 256->128 16x16, 128->64
32x32, 64->3 64x64) and examples/dcgan.py's on the 8x8 digits (32 -> 64 2x2, 64->32 4x4, 32->1
8x8). Columns in milliseconds, forward and forward + backward (grad input, weight, bias);
GFLOP/s counts 2 flops per multiply-add (backward 2x the forward's); ember/torch time < 1: ember
faster. Each ember result is checked against torch (or the NumPy reference without torch)
first. The two libraries are timed in alternating rounds (the median of the rounds' medians),
so that a loaded machine slows both alike. GPU rows (ember._cuda vs torch/cuDNN) run when a
GPU is usable.

Run:  python bench/bench_conv_transpose2d.py [--batch N] [--rounds R]   (OMP_NUM_THREADS pins both)
"""
import argparse
import os
import statistics

import numpy as np

from common import RATIO_NOTE, check_close, gpu, gpu_timeit, kernels, ratio, ratio_col, report, timeit, torch_or_none

K = kernels()
torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# (name, C_in, C_out, H = W of the input, kernel, stride, padding)
LAYERS = [("dcgan64 z->512", 100, 512, 1, 4, 1, 0), ("dcgan64 512->256", 512, 256, 4, 4, 2, 1),
          ("dcgan64 256->128", 256, 128, 8, 4, 2, 1), ("dcgan64 128->64", 128, 64, 16, 4, 2, 1),
          ("dcgan64 64->3", 64, 3, 32, 4, 2, 1), ("digits z->64", 32, 64, 1, 2, 1, 0),
          ("digits 64->32", 64, 32, 2, 4, 2, 1), ("digits 32->1", 32, 1, 4, 4, 2, 1)]


def geometry(k, s, p):
    return (s, s), (p, p), (1, 1), 1


def out_size(hw, k, s, p):
    return (hw - 1) * s - 2 * p + k


def make_layer(rng, batch, cin, cout, hw, k):
    x = rng.standard_normal((batch, cin, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((cin, cout, k, k)) / np.sqrt(k * k * cin)).astype(np.float32)
    return x, w, rng.standard_normal(cout).astype(np.float32)


def ember_fns(x, w, b, k, s, p):
    ho = out_size(x.shape[2], k, s, p)
    y = np.empty((x.shape[0], w.shape[1], ho, ho), np.float32)
    gx, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    args = geometry(k, s, p)

    def fwd():
        K.conv_transpose2d_forward(x, w, b, y, *args)

    def both():
        K.conv_transpose2d_forward(x, w, b, y, *args)
        K.conv_transpose2d_backward(x, w, g, gx, gw, gb, *args)
    return fwd, both, (y, gx, gw, gb, g)


def check(outs, x, w, b, k, s, p):
    y, gx, gw, gb, g = outs
    if torch is not None:
        xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
        yt = torch.nn.functional.conv_transpose2d(xt, wt, bt, s, p)
        yt.backward(torch.from_numpy(g))
        want = [yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()]
    else:
        from ember.backends.numpy_ref import conv_transpose2d_backward, conv_transpose2d_forward
        x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, w, b, g))
        a = geometry(k, s, p)
        want = [conv_transpose2d_forward(x64, w64, b64, *a, y.shape[2:]), *conv_transpose2d_backward(x64, w64, g64, *a)]
    for name, got, exp in zip(("y", "grad_x", "grad_w", "grad_b"), (y, gx, gw, gb), want):
        check_close(f"conv_transpose2d {name}", got, exp, rtol=1e-3, atol=1e-4 * np.abs(exp).max())


def torch_fns(x, w, b, g, k, s, p):
    xt, wt, bt = (torch.from_numpy(a.copy()) for a in (x, w, b))
    gt = torch.from_numpy(g)
    aten = torch.ops.aten

    def fwd():
        return torch.nn.functional.conv_transpose2d(xt, wt, bt, s, p)

    def both():  # the forward, then the one call autograd makes for its backward
        fwd()
        return aten.convolution_backward(gt, xt, wt, [wt.shape[1]], [s, s], [p, p], [1, 1], True, [0, 0], 1,
                                         [True, True, True])
    return fwd, both


def interleaved(fns, rounds):
    """Median seconds of each fn, timed in alternating rounds (median of the rounds' medians)."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for t, fn in zip(times, fns):
            t.append(timeit(fn, repeat=5, warmup=1, min_time=0.05))
    return [statistics.median(t) for t in times]


def main(batch, rounds):
    rng = np.random.default_rng(0)
    rows = []
    for name, cin, cout, hw, k, s, p in LAYERS:
        x, w, b = make_layer(rng, batch, cin, cout, hw, k)
        fwd, both, outs = ember_fns(x, w, b, k, s, p)
        both()
        check(outs, x, w, b, k, s, p)
        ho = out_size(hw, k, s, p)
        flops = 2.0 * batch * cin * hw * hw * cout * k * k
        row = {"layer": f"{name} {hw}x{hw}->{ho}x{ho}"}
        if torch is not None:
            tf, tboth = torch_fns(x, w, b, outs[4], k, s, p)
            te_f, tt_f, te_b, tt_b = interleaved([fwd, tf, both, tboth], rounds)
            row.update({"torch_fwd_ms": tt_f * 1e3, "torch_fwd+bwd_ms": tt_b * 1e3,
                        ratio_col("torch") + " fwd": ratio(te_f, tt_f),
                        ratio_col("torch") + " fwd+bwd": ratio(te_b, tt_b)})
        else:
            te_f, te_b = interleaved([fwd, both], rounds)
        row.update({"ember_fwd_ms": te_f * 1e3, "ember_fwd+bwd_ms": te_b * 1e3,
                    "ember_GFLOP/s": 3 * flops / te_b / 1e9, "ember_us": te_b * 1e6})  # ember_us: run_all.py's summary
        rows.append(row)
    notes = [f"float32, batch {batch}, {rounds} alternating rounds; ember isa={K.isa()} threads={K.get_num_threads()}; "
             f"torch {torch.__version__ + ' threads=' + str(torch.get_num_threads()) if torch else 'missing'}"]
    report("bench_conv_transpose2d",
           ["layer", "ember_fwd_ms", "torch_fwd_ms", ratio_col("torch") + " fwd", "ember_fwd+bwd_ms",
            "torch_fwd+bwd_ms", ratio_col("torch") + " fwd+bwd", "ember_GFLOP/s"], rows, notes + [RATIO_NOTE])


def gpu_rows(batch):
    """ember._cuda vs torch CUDA (cuDNN), forward + backward, float32; checked against ember's CPU kernels."""
    g = gpu()
    if g is None:
        return
    cupy, cuda, tc = g
    rng = np.random.default_rng(0)
    rows = []
    for name, cin, cout, hw, k, s, p in LAYERS:
        x, w, b = make_layer(rng, batch, cin, cout, hw, k)
        _, cpu_both, want = ember_fns(x, w, b, k, s, p)
        cpu_both()
        xd, wd, bd, gd = (cupy.asarray(a) for a in (x, w, b, want[4]))
        yd = cupy.empty(want[0].shape, np.float32)
        gxd, gwd, gbd = cupy.empty_like(xd), cupy.empty_like(wd), cupy.empty_like(bd)
        args = geometry(k, s, p)

        def ember():
            cuda.conv_transpose2d_forward(xd, wd, bd, yd, *args)
            cuda.conv_transpose2d_backward(xd, wd, gd, gxd, gwd, gbd, *args)
        ember()
        for part, got, exp in zip(("y", "grad_x", "grad_w", "grad_b"), (yd, gxd, gwd, gbd), want[:4]):
            check_close(f"conv_transpose2d cuda {part}", got, exp, rtol=1e-3, atol=1e-4 * np.abs(exp).max())
        te = gpu_timeit(ember)
        row = {"layer": f"{name} {hw}x{hw}", "ember_ms": te * 1e3}
        if tc is not None:
            xt, wt, bt = (tc.as_tensor(a, device="cuda").requires_grad_() for a in (xd, wd, bd))
            gt = tc.as_tensor(gd, device="cuda")

            def torch_fn():
                tc.nn.functional.conv_transpose2d(xt, wt, bt, s, p).backward(gt)
            tt = gpu_timeit(torch_fn)
            row.update({"torch_ms": tt * 1e3, ratio_col("torch"): ratio(te, tt)})
        rows.append(row)
    report("bench_conv_transpose2d_cuda", ["layer", "ember_ms", "torch_ms", ratio_col("torch")], rows,
           [f"float32 forward + backward on the GPU, batch {batch}; torch with TF32 off (ember's arithmetic)",
            RATIO_NOTE])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    main(opts.batch, opts.rounds)
    gpu_rows(opts.batch)
