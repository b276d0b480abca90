"""Benchmark of the elementwise loss kernels through nn.functional, forward + backward (CPU).

Columns: ember (device 'cpu': the losses kernels plus the Python glue of reduction='mean')
and torch (CPU) in microseconds for one loss forward and its backward; ember/torch time is
the time ratio (< 1: ember is faster). Every ember loss and gradient is checked against torch first.

Run:  PYTHONPATH=python python bench/bench_losses.py   (OMP_NUM_THREADS=1 for one thread)
"""
import os

import numpy as np

from common import RATIO_NOTE, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
F = em.nn.functional

# name -> (ember fn(x, t), torch fn(x, t), input sampler, target sampler)
LOSSES = {
    "mse_loss": (F.mse_loss, "mse_loss", "normal", "normal"),
    "l1_loss": (F.l1_loss, "l1_loss", "normal", "normal"),
    "smooth_l1_loss": (F.smooth_l1_loss, "smooth_l1_loss", "normal", "normal"),
    "huber_loss": (lambda x, t: F.huber_loss(x, t, delta=1.5),
                   lambda x, t: torch.nn.functional.huber_loss(x, t, delta=1.5), "normal", "normal"),
    "binary_cross_entropy": (F.binary_cross_entropy, "binary_cross_entropy", "prob", "prob"),
    "bce_with_logits": (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits", "normal", "prob"),
}
SHAPES = [(1_000_000,), (64, 10)]


def sample(kind, r, shape):
    return (r.uniform(0.01, 0.99, shape) if kind == "prob" else r.standard_normal(shape)).astype(np.float32)


def main():
    rows = []
    r = np.random.default_rng(0)
    for name, (efn, tfn, xk, tk) in LOSSES.items():
        if isinstance(tfn, str) and torch is not None:
            tfn = getattr(torch.nn.functional, tfn)
        for shape in SHAPES:
            xv, tv = sample(xk, r, shape), sample(tk, r, shape)
            x = em.tensor(xv, device="cpu", requires_grad=True)
            t = em.tensor(tv, device="cpu")

            def run_ember():
                x.grad = None
                efn(x, t).backward()

            row = {"loss": name, "shape": "x".join(map(str, shape))}
            run_ember()
            if torch is not None:
                tx = torch.tensor(xv, requires_grad=True)
                tt = torch.tensor(tv)

                def run_torch():
                    tx.grad = None
                    tfn(tx, tt).backward()
                run_torch()
                np.testing.assert_allclose(float(efn(x, t).item()), float(tfn(tx, tt)), rtol=1e-4)
                np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-9)
                row["torch_us"] = timeit(run_torch) * 1e6
            row["ember_us"] = timeit(run_ember) * 1e6
            if "torch_us" in row:
                row[ratio_col("torch")] = ratio(row["ember_us"], row["torch_us"])
            rows.append(row)
    report("bench_losses", ["loss", "shape", "ember_us", "torch_us", ratio_col("torch")], rows,
           notes=["fwd + bwd, reduction='mean', float32, microseconds (median)", RATIO_NOTE])


if __name__ == "__main__":
    main()
