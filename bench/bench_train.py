"""One training step end to end, ember-cpu vs PyTorch CPU: forward, cross-entropy, backward,
Adam step of the seeds' MLP 784-128-64-10 at batch 64 (time per step, lower is better).

    python bench/bench_train.py
Checks first that both libraries compute the same loss from the same weights.
"""
import numpy as np

from common import report, timeit, torch_or_none

import ember as em

SIZES, BATCH = (784, 128, 64, 10), 64


def mlp(lib, weights):
    nn = lib.nn
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = nn.Sequential(*layers)
    model.load_state_dict({k: (lib.from_numpy(v.copy()) if lib is not em else v) for k, v in weights.items()})
    return model


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
                 "ratio": t / tp if tp else None})
    report("bench_train", ["case", "ember_us", "torch_us", "ember_GFLOP/s", "ratio"], rows,
           notes=[f"threads: ember {em.get_num_threads()}, torch {torch.get_num_threads() if torch else '-'}; "
                  "ratio = ember / torch (target <= 1.0)"])


if __name__ == "__main__":
    main()
