"""One training step end to end, ember-cpu vs PyTorch CPU: forward, cross-entropy, backward,
Adam step at batch 64 (time per step, lower is better) of
  - the seeds' MLP 784-128-64-10,
  - a LeNet-style CNN on 28x28 inputs: conv(1->6,5)-relu-maxpool2-conv(6->16,5)-relu-maxpool2-
    flatten-fc120-relu-fc84-relu-fc10,
and the eager overhead of a tiny op with autograd (4x4 tensors).

    python bench/bench_train.py
Checks first that both libraries compute the same loss from the same weights.
"""
import numpy as np

from common import RATIO_NOTE, check_close, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

SIZES, BATCH = (784, 128, 64, 10), 64
# LeNet-style CNN: (kind, args) in nn.Sequential order, so state_dict keys are "<index>.weight"
LENET = [("conv", 1, 6, 5), ("relu",), ("pool", 2), ("conv", 6, 16, 5), ("relu",), ("pool", 2), ("flatten",),
         ("linear", 16 * 4 * 4, 120), ("relu",), ("linear", 120, 84), ("relu",), ("linear", 84, 10)]


def mlp(lib, weights):
    nn = lib.nn
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = nn.Sequential(*layers)
    model.load_state_dict({k: (lib.from_numpy(v.copy()) if lib is not em else v) for k, v in weights.items()})
    return model


def sequential(lib, spec, weights):
    nn = lib.nn
    make = {"conv": lambda a, b, k: nn.Conv2d(a, b, k), "relu": nn.ReLU, "pool": nn.MaxPool2d,
            "flatten": nn.Flatten, "linear": nn.Linear}
    model = nn.Sequential(*(make[kind](*args) for kind, *args in spec))
    model.load_state_dict({k: (lib.from_numpy(v.copy()) if lib is not em else v) for k, v in weights.items()})
    return model


def lenet_weights(rng):
    weights = {}
    for i, (kind, *args) in enumerate(LENET):
        if kind == "conv":
            a, b, k = args
            fan_in = a * k * k
            weights[f"{i}.weight"] = (rng.standard_normal((b, a, k, k)) / np.sqrt(fan_in)).astype(np.float32)
            weights[f"{i}.bias"] = np.zeros(b, np.float32)
        elif kind == "linear":
            a, b = args
            weights[f"{i}.weight"] = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
            weights[f"{i}.bias"] = np.zeros(b, np.float32)
    return weights


def lenet_flops():
    """Multiply-adds x 2 for forward, x 3 for forward + backward (as for the MLP)."""
    h = 28
    macs = 0
    for kind, *args in LENET:
        if kind == "conv":
            a, b, k = args
            h = h - k + 1
            macs += h * h * b * a * k * k
        elif kind == "pool":
            h //= args[0]
        elif kind == "linear":
            macs += args[0] * args[1]
    return 6 * BATCH * macs


def tiny_ops(lib, dev_kw):
    x = lib.ones(4, 4, requires_grad=True, **dev_kw)
    y = lib.ones(4, 4, requires_grad=True, **dev_kw)

    def fwd_bwd():
        (x * y).sum().backward()
    return {"eager overhead: 4x4 mul (autograd)": lambda: x * y,
            "eager overhead: 4x4 mul+sum+backward": fwd_bwd}


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


def main():
    rng = np.random.default_rng(0)
    weights = {}
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        weights[f"{2 * i}.weight"] = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
        weights[f"{2 * i}.bias"] = np.zeros(b, np.float32)
    x = rng.random((BATCH, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    torch = torch_or_none()
    ours = step_fn(em, mlp(em, weights).to("cpu"), em.tensor(x, device="cpu"), em.tensor(y, device="cpu"))
    peer = step_fn(torch, mlp(torch, weights), torch.from_numpy(x), torch.from_numpy(y)) if torch else None
    if peer is not None:  # the check: same first loss from the same weights
        a, b = ours().item(), peer().item()
        assert abs(a - b) < 1e-4 * max(1, abs(b)), f"first losses differ: ember {a}, torch {b}"
    flops = 6 * BATCH * sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))  # forward 2x, backward 4x
    rows = []
    t = timeit(ours, repeat=200, warmup=20)
    tp = timeit(peer, repeat=200, warmup=20) if peer else None
    rows.append({"case": "MLP 784-128-64-10, batch 64, Adam step", "ember_us": t * 1e6,
                 "torch_us": tp * 1e6 if tp else None, "ember_GFLOP/s": flops / t / 1e9,
                 ratio_col("torch"): ratio(t, tp)})

    # LeNet-style CNN, same weights in both
    weights = lenet_weights(rng)
    xc = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    yc = rng.integers(0, 10, BATCH)
    ours = step_fn(em, sequential(em, LENET, weights).to("cpu"), em.tensor(xc, device="cpu"),
                   em.tensor(yc, device="cpu"))
    peer = step_fn(torch, sequential(torch, LENET, weights), torch.from_numpy(xc),
                   torch.from_numpy(yc)) if torch else None
    if peer is not None:
        a, b = ours().item(), peer().item()
        assert abs(a - b) < 1e-4 * max(1, abs(b)), f"LeNet first losses differ: ember {a}, torch {b}"
    t = timeit(ours, repeat=100, warmup=10)
    tp = timeit(peer, repeat=100, warmup=10) if peer else None
    rows.append({"case": "LeNet CNN 28x28, batch 64, Adam step", "ember_us": t * 1e6,
                 "torch_us": tp * 1e6 if tp else None, "ember_GFLOP/s": lenet_flops() / t / 1e9,
                 ratio_col("torch"): ratio(t, tp)})

    # eager overhead: a tiny op with autograd
    mine = tiny_ops(em, {"device": "cpu"})
    theirs = tiny_ops(torch, {}) if torch else {}
    for name, fn in mine.items():
        got = fn()
        if name in theirs and got is not None:
            check_close(name, got, theirs[name]())
        t = timeit(fn, repeat=2000, warmup=200)
        tp = timeit(theirs[name], repeat=2000, warmup=200) if name in theirs else None
        rows.append({"case": name, "ember_us": t * 1e6, "torch_us": tp * 1e6 if tp else None,
                     "ember_GFLOP/s": None, ratio_col("torch"): ratio(t, tp)})
    report("bench_train", ["case", "ember_us", "torch_us", "ember_GFLOP/s", ratio_col("torch")], rows,
           notes=[f"threads: ember {em.get_num_threads()}, torch {torch.get_num_threads() if torch else '-'}; "
                  "targets: ember/torch time <= 1.0 for training steps, <= 1.5 for eager overhead", RATIO_NOTE])


if __name__ == "__main__":
    main()
