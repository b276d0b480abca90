"""Benchmark of ember.distributed on this machine: all-reduce bandwidth against message size (ember,
raw mpi4py and PyTorch's gloo, in one run), and one DDP training step on 1 and 2 ranks split into
compute and exposed communication (the wait at the end of backward that overlap did not hide).

Columns (all-reduce, float32, 2 ranks): us per all-reduce (median, slowest rank); GB/s is the bus
bandwidth 2(p-1)/p * bytes / time (the ring all-reduce's traffic per rank); x_mpi4py = ember's
bandwidth / raw mpi4py's. The step table: ms per step (forward, backward, SGD step) for a per-rank
batch; exposed = time backward spent waiting for the all-reduces after its last gradient. A least-
squares fit of the raw mpi4py times to  t = latency + 2(p-1)/p * bytes / bandwidth  ends the report.

Run:  PYTHONPATH=python python bench/bench_distributed.py      (starts mpiexec itself, one thread a rank)
"""
import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
SIZES = [4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20]
BATCH, STEPS, WARMUP = 64, 12, 3


def _timed(fns, reps, comm):
    """{name: median seconds} of each fn() (each run after a barrier; the slowest rank's). The peers
    take turns within each repeat, so a machine shared with other work slows them alike."""
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    out = {k: comm.allreduce(float(np.median(v)), op=_mpi().MAX) for k, v in times.items()}
    if "mpi4py" in times:
        out["mpi4py_best"] = comm.allreduce(float(np.min(times["mpi4py"])), op=_mpi().MAX)
    return out


def _mpi():
    from mpi4py import MPI
    return MPI


def _torch_gloo(rank, size):
    try:
        import torch
        import torch.distributed as td
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29533")
        td.init_process_group("gloo", rank=rank, world_size=size)
        torch.set_num_threads(1)
        return torch, td
    except (ImportError, RuntimeError, ValueError) as e:  # no torch, or gloo unusable: no gloo column
        print(f"torch gloo unavailable: {e}", file=sys.stderr)
        return None, None


def allreduce_rows(size):
    import ember as em
    import ember.distributed as dist
    comm, rank, MPI = dist.default_group().comm, dist.get_rank(), _mpi()
    torch, td = _torch_gloo(rank, size)
    rows = []
    for nbytes in SIZES:
        n = nbytes // 4
        reps = 40 if nbytes <= 1 << 20 else 10
        a = np.ones(n, dtype=np.float32)
        t = em.from_numpy(a)
        dist.all_reduce(t)
        assert a[0] == size, "ember's all-reduce gave a wrong sum"
        a[...] = 1
        fns = {"ember": functools.partial(dist.all_reduce, t),
               "mpi4py": functools.partial(comm.Allreduce, MPI.IN_PLACE, [a, MPI.FLOAT], MPI.SUM)}
        row = {"bytes": nbytes, **{f"{k}_us": v for k, v in _timed(fns, reps, comm).items()}}
        if td is not None:  # timed on its own: gloo's helper threads would steal a core from the next turn
            row["gloo_us"] = _timed({"gloo": functools.partial(td.all_reduce, torch.ones(n))}, reps, comm)["gloo"]
        factor = 2 * (size - 1) / size * nbytes / 1e9
        for k in ("ember", "mpi4py", "gloo"):
            if f"{k}_us" in row:
                row[f"{k}_GBps"] = factor / row[f"{k}_us"]
                row[f"{k}_us"] *= 1e6
        row["mpi4py_best_us"] *= 1e6
        row["x_mpi4py"] = row["ember_GBps"] / row["mpi4py_GBps"]
        if "gloo_GBps" in row:
            row["x_gloo"] = row["ember_GBps"] / row["gloo_GBps"]
        rows.append(row)
    if td is not None:
        td.destroy_process_group()
    return rows


def step_rows(size):
    import ember as em
    import ember.distributed as dist
    from ember import nn
    from ember.cli import _model
    comm = dist.default_group().comm
    rows = []
    for kind, shape in (("cnn", (1, 8, 8)), ("lstm", (8, 8))):
        em.manual_seed(0)
        module = _model(kind, shape[1:] if kind == "cnn" else shape, 10)
        model = nn.parallel.DistributedDataParallel(module) if size > 1 else module
        opt = em.optim.SGD(model.parameters(), lr=0.01)
        rng = np.random.default_rng(dist.get_rank())
        x = em.tensor(rng.standard_normal((BATCH,) + shape).astype(np.float32))
        y = em.tensor(rng.integers(0, 10, BATCH))
        loss_fn = nn.CrossEntropyLoss()
        steps, exposed = [], []
        for i in range(WARMUP + STEPS):
            comm.Barrier()
            t0 = time.perf_counter()
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
            if i >= WARMUP:
                steps.append(time.perf_counter() - t0)
                exposed.append(model._reducer.wait_s if size > 1 else 0.0)
        step_s = comm.allreduce(float(np.median(steps)), op=_mpi().MAX)
        exposed_s = comm.allreduce(float(np.median(exposed)), op=_mpi().MAX)
        grad_bytes = sum(p.numel() * 4 for p in module.parameters())
        rows.append({"model": kind, "ranks": size, "grad_KB": grad_bytes / 1024, "step_ms": step_s * 1e3,
                     "compute_ms": (step_s - exposed_s) * 1e3, "exposed_ms": exposed_s * 1e3,
                     "exposed_%": 100 * exposed_s / step_s})
    return rows


def worker(out):
    import ember as em
    import ember.distributed as dist
    em.set_num_threads(1)
    dist.init_process_group("mpi", timeout=600)
    size = dist.get_world_size()
    result = {"steps": step_rows(size)}
    if size > 1:
        result["allreduce"] = allreduce_rows(size)
    if dist.get_rank() == 0:
        with open(out, "w") as f:
            json.dump(result, f)


def fit_cost_model(rows, size, key="mpi4py_us"):
    """(latency s, bandwidth B/s) of t = latency + 2(p-1)/p * bytes / bandwidth, least squares on rows[key]."""
    x = np.array([2 * (size - 1) / size * r["bytes"] for r in rows])
    t = np.array([r[key] * 1e-6 for r in rows])
    slope, latency = np.polyfit(x, t, 1)
    return latency, 1 / slope


def main():
    from common import report
    from ember.distributed import mpiexec_path
    env = dict(os.environ, OMP_NUM_THREADS="1")
    results, exe = {}, mpiexec_path() or "mpiexec"
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 2):
            out = os.path.join(tmp, f"{n}.json")
            subprocess.run([exe, "-n", str(n), sys.executable, os.path.abspath(__file__), "--worker", out],
                           env=env, check=True, timeout=600)
            with open(out) as f:
                results[n] = json.load(f)
    ar = results[2]["allreduce"]
    latency, bandwidth = fit_cost_model(ar, 2)
    best_latency, best_bandwidth = fit_cost_model(ar, 2, "mpi4py_best_us")
    for r in ar:
        r["model_us"] = 1e6 * (latency + (r["bytes"] / bandwidth))
    report("distributed_allreduce", ["bytes", "ember_us", "mpi4py_us", "gloo_us", "model_us", "mpi4py_best_us",
                                     "ember_GBps", "mpi4py_GBps", "gloo_GBps", "x_mpi4py", "x_gloo"], ar,
           notes=["float32 all-reduce on 2 ranks (one thread each); model_us: the fitted cost model; "
                  "mpi4py_best_us: the fastest repeat", f"load average {os.getloadavg()[0]:.1f} on "
                  f"{os.cpu_count()} cores"])
    report("distributed_step", ["model", "ranks", "grad_KB", "step_ms", "compute_ms", "exposed_ms", "exposed_%"],
           results[1]["steps"] + results[2]["steps"],
           notes=[f"one DDP step (forward, backward, SGD), batch {BATCH} per rank, median of {STEPS}"])
    print(f"\ncost model fitted to mpi4py's medians: latency {latency * 1e6:.1f} us, bandwidth "
          f"{bandwidth / 1e9:.2f} GB/s; to its fastest repeats: latency {best_latency * 1e6:.1f} us, bandwidth "
          f"{best_bandwidth / 1e9:.2f} GB/s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
