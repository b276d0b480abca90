"""Grad mode is per thread, as in PyTorch: no_grad in one thread leaves every other thread's
graph recording alone."""
import sys
import threading

import numpy as np
import pytest

import ember as em
from ember import nn


def _in_thread(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised in the caller
            box["error"] = e
    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    assert not t.is_alive()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_a_new_thread_starts_with_grad_on():
    with em.no_grad():
        assert not em.is_grad_enabled()
        assert _in_thread(em.is_grad_enabled)
    assert em.is_grad_enabled()


def test_no_grad_inference_thread_does_not_strip_the_training_graph():
    em.manual_seed(0)
    train_model, infer_model = nn.Linear(4, 2), nn.Linear(4, 2)
    x = em.randn(8, 4)
    inside, done = threading.Event(), threading.Event()
    errors, outputs = [], []

    def infer():
        try:
            with em.no_grad():
                inside.set()
                while not done.is_set():   # stays in no_grad for the whole training loop
                    assert infer_model(x).grad_fn is None
        except BaseException as e:
            errors.append(e)
            inside.set()

    def train():
        try:
            assert inside.wait(30)
            opt = em.optim.SGD(train_model.parameters(), lr=0.01)
            for _ in range(200):
                y = train_model(x)
                outputs.append(y.grad_fn is not None)
                opt.zero_grad()
                (y * y).mean().backward()
                opt.step()
        except BaseException as e:
            errors.append(e)
        finally:
            done.set()
    threads = [threading.Thread(target=infer), threading.Thread(target=train)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(outputs) == 200 and all(outputs)


@pytest.fixture
def fast_switching():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads' Python code finely
    yield
    sys.setswitchinterval(before)


def test_two_fits_with_validation_in_two_threads(fast_switching):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    results, errors = {}, []

    def fit(seed):
        try:
            em.manual_seed(seed)
            model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
            model.compile(optimizer="sgd", loss="cross_entropy", lr=0.1)
            h = model.fit(x[:64], y[:64], epochs=4, batch_size=4, validation_data=(x[64:], y[64:]), verbose=0,
                          shuffle=False)
            results[seed] = h.history
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=fit, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for seed in (0, 1):
        assert len(results[seed]["loss"]) == 4 and len(results[seed]["val_loss"]) == 4
        assert np.isfinite(results[seed]["val_loss"]).all()
