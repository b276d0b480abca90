"""Benchmark of conv2d forward + backward (float32, batch 64): ember-cpu vs PyTorch CPU.

Shapes are the seeds' CNN layers (3x3, padding 1): 1->32 on 28x28, 32->64 on 14x14,
64->128 on 8x8. Columns in milliseconds for forward, backward (grad input, weight, bias)
and both; GFLOP/s counts 2 flops per multiply-add (forward 1x, backward 2x the forward's);
x_torch = torch time / ember time (> 1: ember faster). Each ember result is checked
against torch (or the NumPy reference without torch) first. GPU rows (ember._cuda vs
torch/cuDNN) run when a GPU is usable.

Run:  python bench/bench_conv2d.py   (OMP_NUM_THREADS pins both libraries' threads)
"""
import os

import numpy as np

from common import gpu, gpu_timeit, kernels, report, timeit, torch_or_none

K = kernels()
torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

BATCH = 64
SHAPES = [(1, 32, 28), (32, 64, 14), (64, 128, 8)]  # (C_in, C_out, H = W)
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
        scale = np.abs(exp).max()
        np.testing.assert_allclose(got, exp, rtol=1e-3, atol=1e-4 * scale, err_msg=f"conv2d {name}")


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


def main():
    rng = np.random.default_rng(0)
    rows = []
    for cin, cout, hw in SHAPES:
        x = rng.standard_normal((BATCH, cin, hw, hw)).astype(np.float32)
        w = (rng.standard_normal((cout, cin, 3, 3)) / np.sqrt(9 * cin)).astype(np.float32)
        b = rng.standard_normal(cout).astype(np.float32)
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
                        "x_torch": (tt_f + tt_b) / (te_f + te_b), "ember/torch": (te_f + te_b) / (tt_f + tt_b)})
        rows.append(row)
    notes = [f"float32, batch {BATCH}, 3x3 padding 1; ember isa={K.isa()} threads={K.get_num_threads()}; torch "
             f"{torch.__version__ + ' threads=' + str(torch.get_num_threads()) if torch else 'missing'}"]
    report("bench_conv2d", ["layer", "ember_fwd_ms", "ember_bwd_ms", "ember_ms", "torch_fwd_ms", "torch_bwd_ms",
                            "torch_ms", "ember_GFLOP/s", "ember/torch", "x_torch"], rows, notes)


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
            row.update({"torch_ms": tt * 1e3, "x_torch": tt / te, "torch_tf32_ms": tt32 * 1e3,
                        "x_torch_tf32": tt32 / te})
        rows.append(row)
    report("bench_conv2d_cuda", ["layer", "ember_ms", "torch_ms", "x_torch", "torch_tf32_ms", "x_torch_tf32"], rows,
           ["float32 forward + backward on the GPU; x_torch: speed ratio (> 1: ember faster); torch with TF32 off "
            "(ember's arithmetic), then with PyTorch's default TF32 cuDNN convolutions"])


if __name__ == "__main__":
    main()
    gpu_rows()
