"""Benchmark of the cast kernels: float32 <-> bfloat16 / float16 through Tensor.to (CPU).

Columns: GB/s moved (bytes read + written) by ember (device 'cpu': the cast kernels at the
active ISA level, which uses AVX512-BF16 / F16C where the CPU has them), by NumPy/ml_dtypes'
astype and by torch's .to, and the ember/peer time ratios. Results are checked bit for bit
against astype first.

Run:  PYTHONPATH=python python bench/bench_cast.py   (OMP_NUM_THREADS=1 for one thread)
"""
import os

import ml_dtypes
import numpy as np

from common import RATIO_NOTE, kernels, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

torch = torch_or_none()
if os.environ.get("OMP_NUM_THREADS"):
    em.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    if torch is not None:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

PAIRS = [("float32", "bfloat16"), ("bfloat16", "float32"), ("float32", "float16"), ("float16", "float32")]
SIZES = [4096, 1 << 22]


def _np(name):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def main():
    rows = []
    r = np.random.default_rng(0)
    for src, dst in PAIRS:
        for n in SIZES:
            a = r.standard_normal(n).astype(np.float32).astype(_np(src))
            x = em.tensor(a, device="cpu")
            got = x.to(_np(dst)).numpy()
            np.testing.assert_array_equal(got.view(np.uint8), a.astype(_np(dst)).view(np.uint8))
            nbytes = a.nbytes + got.nbytes
            row = {"cast": f"{src}->{dst}", "n": n, "isa": kernels().isa(), "threads": em.get_num_threads()}
            ember_s = timeit(lambda: x.to(_np(dst)))
            row["ember_GB/s"] = nbytes / ember_s / 1e9
            numpy_s = timeit(lambda: a.astype(_np(dst)))
            row["numpy_GB/s"] = nbytes / numpy_s / 1e9
            row[ratio_col("numpy")] = ratio(ember_s, numpy_s)
            if torch is not None:
                t = torch.from_numpy(a.view(np.int16)).view(getattr(torch, src)) if src != "float32" else \
                    torch.from_numpy(a)
                torch_s = timeit(lambda: t.to(getattr(torch, dst)))
                row["torch_GB/s"] = nbytes / torch_s / 1e9
                row[ratio_col("torch")] = ratio(ember_s, torch_s)
            rows.append(row)
    report("bench_cast", ["cast", "n", "isa", "threads", "ember_GB/s", "numpy_GB/s", "torch_GB/s", ratio_col("numpy"),
                          ratio_col("torch")], rows,
           notes=["GB/s = (bytes read + bytes written) / median time; ember includes Tensor.to's Python layer",
                  RATIO_NOTE])


if __name__ == "__main__":
    main()
