"""Benchmark of the glue ops with PyTorch's names (device 'cpu', array-module code, no kernels of their own):
einsum, gather, scatter_add, sort, topk, cumsum, norm, each forward + backward in float32.

Columns: ember and torch (CPU) in microseconds for one forward and its backward; ember/torch time is
the time ratio (< 1: ember is faster). Every value and gradient is checked against torch first.

Run:  PYTHONPATH=python python bench/bench_torch_api.py   (OMP_NUM_THREADS=1 for one thread)
"""
import os

import numpy as np

from common import RATIO_NOTE, check_close, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
R = np.random.default_rng(0)
IDX = R.integers(0, 512, (256, 512))

# name -> (shapes of the float inputs, fn(lib, *xs) with lib = em or torch)
CASES = {
    "einsum bij,bjk->bik": ([(32, 64, 64), (32, 64, 64)], lambda m, a, b: m.einsum("bij,bjk->bik", a, b)),
    "einsum ...d,...d->...": ([(64, 128, 64), (128, 64)], lambda m, a, b: m.einsum("...d,...d->...", a, b)),
    "gather dim 1": ([(256, 512)], lambda m, a: a.gather(1, _index(m))),
    "scatter_add dim 1": ([(256, 512), (256, 512)], lambda m, a, s: a.scatter_add(1, _index(m), s)),
    "sort dim -1": ([(256, 512)], lambda m, a: a.sort(-1).values),
    "topk 10": ([(256, 512)], lambda m, a: a.topk(10).values),
    "cumsum dim 1": ([(256, 512)], lambda m, a: a.cumsum(1)),
    "norm dim 1": ([(256, 512)], lambda m, a: a.norm(dim=1)),
}


def _index(m):
    return m.tensor(IDX) if m is torch else em.tensor(IDX, device="cpu")


def main():
    rows = []
    for name, (shapes, fn) in CASES.items():
        arrays = [R.standard_normal(s).astype(np.float32) for s in shapes]
        xs = [em.tensor(a, device="cpu", requires_grad=True) for a in arrays]
        g = R.standard_normal(fn(em, *xs).shape).astype(np.float32)

        def run_ember():
            for x in xs:
                x.grad = None
            fn(em, *xs).backward(g)

        row = {"op": name}
        run_ember()
        if torch is not None:
            ts = [torch.tensor(a, requires_grad=True) for a in arrays]
            tg = torch.tensor(g)

            def run_torch():
                for t in ts:
                    t.grad = None
                fn(torch, *ts).backward(tg)

            run_torch()
            check_close(name, fn(em, *xs), fn(torch, *ts).detach(), rtol=1e-4, atol=1e-4)
            for x, t in zip(xs, ts):
                check_close(name + " grad", x.grad, t.grad, rtol=1e-4, atol=1e-4)
            row["torch_us"] = timeit(run_torch) * 1e6
        row["ember_us"] = timeit(run_ember) * 1e6
        if "torch_us" in row:
            row[ratio_col("torch")] = ratio(row["ember_us"], row["torch_us"])
        rows.append(row)
    report("bench_torch_api", ["op", "ember_us", "torch_us", ratio_col("torch")], rows,
           notes=["fwd + bwd, float32, device 'cpu', microseconds (median)", RATIO_NOTE])


if __name__ == "__main__":
    main()
