"""Shared timing and reporting for the bench scripts.

Each bench checks its result first (check_close), warms up, takes the median of repeats,
prints one table with a ratio column per peer, and writes JSON to
bench/results/<name>.json for plots. Every ratio is one direction under one name:
`ember/<peer> time` = ember's time / the peer's (< 1: ember faster), from ratio() and
ratio_col().
"""
import json
import os
import platform
import statistics
import time

import numpy as np

RATIO_NOTE = "ember/<peer> time: ember's time over the peer's (< 1: ember faster)"


def ratio_col(peer):
    """The column of the ratio against `peer`."""
    return f"ember/{peer} time"


def ratio(ember_s, peer_s):
    """ember time / peer time (< 1: ember faster); None without both times."""
    return ember_s / peer_s if ember_s and peer_s else None


def to_numpy(a):
    """A NumPy copy of a NumPy or CuPy array, or of a torch or ember tensor (any device)."""
    if hasattr(a, "get"):  # CuPy
        return a.get()
    if hasattr(a, "numpy"):
        return a.detach().cpu().numpy() if hasattr(a, "cpu") else a.numpy()
    return np.asarray(a)


def check_close(name, got, want, rtol=1e-4, atol=1e-5):
    """Fails the bench unless ember's result `got` matches `want` (checked before timing)."""
    np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=rtol, atol=atol, err_msg=name)


def kernels(name="_cpu"):
    """The compiled kernel module, `ember._cpu` unless EMBER_CPU_MODULE names another."""
    import importlib
    return importlib.import_module(os.environ.get("EMBER_CPU_MODULE", "ember." + name))


def torch_or_none():
    try:
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
        return torch
    except ImportError:
        return None


def timeit(fn, repeat=20, warmup=3, min_time=0.2):
    """Median seconds of fn() over `repeat` runs (more while under min_time in total)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - start < min_time and len(times) < 10 * repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(name, columns, rows, notes=()):
    """Print rows (list of dicts keyed by columns) as a table and write JSON."""
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print(f"\n{name}  ({cpu_model()}, {os.cpu_count()} cores, numpy {np.__version__})")
    for n in notes:
        print(n)
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).rjust(w) for c, w in zip(columns, widths)))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"bench": name, "cpu": cpu_model(), "rows": rows}, f, indent=1)


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def gpu():
    """(cupy, ember._cuda, torch-with-cuda or None) when a GPU is usable, else None."""
    try:
        import ember as em
        if not em.cuda.is_available():
            return None
        import cupy
        from ember import _cuda
    except ImportError:
        return None
    torch = torch_or_none()
    if torch is None or not torch.cuda.is_available():
        return cupy, _cuda, None
    # ember computes in full float32; PyTorch's cuDNN convolutions and RNNs default to TF32.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return cupy, _cuda, torch


def gpu_timeit(fn, repeat=50, warmup=5):
    """Median seconds of fn() on the GPU, timed with CUDA events on CuPy's current stream."""
    import cupy
    for _ in range(warmup):
        fn()
    cupy.cuda.get_current_stream().synchronize()
    times = []
    for _ in range(repeat):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end) / 1e3)
    return statistics.median(times)
