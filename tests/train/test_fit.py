"""Keras-style compile / fit / evaluate / predict / summary, callbacks, and the errors before training."""
import gc

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.train import EarlyStopping, LambdaCallback, ModelCheckpoint


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0.5)
    return x, y


def _model(seed=0):
    em.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 4))


def test_fit_learns_and_reports_history(capsys):
    x, y = _data()
    model = _model().compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.05)
    h = model.fit(x, y, epochs=15, batch_size=16, validation_split=0.25, verbose=0, seed=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["loss"]) == 15 and h.epoch == list(range(15))
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["accuracy"][-1] > 0.8
    assert capsys.readouterr().out == ""
    loss, acc = model.evaluate(x, y)
    assert acc > 0.8 and loss < h.history["loss"][0]
    assert model.predict(x[:5]).shape == (5, 4) and isinstance(model.predict(x[:5]), np.ndarray)
    assert model.training  # fit/evaluate restore the mode


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
@pytest.mark.parametrize("loss", ["mse", "l1", "huber", "smooth_l1"])
def test_compile_accepts_every_name(optimizer, loss):
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    y = x @ np.ones((4, 1), np.float32)
    model = _model().compile(optimizer=optimizer, loss=loss, metrics=["mae"])
    first = model.evaluate(x, y[:, [0, 0, 0, 0]])[0]
    model.fit(x, y[:, [0, 0, 0, 0]], epochs=3, batch_size=8, verbose=0)
    assert model.evaluate(x, y[:, [0, 0, 0, 0]])[0] < first


def test_binary_losses_and_objects():
    x, y = _data()
    yb = (y > 1).astype(np.float32).reshape(-1, 1)
    em.manual_seed(0)
    logits = nn.Sequential(nn.Linear(4, 1))
    logits.compile(em.optim.SGD(logits.parameters(), lr=0.5), nn.BCEWithLogitsLoss(), metrics=["accuracy"])
    h = logits.fit(x, yb, epochs=10, verbose=0, shuffle=False)
    assert h.history["accuracy"][-1] > 0.85
    probs = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid()).compile("adam", "bce", metrics=["accuracy"])
    assert len(probs.evaluate(x, yb)) == 2
    nll = nn.Sequential(nn.Linear(4, 4), nn.LogSoftmax(dim=1)).compile("adam", "nll")
    assert len(nll.evaluate(x, y)) == 1


def test_verbose_modes(capsys):
    x, y = _data(40)
    model = _model().compile("sgd", "cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, validation_data=(x, y), verbose=2)
    out = capsys.readouterr().out
    assert out.count("\n") == 2 and "Epoch 2/2 - loss:" in out and "val_accuracy" in out
    model.fit(x, y, epochs=1, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "3/3" in out and "loss=" in out and "accuracy=" in out


def test_errors_before_training():
    x, y = _data(20)
    model = _model().compile("adam", "cross_entropy")
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="20 samples but y has 19"):
        model.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match="do not fit the loss"):
        model.fit(x, y.reshape(-1, 1), verbose=0)
    with pytest.raises(ValueError, match="do not fit the loss"):
        model.fit(x, y + 10, verbose=0)  # labels out of range for 4 classes
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, y, verbose=3)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile("lbfgs")
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile("adam", "hinge")
    with pytest.raises(RuntimeError, match="compile"):
        _model().fit(x, y)


def test_callbacks(tmp_path):
    x, y = _data(60)
    model = _model().compile("sgd", "cross_entropy", lr=0.0)  # lr 0: val_loss never improves
    seen = []
    cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, round(logs["loss"], 6))))
    stop = EarlyStopping(monitor="val_loss", patience=2)
    ckpt = ModelCheckpoint(tmp_path / "m-{epoch}.safetensors", monitor="val_loss")
    h = model.fit(x, y, epochs=20, validation_split=0.2, callbacks=[cb, stop, ckpt], verbose=0)
    assert len(h.history["loss"]) == 3 and stop.stopped_epoch == 2 and [e for e, _ in seen] == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1.safetensors", "m-2.safetensors", "m-3.safetensors"]
    restored = _model(seed=5)
    restored.load_state_dict(em.load(tmp_path / "m-3.safetensors"))
    np.testing.assert_allclose(restored.predict(x), model.predict(x), rtol=1e-6)


def test_early_stopping_restores_best_weights(tmp_path):
    x, y = _data(80)
    model = _model().compile("sgd", "cross_entropy", lr=5.0)  # too large: the loss soon gets worse
    stop = EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    best = ModelCheckpoint(tmp_path / "best.safetensors", monitor="loss", save_best_only=True)
    h = model.fit(x, y, epochs=30, callbacks=[stop, best], verbose=0, shuffle=False)
    ref = _model()
    ref.load_state_dict(em.load(tmp_path / "best.safetensors"))
    np.testing.assert_allclose(model.predict(x), ref.predict(x), rtol=1e-6)
    assert len(h.history["loss"]) < 30


def test_summary_lists_layers_shapes_and_counts():
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    text = model.summary(input_shape=(64,), print_fn=None)
    assert "0 (Linear)" in text and "(None, 128)" in text and "(None, 10)" in text
    assert "Total params: 9,610" in text and "8,320" in text
    assert "forward" not in model.__dict__["_modules"]["0"].__dict__  # tracing undone


def test_training_memory_does_not_grow():
    """10,000 small steps: the graph is freed each step, so no objects (nodes, arrays) pile up."""
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = em.optim.Adam(model.parameters(), lr=1e-3)
    x, y = em.randn(8, 4), em.tensor(np.arange(8) % 3)
    loss_fn = nn.CrossEntropyLoss()

    def steps(n):
        for _ in range(n):
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    steps(200)
    gc.collect()
    objects = len(gc.get_objects())
    steps(10_000)
    gc.collect()
    assert len(gc.get_objects()) - objects < 50, "objects pile up across training steps"
    assert loss_fn(model(x), y)._ctx is not None  # still a working graph
