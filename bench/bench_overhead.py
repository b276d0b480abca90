"""Eager overhead: a tiny op with autograd, ember vs PyTorch CPU (time per call; ember/torch time < 1:
ember faster). Each case's result is checked against torch first.

    python bench/bench_overhead.py
"""
import numpy as np

from common import RATIO_NOTE, check_close, ratio, ratio_col, report, timeit, torch_or_none

import ember as em


def cases(lib, dev_kw):
    x = lib.ones(4, 4, requires_grad=True, **dev_kw)
    y = lib.ones(4, 4, requires_grad=True, **dev_kw)
    w = lib.ones(8, 4, requires_grad=True, **dev_kw)
    nograd = lib.ones(4, 4, **dev_kw)

    def fwd_bwd():
        (x * y).sum().backward()
    return {
        "mul (no grad)": lambda: nograd * nograd,
        "mul (autograd)": lambda: x * y,
        "add (autograd)": lambda: x + y,
        "relu (autograd)": lambda: x.relu(),
        "matmul 4x4 (autograd)": lambda: x @ y,
        "linear 4->8 (autograd)": lambda: lib.nn.functional.linear(x, w),
        "mul+sum+backward": fwd_bwd,
    }


def main():
    torch = torch_or_none()
    if torch is not None:
        torch.set_num_threads(1)
    mine = cases(em, {"device": "cpu"})
    peer = cases(torch, {}) if torch is not None else {}
    rows = []
    for name, fn in mine.items():
        got = fn()
        if name in peer and got is not None:
            check_close(name, got, peer[name]())
        t = timeit(fn, repeat=2000, warmup=200)
        tp = timeit(peer[name], repeat=2000, warmup=200) if name in peer else None
        rows.append({"case": name, "ember_us": t * 1e6, "torch_us": tp * 1e6 if tp else None,
                     ratio_col("torch"): ratio(t, tp)})
    report("overhead", ["case", "ember_us", "torch_us", ratio_col("torch")], rows,
           notes=["target: ember/torch time <= 1.0 for each row", RATIO_NOTE])
    return rows


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
