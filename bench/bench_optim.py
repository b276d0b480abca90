"""The fused optimizer kernels (csrc/cpu/optim.cpp) vs PyTorch's CPU optimizers (single-tensor
for-loop, the CPU default, and foreach where it runs), one step over the parameters of
an MLP 784-128-64-10 (~109K floats) and over one 4M-float tensor; ember/<peer> time < 1: ember
faster.

    python bench/bench_optim.py
Checks first that one ember step equals one torch step from the same state.
"""
import numpy as np

from common import RATIO_NOTE, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

CASES = {"MLP 784-128-64-10 (6 tensors)": [(128, 784), (128,), (64, 128), (64,), (10, 64), (10,)],
         "one 4M tensor": [(1 << 22,)]}
OPTS = [("SGD momentum", "SGD", dict(lr=0.01, momentum=0.9), 3),
        ("Adam", "Adam", dict(lr=1e-3), 4), ("AdamW", "AdamW", dict(lr=1e-3), 4),
        ("RMSprop", "RMSprop", dict(lr=1e-3), 3), ("Adagrad", "Adagrad", dict(lr=1e-2), 3),
        ("Adadelta", "Adadelta", dict(lr=1.0), 4)]


def setup(lib, name, kw, shapes, rng_seed=0, **extra):
    rng = np.random.default_rng(rng_seed)
    ps = []
    for s in shapes:
        a, g = rng.standard_normal(s).astype(np.float32), rng.standard_normal(s).astype(np.float32)
        if lib is em:
            p = em.nn.Parameter(em.tensor(a, device="cpu"))
            p.grad = em.tensor(g, device="cpu")
        else:
            p = lib.tensor(a, requires_grad=True)
            p.grad = lib.from_numpy(g)
        ps.append(p)
    return ps, getattr(lib.optim, name)(ps, **kw, **extra)


def main():
    torch = torch_or_none()
    rows = []
    for case, shapes in CASES.items():
        n = sum(int(np.prod(s)) for s in shapes)
        for label, name, kw, arrays in OPTS:
            ps, opt = setup(em, name, kw, shapes)
            row = {"case": case, "optimizer": label}
            if torch is not None:
                tps, topt = setup(torch, name, kw, shapes, foreach=False)
                opt.step()
                topt.step()
                for p, tp in zip(ps, tps):
                    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)
                row["torch_loop_us"] = timeit(topt.step, repeat=50) * 1e6
                _, fopt = setup(torch, name, kw, shapes, foreach=True)
                row["torch_foreach_us"] = timeit(fopt.step, repeat=50) * 1e6
            t = timeit(opt.step, repeat=50)
            row["ember_us"] = t * 1e6
            # bytes moved: p read+write, g read, each state array read+write
            row["ember_GB/s"] = n * 4 * (3 + 2 * (arrays - 2)) / t / 1e9
            if torch is not None:
                row[ratio_col("torch_loop")] = ratio(row["ember_us"], row["torch_loop_us"])
                row[ratio_col("torch_foreach")] = ratio(row["ember_us"], row["torch_foreach_us"])
            rows.append(row)
    report("bench_optim", ["case", "optimizer", "ember_us", "ember_GB/s", "torch_loop_us", "torch_foreach_us",
                           ratio_col("torch_loop"), ratio_col("torch_foreach")], rows,
           notes=["one step, float32, ember device cpu", RATIO_NOTE])


if __name__ == "__main__":
    main()
