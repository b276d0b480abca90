"""The host memory pool (ember._cpu.pool_empty) against NumPy's allocator, per block size: the
time to get an array and write it once (fill), then read it (sum), as a kernel's output is used.

  numpy        np.empty each time (glibc: big blocks are fresh mmaps, so every page faults)
  pool miss    a freshly mapped block each time (the cache emptied first), MADV_HUGEPAGE off / on
  pool hit     the same block back from the cache, MADV_HUGEPAGE off / on (the advice is given
               when a block is mapped, so the hit rows measure the TLB's side only)

The "on" columns decide the pool's hugepage threshold (pool_set_hugepage_min): the size from which
the advice pays. Columns in microseconds, and GB/s of the bytes written and read.

    python bench/bench_memory_pool.py
"""
import numpy as np

from common import kernels, report, timeit

K = kernels()
SIZES_MB = (0.25, 1, 2, 4, 8, 16, 64)
NEVER = (1 << 64) - 1


def use(a):
    a.fill(1.0)
    return float(a.sum())


def pool_case(n, hugepage, miss):
    K.pool_set_hugepage_min(0 if hugepage else NEVER)
    K.pool_empty_cache()  # the hit rows reuse a block mapped under this setting

    def run():
        if miss:
            K.pool_empty_cache()
        use(K.pool_empty((n,), np.float32))
    return run


def main():
    default = K.pool_hugepage_min()
    rows = []
    try:
        for mb in SIZES_MB:
            n = int(mb * (1 << 20)) // 4
            row = {"MB": mb}
            row["numpy_us"] = timeit(lambda: use(np.empty(n, np.float32)), repeat=30) * 1e6
            for name, hp, miss in [("miss_us", False, True), ("miss_huge_us", True, True),
                                   ("hit_us", False, False), ("hit_huge_us", True, False)]:
                row[name] = timeit(pool_case(n, hp, miss), repeat=30) * 1e6
            row["hit GB/s"] = 2 * 4 * n / row["hit_us"] / 1e3
            rows.append(row)
    finally:
        K.pool_set_hugepage_min(default)
        K.pool_empty_cache()
    report("bench_memory_pool", ["MB", "numpy_us", "miss_us", "miss_huge_us", "hit_us", "hit_huge_us", "hit GB/s"],
           rows, notes=[f"the pool advises MADV_HUGEPAGE from {default / (1 << 20):g} MB up",
                        "fill + sum of a float32 array; lower is better"])


if __name__ == "__main__":
    main()
