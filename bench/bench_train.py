"""Whole training steps as users run them, ember-cpu vs PyTorch CPU: forward, cross-entropy,
backward, Adam step (time per step, lower is better), of
  - the seeds' MLP 784-128-64-10 at batch 64,
  - a two-conv CNN on 28x28 inputs: conv(1->32,3,pad 1)-relu-maxpool2-conv(32->64,3,pad 1)-relu-
    maxpool2-flatten-fc128-relu-fc10, at batch 32, 64 and 128,
  - a LeNet: conv(1->6,5)-relu-maxpool2-conv(6->16,5)-relu-maxpool2-flatten-fc120-relu-fc84-relu-fc10,
  - an LSTM classifier reading a 28x28 image row by row (28 steps of 28 inputs, hidden 128,
    the last hidden state into fc10), at batch 64,
each in steady state (median step after a warm-up) and over the first 30 steps of a fresh model
and optimizer (ember's pool cache emptied first), the two libraries timed in alternating rounds
in one process; then the eager overhead of a tiny op with autograd (4x4 tensors).
"pool hits" is the share of ember's pooled allocations served from the cache in steady state.

    python bench/bench_train.py            # EMBER_CPU_POOL=0 runs it with the pool off
Checks first that both libraries compute the same loss from the same weights.
"""
import gc
import os
import statistics
import time

import numpy as np

from common import RATIO_NOTE, check_close, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

THREADS = int(os.environ.get("OMP_NUM_THREADS", "2"))
MLP = [("linear", 784, 128), ("relu",), ("linear", 128, 64), ("relu",), ("linear", 64, 10)]
CNN = [("conv", 1, 32, 3, 1), ("relu",), ("pool", 2), ("conv", 32, 64, 3, 1), ("relu",), ("pool", 2), ("flatten",),
       ("linear", 64 * 7 * 7, 128), ("relu",), ("linear", 128, 10)]
LENET = [("conv", 1, 6, 5), ("relu",), ("pool", 2), ("conv", 6, 16, 5), ("relu",), ("pool", 2), ("flatten",),
         ("linear", 16 * 4 * 4, 120), ("relu",), ("linear", 120, 84), ("relu",), ("linear", 84, 10)]
HIDDEN = 128


def spec_weights(spec, rng):
    """Weights by state_dict key ("<index>.weight") for an nn.Sequential built from spec."""
    weights = {}
    for i, (kind, *args) in enumerate(spec):
        if kind == "conv":
            a, b, k = args[:3]
            weights[f"{i}.weight"] = (rng.standard_normal((b, a, k, k)) / np.sqrt(a * k * k)).astype(np.float32)
            weights[f"{i}.bias"] = np.zeros(b, np.float32)
        elif kind == "linear":
            a, b = args
            weights[f"{i}.weight"] = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
            weights[f"{i}.bias"] = np.zeros(b, np.float32)
    return weights


def load(lib, model, weights):
    model.load_state_dict({k: (lib.from_numpy(v.copy()) if lib is not em else v) for k, v in weights.items()})
    return model


def sequential(lib, spec, weights):
    nn = lib.nn
    make = {"conv": lambda a, b, k, p=0: nn.Conv2d(a, b, k, padding=p), "relu": nn.ReLU, "pool": nn.MaxPool2d,
            "flatten": nn.Flatten, "linear": nn.Linear}
    return load(lib, nn.Sequential(*(make[kind](*args) for kind, *args in spec)), weights)


def lstm_weights(rng):
    bound = 1 / np.sqrt(HIDDEN)
    w = {f"lstm.{name}": rng.uniform(-bound, bound, shape).astype(np.float32) for name, shape in
         [("weight_ih_l0", (4 * HIDDEN, 28)), ("weight_hh_l0", (4 * HIDDEN, HIDDEN)), ("bias_ih_l0", (4 * HIDDEN,)),
          ("bias_hh_l0", (4 * HIDDEN,))]}
    w["head.weight"] = (rng.standard_normal((10, HIDDEN)) / np.sqrt(HIDDEN)).astype(np.float32)
    w["head.bias"] = np.zeros(10, np.float32)
    return w


def lstm_classifier(lib, weights):
    class RowLSTM(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lib.nn.LSTM(28, HIDDEN)
            self.head = lib.nn.Linear(HIDDEN, 10)

        def forward(self, x):  # x (28 rows, batch, 28 pixels)
            y, _ = self.lstm(x)
            return self.head(y[-1])
    return load(lib, RowLSTM(), weights)


def cases(rng):
    """(name, build(lib) -> model, x, y) per row; x and y are NumPy arrays."""
    def image(batch):
        return rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)
    out = [("MLP 784-128-64-10, batch 64", MLP, *(rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)))]
    out += [(f"CNN 2 conv 32/64ch, batch {b}", CNN, *image(b)) for b in (32, 64, 128)]
    out += [("LeNet, batch 64", LENET, *image(64))]
    out += [("LSTM rows 28x28 h128, batch 64", "lstm", rng.random((28, 64, 28), dtype=np.float32),
             rng.integers(0, 10, 64))]
    return out


def build(lib, spec, weights):
    return lstm_classifier(lib, weights) if spec == "lstm" else sequential(lib, spec, weights)


def step_fn(lib, model, x, y):
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def pool_counts():
    """(hits, misses) of ember's host pool so far, or None where it is off or absent (older ember)."""
    stats = getattr(em, "cpu", None) and em.cpu.memory_stats()
    return (stats["hits"], stats["misses"]) if stats and stats.get("enabled") else None


def steady(fns, rounds=30, steps=1, warmup=10):
    """Median seconds per step of each fn, timed in alternating rounds of `steps` steps."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, t in zip(fns, times):
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            t.append((time.perf_counter() - t0) / steps)
    return [statistics.median(t) for t in times]


def first_steps(makers, n=30, rounds=3):
    """Median over rounds of the mean seconds per step over the first n steps of a fresh step
    function (makers build them: a new model and optimizer each time), ember's cache emptied first."""
    times = [[] for _ in makers]
    for _ in range(rounds):
        for make, t in zip(makers, times):
            fn = make()
            gc.collect()
            if getattr(em, "cpu", None):
                em.cpu.empty_cache()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            t.append((time.perf_counter() - t0) / n)
            del fn
    return [statistics.median(t) for t in times]


def pool_off_wrapper():
    """A function wrapping an ember step so that it runs with the cpu backend allocating from NumPy
    (as with EMBER_CPU_POOL=0), for A/B rounds in one process; None where there is no pool."""
    be = em.backends.get_backend("cpu")
    if getattr(be, "mem", np) is np:
        return None
    saved = os.environ.get("EMBER_CPU_POOL")
    os.environ["EMBER_CPU_POOL"] = "0"
    try:
        off = type(be.ops)(be.ops.module, np)
    finally:
        os.environ.pop("EMBER_CPU_POOL") if saved is None else os.environ.update(EMBER_CPU_POOL=saved)

    def wrap(make):
        def run_off(fn):
            on = be.ops, be.mem
            be.ops, be.mem = off, np
            try:
                return fn()
            finally:
                be.ops, be.mem = on

        def make_off():
            fn = run_off(make)
            return lambda: run_off(fn)
        return make_off
    return wrap


def train_row(torch, name, spec, x, y, rng, off):
    weights = lstm_weights(rng) if spec == "lstm" else spec_weights(spec, rng)

    def ours():
        return step_fn(em, build(em, spec, weights).to("cpu"), em.tensor(x, device="cpu"),
                       em.tensor(y, device="cpu"))

    def peer():
        return step_fn(torch, build(torch, spec, weights), torch.from_numpy(x), torch.from_numpy(y))
    makers = {"ember": ours}
    if off:
        makers["nopool"] = off(ours)
    if torch:
        makers["torch"] = peer
    fns = {k: make() for k, make in makers.items()}
    if torch:  # the check: same first loss from the same weights
        a, b = fns["ember"]().item(), fns["torch"]().item()
        assert abs(a - b) < 1e-4 * max(1, abs(b)), f"{name}: first losses differ: ember {a}, torch {b}"
    fns["ember"]()  # the pool's classes warm before counting
    before = pool_counts()
    ts = dict(zip(fns, steady(list(fns.values()))))
    after = pool_counts()
    hit_rate = None
    if before and after and (after[0] + after[1]) > (before[0] + before[1]):
        hit_rate = (after[0] - before[0]) / ((after[0] + after[1]) - (before[0] + before[1]))
    del fns
    fs = dict(zip(makers, first_steps(list(makers.values()))))
    row = {"case": name + ", Adam step", "pool hits": hit_rate}
    for prefix, t in (("", ts), ("first30 ", fs)):
        row.update({prefix + "ember_ms": t["ember"] * 1e3, prefix + "nopool_ms": t.get("nopool", 0) * 1e3 or None,
                    prefix + "torch_ms": t.get("torch", 0) * 1e3 or None,
                    prefix + ratio_col("torch"): ratio(t["ember"], t.get("torch")),
                    prefix + "pool/nopool": ratio(t["ember"], t.get("nopool"))})
    return row


def tiny_ops(lib, dev_kw):
    x = lib.ones(4, 4, requires_grad=True, **dev_kw)
    y = lib.ones(4, 4, requires_grad=True, **dev_kw)

    def fwd_bwd():
        (x * y).sum().backward()
    return {"eager overhead: 4x4 mul (autograd)": lambda: x * y,
            "eager overhead: 4x4 mul+sum+backward": fwd_bwd}


def overhead_rows(torch):
    rows = []
    mine = tiny_ops(em, {"device": "cpu"})
    theirs = tiny_ops(torch, {}) if torch else {}
    for name, fn in mine.items():
        got = fn()
        if name in theirs and got is not None:
            check_close(name, got, theirs[name]())
        t = timeit(fn, repeat=2000, warmup=200)
        tp = timeit(theirs[name], repeat=2000, warmup=200) if name in theirs else None
        rows.append({"case": name, "ember_ms": t * 1e3, "torch_ms": tp and tp * 1e3, ratio_col("torch"): ratio(t, tp)})
    return rows


def main():
    em.set_num_threads(THREADS)
    torch = torch_or_none()
    if torch is not None:
        torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    only = os.environ.get("BENCH_TRAIN_ONLY")  # a substring of the case names, to run some rows
    off = pool_off_wrapper()
    rows = [train_row(torch, name, spec, x, y, rng, off) for name, spec, x, y in cases(rng)
            if not only or only in name]
    rows += overhead_rows(torch) if not only else []
    pool = pool_counts() is not None
    columns = ["case"] + [p + c for p in ("", "first30 ") for c in
                          ("ember_ms", "nopool_ms", "torch_ms", ratio_col("torch"), "pool/nopool")] + ["pool hits"]
    report("bench_train", columns, rows,
           notes=[f"threads: ember {em.get_num_threads()}, torch {torch.get_num_threads() if torch else '-'}; "
                  f"host pool {'on' if pool else 'off'}; nopool: the same ember step allocating from NumPy "
                  "(EMBER_CPU_POOL=0), timed in the same rounds; steady: median step; first30: mean step of a "
                  "fresh model's first 30 steps; pool hits: share of pooled allocations served from the cache "
                  "(steady)", RATIO_NOTE])


if __name__ == "__main__":
    main()
