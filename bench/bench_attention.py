"""Benchmark of scaled dot-product attention forward + backward, float32, B=8, H=8, D=64,
T = 128 / 512 / 2048, causal and not: ember-cpu (F.scaled_dot_product_attention, the fused kernel)
vs PyTorch's CPU SDPA (its flash kernel) vs the naive formula softmax(q k^T / sqrt(D)) v in PyTorch
(autograd through the T x T matrix). Then the peak memory of one forward + backward at T = 4096
(B=1, H=4): ember vs the naive formula (ember's numpy device, the plain reference), each measured
as the growth of the peak RSS (VmHWM, reset after a warm-up) in a fresh process. Where a GPU is
usable, the same fwd+bwd shapes on it: ember._cuda's kernels on CuPy arrays vs PyTorch's CUDA SDPA.

Columns in milliseconds; ember/<peer> time < 1: ember faster. ember's output and gradients are
checked against PyTorch's first.

Last, one Transformer-encoder training step vs PyTorch's (bench/transformer_step.py).

Run:  python bench/bench_attention.py [--quick]   (--quick: T = 128 and 512 only, fewer repeats, one
      encoder size)
"""
import os
import subprocess
import sys

import numpy as np

import transformer_step
from common import RATIO_NOTE, check_close, gpu, gpu_timeit, ratio, ratio_col, report, timeit, torch_or_none

import ember as em
from ember.backends import numpy_ref

F = em.nn.functional
torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

B, H, D = 8, 8, 64


def _ember_step(arrays, g, causal):
    def step():
        q, k, v = (em.from_numpy(a).to("cpu") for a in arrays)
        for t in (q, k, v):
            t.requires_grad = True
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        out.backward(g)
        return out, (q.grad, k.grad, v.grad)
    return step


def _torch_step(arrays, g, causal, naive):
    def step():
        q, k, v = (torch.from_numpy(a).requires_grad_() for a in arrays)
        if naive:
            s = q @ k.transpose(-1, -2) / D ** 0.5
            if causal:
                s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).triu(1), float("-inf"))
            out = s.softmax(-1) @ v
        else:
            out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        out.backward(g)
        return out, (q.grad, k.grad, v.grad)
    return step


def bench_time(rows, T, causal, repeat):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((B, H, T, D)).astype(np.float32) for _ in range(3)]
    g = rng.standard_normal((B, H, T, D)).astype(np.float32)
    ember = _ember_step(arrays, em.tensor(g, device="cpu"), causal)
    row = {"T": T, "causal": causal}
    out, grads = ember()
    row["ember ms"] = 1e3 * timeit(ember, repeat=repeat, warmup=1, min_time=0)
    if torch is not None:
        flash = _torch_step(arrays, torch.from_numpy(g), causal, naive=False)
        want, want_grads = flash()
        check_close(f"out T={T}", out, want, rtol=1e-3, atol=1e-5)
        for name, a, b in zip("qkv", grads, want_grads):
            check_close(f"grad {name} T={T}", a, b, rtol=1e-3, atol=1e-4)
        row["torch sdpa ms"] = 1e3 * timeit(flash, repeat=repeat, warmup=1, min_time=0)
        if T <= 512:  # the naive formula's T x T matrices grow to GiBs past this
            row["naive ms"] = 1e3 * timeit(_torch_step(arrays, torch.from_numpy(g), causal, naive=True),
                                           repeat=repeat, warmup=1, min_time=0)
    row[ratio_col("torch sdpa")] = ratio(row["ember ms"], row.get("torch sdpa ms"))
    row[ratio_col("naive")] = ratio(row["ember ms"], row.get("naive ms"))
    rows.append(row)


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_memory_child(device, T):
    """Run in a fresh process: the peak RSS growth (MiB) of one forward + backward on `device`."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((1, 4, T, D)).astype(np.float32) for _ in range(3)]
    ts = [em.tensor(a, device=device, requires_grad=True) for a in arrays]
    g = em.tensor(np.ones((1, 4, T, D), np.float32), device=device)
    small = [em.tensor(a[..., :64, :], device=device, requires_grad=True) for a in arrays]
    F.scaled_dot_product_attention(*small).sum().backward()  # threads, scratch and pools set up first
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak RSS (VmHWM) to the current RSS, past the imports' peaks
    before = _status_kib("VmRSS")
    F.scaled_dot_product_attention(*ts, is_causal=False).backward(g)
    print(max(_status_kib("VmHWM") - before, 0) / 1024)


def bench_memory(rows, T=4096):
    mib = {}
    for device in ("cpu", "numpy"):
        res = subprocess.run([sys.executable, __file__, "--memory-child", device, str(T)], capture_output=True,
                             text=True, check=True)
        mib[device] = float(res.stdout.strip().splitlines()[-1])
    rows.append({"T": T, "ember peak MiB": mib["cpu"], "naive peak MiB": mib["numpy"],
                 "ember/naive memory": mib["cpu"] / mib["numpy"] if mib["numpy"] else None})


def gpu_row(rows, g, T, causal, repeat):
    """One fwd+bwd row on the GPU: ember._cuda's kernels called directly on CuPy arrays (as
    the op calls them), checked on slice 0 against the NumPy reference, vs torch CUDA SDPA."""
    cupy, cuda, tc = g
    host = [np.random.default_rng(0).standard_normal((B * H, T, D)).astype(np.float32) for _ in range(4)]
    q, k, v, gout = (cupy.asarray(a) for a in host)
    out, lse = cupy.empty_like(q), cupy.empty((B * H, T), np.float32)
    gq, gk, gv = (cupy.empty_like(q) for _ in range(3))
    args = (H, D ** -0.5, causal, 0, 0, 0, 0.0, 0)

    def ember():
        cuda.attention_forward(q, k, v, None, out, lse, *args)
        cuda.attention_backward(q, k, v, None, out, lse, gout, gq, gk, gv, *args)
    ember()
    ref = (1, D ** -0.5, causal, (0, 0, 0), 0.0, 0)
    one = [a[:1] for a in host]
    want_out, want_lse = numpy_ref.attention_forward(*one[:3], None, *ref)
    want = numpy_ref.attention_backward(*one[:3], None, want_out, want_lse, one[3], *ref)
    for name, got, w in zip(("out", "grad q", "grad k", "grad v"), (out, gq, gk, gv), (want_out,) + tuple(want)):
        check_close(f"cuda {name} T={T}", got[:1], w, rtol=1e-3, atol=1e-4)
    row = {"T": T, "causal": causal, "ember ms": 1e3 * gpu_timeit(ember, repeat=repeat)}
    if tc is not None:
        qt, kt, vt = (tc.as_tensor(a.reshape(B, H, T, D), device="cuda").requires_grad_() for a in (q, k, v))
        gt = tc.as_tensor(gout.reshape(B, H, T, D), device="cuda")

        def torch_fn():
            tc.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=causal).backward(gt)
        row["torch sdpa ms"] = 1e3 * gpu_timeit(torch_fn, repeat=repeat)
    row[ratio_col("torch sdpa")] = ratio(row["ember ms"], row.get("torch sdpa ms"))
    rows.append(row)


def gpu_rows(quick):
    g = gpu()
    if g is None:
        return
    rows = []
    for T in (128, 512) if quick else (128, 512, 2048):
        for causal in (False, True):
            gpu_row(rows, g, T, causal, repeat=10 if quick else 50)
    report("bench_attention_cuda", ["T", "causal", "ember ms", "torch sdpa ms", ratio_col("torch sdpa")], rows,
           notes=(f"fwd+bwd on the GPU, float32, B={B} H={H} D={D}", RATIO_NOTE))


def main():
    if sys.argv[1:2] == ["--memory-child"]:
        return peak_memory_child(sys.argv[2], int(sys.argv[3]))
    quick = "--quick" in sys.argv
    rows = []
    for T in (128, 512) if quick else (128, 512, 2048):
        for causal in (False, True):
            bench_time(rows, T, causal, repeat=3 if quick or T > 512 else 10)
    cols = ["T", "causal", "ember ms", "torch sdpa ms", "naive ms", ratio_col("torch sdpa"), ratio_col("naive")]
    report("bench_attention", cols, rows, notes=(f"fwd+bwd, float32, B={B} H={H} D={D}", RATIO_NOTE))
    mem = []
    bench_memory(mem)
    report("bench_attention_memory", ["T", "ember peak MiB", "naive peak MiB", "ember/naive memory"], mem,
           notes=("one fwd+bwd, B=1 H=4 D=64: peak RSS growth in a fresh process",))
    transformer_step.report_rows(transformer_step.encoder_rows(transformer_step.SIZES[:1] if quick
                                                               else transformer_step.SIZES))
    gpu_rows(quick)


if __name__ == "__main__":
    main()
