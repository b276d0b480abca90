"""Matmul throughput: ember's packed GEMM against NumPy (OpenBLAS) and torch.

fp32 square sizes and a batched case, through the raw kernel entry point
`_cpu.matmul_forward(a, b, out)` with 3-D arrays. Each result is checked
against NumPy in float64 before it is timed.

Run (this machine may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which slow
NumPy; unset them for a fair peer):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_matmul.py
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RATIO_NOTE, gpu, gpu_timeit, kernels, ratio, ratio_col, report, timeit, torch_or_none

SIZES = [16, 32, 48, 64, 128, 256, 512, 1024, 2048]
BATCHED = [(32, 64, 64, 64), (8, 256, 256, 256)]  # (batch, M, N, K)
# The GEMMs of an LSTM(28 -> 128), T = 28, batch 64 (bench_rnn.py), as it runs them:
# (label, M, N, K, A stored transposed, B stored transposed).
LSTM = [("lstm x@W_ih^T", 1792, 512, 28, False, True),   # input projection, K = 28
        ("lstm dG@W_ih", 1792, 28, 512, False, False),   # dx, N = 28
        ("lstm dG^T@x", 512, 28, 1792, True, False)]     # dW_ih, N = 28, A transposed


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return ", ".join(f"{i['internal_api']} {i.get('architecture', '?')} x{i['num_threads']}"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        return "threadpoolctl not installed"


def check(ember_out, a, b):
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    scale = max(np.abs(ref).max(), 1.0)
    err = np.abs(ember_out - ref).max() / scale
    if err > 1e-4:
        raise SystemExit(f"matmul result wrong: max relative error {err:.2e} for {a.shape} @ {b.shape}")


def settle():
    # ember (libgomp), OpenBLAS and torch each keep spinning threads for a
    # while after a call (OpenBLAS ~0.1 s); on few cores they would steal the
    # next peer's CPU.
    time.sleep(0.2)


def bench_case(k, torch, label, batch, m, n, kk, repeat, ta=False, tb=False):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, kk, m) if ta else (batch, m, kk), dtype=np.float32)
    b = rng.standard_normal((batch, n, kk) if tb else (batch, kk, n), dtype=np.float32)
    c = np.empty((batch, m, n), np.float32)
    k.matmul_forward(a, b, c, ta, tb, False)
    a_op, b_op = (a.transpose(0, 2, 1) if ta else a), (b.transpose(0, 2, 1) if tb else b)
    check(c, a_op, b_op)
    # NumPy's fastest call: 2-D operands for batch 1, preallocated out.
    a_np, b_np, c_np = (a_op[0], b_op[0], c[0]) if batch == 1 else (a_op, b_op, c)
    settle()
    t_ember = timeit(lambda: k.matmul_forward(a, b, c, ta, tb, False), repeat=repeat)
    settle()
    t_numpy = timeit(lambda: np.matmul(a_np, b_np, out=c_np), repeat=repeat)
    row = {"case": label}
    t_torch = None
    if torch is not None:
        t_a, t_b, t_c = (torch.from_numpy(x) for x in (a_np, b_np, c_np))
        settle()
        t_torch = timeit(lambda: torch.matmul(t_a, t_b, out=t_c), repeat=repeat)
    flops = 2.0 * batch * m * n * kk
    row.update({
        "ember_us": t_ember * 1e6,
        "numpy_us": t_numpy * 1e6,
        "torch_us": None if t_torch is None else t_torch * 1e6,
        "ember_GFLOPs": flops / t_ember / 1e9,
        "numpy_GFLOPs": flops / t_numpy / 1e9,
        ratio_col("numpy"): ratio(t_ember, t_numpy),
        ratio_col("torch"): ratio(t_ember, t_torch),
    })
    return row


GPU_SIZES = [256, 1024, 4096]


def gpu_case(cupy, cuda, torch, size, dtype=np.float32):
    """ember._cuda vs CuPy (cuBLAS) vs torch CUDA, square size^3."""
    rng = np.random.default_rng(0)
    a = cupy.asarray(rng.standard_normal((1, size, size)).astype(dtype))
    b = cupy.asarray(rng.standard_normal((1, size, size)).astype(dtype))
    c = cupy.empty((1, size, size), dtype)
    cuda.matmul_forward(a, b, c)
    check(cupy.asnumpy(c), cupy.asnumpy(a), cupy.asnumpy(b))
    t_ember = gpu_timeit(lambda: cuda.matmul_forward(a, b, c))
    t_cublas = gpu_timeit(lambda: cupy.matmul(a[0], b[0], out=c[0]))
    t_torch = None
    if torch is not None:
        ta, tb, tc = (torch.as_tensor(x[0], device="cuda") for x in (a, b, c))
        t_torch = gpu_timeit(lambda: torch.matmul(ta, tb, out=tc))
    flops = 2.0 * size ** 3
    return {"case": f"cuda {size}^3", "ember_us": t_ember * 1e6, "cublas_us": t_cublas * 1e6,
            "torch_us": None if t_torch is None else t_torch * 1e6, "ember_GFLOPs": flops / t_ember / 1e9,
            "cublas_GFLOPs": flops / t_cublas / 1e9, ratio_col("cublas"): ratio(t_ember, t_cublas),
            ratio_col("torch"): ratio(t_ember, t_torch)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per case (median)")
    parser.add_argument("--sizes", type=int, nargs="*", default=SIZES)
    args = parser.parse_args()
    k = kernels()
    torch = torch_or_none()
    rows = [bench_case(k, torch, f"{s}^3", 1, s, s, s, args.repeat) for s in args.sizes]
    rows += [bench_case(k, torch, f"{b}x{m}x{n}x{kk}", b, m, n, kk, args.repeat) for b, m, n, kk in BATCHED]
    rows += [bench_case(k, torch, label, 1, m, n, kk, args.repeat, ta, tb) for label, m, n, kk, ta, tb in LSTM]
    columns = ["case", "ember_us", "numpy_us", "torch_us", "ember_GFLOPs", "numpy_GFLOPs", ratio_col("numpy"),
               ratio_col("torch")]
    notes = [f"fp32, ember isa {k.isa()}, threads: OMP {os.environ.get('OMP_NUM_THREADS', 'default')}; "
             f"BLAS: {blas_info()}" + (f"; torch {torch.__version__} x{torch.get_num_threads()}" if torch else ""),
             RATIO_NOTE]
    report("bench_matmul", columns, rows, notes)
    g = gpu()
    if g is not None:
        gpu_rows = [gpu_case(*g, s) for s in GPU_SIZES]
        report("bench_matmul_cuda", ["case", "ember_us", "cublas_us", "torch_us", "ember_GFLOPs", "cublas_GFLOPs",
                                     ratio_col("cublas"), ratio_col("torch")], gpu_rows,
               ["fp32 on the GPU; target ember/cublas time <= 1.25 at 4096^3", RATIO_NOTE])


if __name__ == "__main__":
    main()
