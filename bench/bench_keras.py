"""What the Keras surface costs: one training step of the Keras MNIST convnet (channels_last, batch 128,
Adam, categorical crossentropy from a softmax output) through ember.keras (train_on_batch) against the same
network as ember.nn modules (NCHW, the PyTorch loop) and against PyTorch, with the same weights.

    python bench/bench_keras.py
Checks first that the three compute the same loss from the same weights.
"""
import statistics
import time

import numpy as np

from common import RATIO_NOTE, ratio, ratio_col, report, torch_or_none

import ember as em
from ember import keras
from ember.keras import layers

BATCH = 128


def keras_model():
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(), layers.Flatten(),
                             layers.Dense(10, activation="softmax")])


def module_state(model):
    """The keras weights as an nn.Sequential state_dict (NCHW kernels, (out, in) matrices). The Dense kernel
    reads a channels-last flatten, so its rows are reordered for the NCHW flatten."""
    (k1, b1), (k2, b2), (k3, b3) = (layer.get_weights() for layer in model.layers if layer.weights)
    rows = k3.reshape(5, 5, 64, 10).transpose(2, 0, 1, 3).reshape(-1, 10)
    return {"0.weight": k1.transpose(3, 2, 0, 1).copy(), "0.bias": b1, "3.weight": k2.transpose(3, 2, 0, 1).copy(),
            "3.bias": b2, "7.weight": rows.T.copy(), "7.bias": b3}


def module_model(lib, state):
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))
    model.load_state_dict({k: (lib.from_numpy(v) if lib is not em else v) for k, v in state.items()})
    return model


def loop_step(lib, model, x, y):
    opt = lib.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def interleaved(fns, repeat=15, warmup=2):
    """Median seconds of each function, timed in turns (A, B, C, A, B, C, ...) so that load on a shared
    machine falls on all of them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def main():
    em.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, BATCH)
    y = keras.utils.to_categorical(labels, 10)
    model = keras_model().to("cpu")
    state = module_state(model)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    ours = lambda: model.train_on_batch(x, y)  # noqa: E731
    nchw = x.transpose(0, 3, 1, 2).copy()
    plain = loop_step(em, module_model(em, state).to("cpu"), em.tensor(nchw, device="cpu"),
                      em.tensor(labels, device="cpu"))
    torch = torch_or_none()
    peer = loop_step(torch, module_model(torch, state), torch.from_numpy(nchw), torch.from_numpy(labels)) \
        if torch else None
    first = [ours(), plain()] + ([peer()] if peer else [])  # the check: the same first loss from the same weights
    assert max(first) - min(first) < 1e-4 * max(1.0, abs(first[0])), f"first losses differ: {first}"
    t_keras, t_nn, *t_torch = interleaved([ours, plain] + ([peer] if peer else []))
    t_torch = t_torch[0] if t_torch else None
    rows = [{"case": "Keras MNIST convnet, batch 128, Adam step", "keras_ms": t_keras * 1e3, "nn_ms": t_nn * 1e3,
             "torch_ms": t_torch * 1e3 if t_torch else None, "keras/nn time": t_keras / t_nn,
             ratio_col("torch"): ratio(t_keras, t_torch)}]
    report("bench_keras", ["case", "keras_ms", "nn_ms", "torch_ms", "keras/nn time", ratio_col("torch")], rows,
           notes=[f"threads: ember {em.get_num_threads()}, torch {torch.get_num_threads() if torch else '-'}; "
                  "keras: ember.keras train_on_batch (NHWC, permutes around the NCHW kernels); nn: the same network "
                  "as ember.nn modules in the PyTorch loop", RATIO_NOTE])


if __name__ == "__main__":
    main()
