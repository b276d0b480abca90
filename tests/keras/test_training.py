"""compile / fit / evaluate / predict: losses, metrics and optimizers against NumPy formulas, logs, callbacks."""
import re

import numpy as np
import pytest

import ember as em
from ember import keras
from ember.keras import layers

EPS = 1e-7


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def linear_model(n_in, n_out, activation=None):
    return keras.Sequential([keras.Input((n_in,)), layers.Dense(n_out, activation=activation)])


def logits_of(model, x):
    k, b = model.layers[-1].get_weights()
    return x.astype(np.float64) @ k + b


# ---- losses -----------------------------------------------------------------------------
def test_crossentropies_on_probabilities(rng):
    p = rng.uniform(0.01, 1, (6, 4))
    p[0, 1] = 0.0  # clipped to 1e-7, as Keras
    y = rng.integers(0, 4, 6)
    y[0] = 1
    pn = np.clip(p / p.sum(1, keepdims=True), EPS, 1 - EPS)
    got = keras.losses.SparseCategoricalCrossentropy()(y, em.tensor(p.astype(np.float32))).item()
    np.testing.assert_allclose(got, -np.log(pn[np.arange(6), y]).mean(), rtol=1e-5)
    onehot = np.eye(4)[y]
    got = keras.losses.categorical_crossentropy(onehot, em.tensor(p.astype(np.float32))).numpy()
    np.testing.assert_allclose(got, -(onehot * np.log(pn)).sum(1), rtol=1e-5)
    q = rng.uniform(0, 1, (6, 1))
    t = rng.integers(0, 2, (6, 1)).astype(np.float64)
    qc = np.clip(q, EPS, 1 - EPS)
    got = keras.losses.BinaryCrossentropy()(t, em.tensor(q.astype(np.float32))).item()
    np.testing.assert_allclose(got, -(t * np.log(qc) + (1 - t) * np.log(1 - qc)).mean(), rtol=1e-5)


def test_from_logits_and_regression_losses(rng):
    z = rng.standard_normal((5, 3))
    y = np.array([0, 2, 1, 1, 0])
    lsm = z - np.log(np.exp(z).sum(1, keepdims=True))
    got = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, em.tensor(z.astype(np.float32))).item()
    np.testing.assert_allclose(got, -lsm[np.arange(5), y].mean(), rtol=1e-5)
    pred = rng.standard_normal((5, 1)).astype(np.float32)
    target = rng.standard_normal(5)  # (N,) targets for (N, 1) outputs: ranks matched as Keras, no broadcast
    np.testing.assert_allclose(keras.losses.MeanSquaredError()(target, em.tensor(pred)).item(),
                               ((pred[:, 0] - target) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(keras.losses.MeanAbsoluteError()(target, em.tensor(pred)).item(),
                               np.abs(pred[:, 0] - target).mean(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"\[mean_squared_error\] y_true of shape \(5, 2\)"):
        keras.losses.mse(np.zeros((5, 2)), em.tensor(pred))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        keras.losses.sparse_categorical_crossentropy(np.array([3, 0, 0, 0, 0]), em.tensor(z.astype(np.float32)))


@pytest.mark.parametrize("loss,act", [("sparse_categorical_crossentropy", "softmax"),
                                      ("categorical_crossentropy", "softmax"), ("binary_crossentropy", "sigmoid")])
def test_softmax_output_loss_is_computed_from_logits(loss, act):
    model = linear_model(2, 3 if act == "softmax" else 1, act)
    model.layers[-1].set_weights([np.array([[200.0, -200.0, 0.0][:3 if act == "softmax" else 1]] * 2, np.float32),
                                  np.zeros(3 if act == "softmax" else 1, np.float32)])
    x = np.array([[1.0, 1.0], [-1.0, 0.5]], np.float32)
    z = logits_of(model, x)
    if act == "softmax":
        y = np.array([1, 2])
        lsm = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
        want = -lsm[np.arange(2), y].mean()
        target = y if loss.startswith("sparse") else np.eye(3)[y]
    else:
        target = np.array([[0.0], [1.0]])
        want = np.mean(np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z))))
    model.compile(optimizer="sgd", loss=loss)
    got = model.evaluate(x, target, verbose=0)
    assert np.isfinite(got) and got > 50  # clipped probabilities would give -log(1e-7) = 16.1
    np.testing.assert_allclose(got, want, rtol=1e-5)


# ---- metrics ----------------------------------------------------------------------------
@pytest.mark.parametrize("loss,units,kind", [("sparse_categorical_crossentropy", 3, "sparse"),
                                             ("categorical_crossentropy", 3, "categorical"),
                                             ("binary_crossentropy", 1, "binary")])
def test_accuracy_resolves_as_keras(rng, loss, units, kind):
    model = linear_model(4, units, "softmax" if units > 1 else "sigmoid")
    x = rng.standard_normal((40, 4)).astype(np.float32)
    labels = rng.integers(0, units if units > 1 else 2, 40)
    y = {"sparse": labels, "categorical": np.eye(3)[labels] if units > 1 else None, "binary": labels[:, None]}[kind]
    names = ["accuracy"] if kind == "sparse" else ["accuracy", "mae"]
    model.compile(optimizer="adam", loss=loss, metrics=names)
    values = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)
    pred = (p[:, 0] > 0.5).astype(int) if units == 1 else p.argmax(1)
    np.testing.assert_allclose(values[1], (pred == labels).mean(), rtol=1e-6)
    if kind != "sparse":
        np.testing.assert_allclose(values[2], np.abs(y - p).mean(), rtol=1e-5)
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", *names}
    assert model._metrics[0][1].name == "accuracy"
    assert type(model._metrics[0][1]).__name__ == {"sparse": "SparseCategoricalAccuracy",
                                                   "categorical": "CategoricalAccuracy",
                                                   "binary": "BinaryAccuracy"}[kind]


# ---- optimizers -------------------------------------------------------------------------
def test_optimizer_defaults_and_lr_alias():
    assert keras.optimizers.Adam().learning_rate == 1e-3 and keras.optimizers.Adam().epsilon == 1e-7
    rms = keras.optimizers.RMSprop()
    assert rms.learning_rate == 1e-3 and rms.defaults["alpha"] == 0.9 and rms.defaults["eps"] == 1e-7
    assert keras.optimizers.SGD().learning_rate == 0.01
    assert keras.optimizers.Adam(lr=0.5).learning_rate == 0.5
    m = linear_model(2, 1)
    m.compile(optimizer="adam", loss="mse")
    assert isinstance(m.optimizer, keras.optimizers.Adam) and m.optimizer.bound
    m.compile(loss="mse")
    assert isinstance(m.optimizer, keras.optimizers.RMSprop)  # Keras' default optimizer
    with pytest.raises(ValueError, match="unknown optimizer"):
        m.compile(optimizer="adamax", loss="mse")


def _steps(opt_factory, update, steps=4, seed=3):
    """Train w on loss sum(w * c) + 0.5 |w|^2 (gradient c + w) with the keras optimizer and with the NumPy rule."""
    rng = np.random.default_rng(seed)
    w0, c = rng.standard_normal(5), rng.standard_normal(5)
    w = em.nn.Parameter(em.tensor(w0.astype(np.float32)))
    opt = opt_factory()
    opt.bind([w])
    ref, state = w0.copy(), {}
    for t in range(1, steps + 1):
        loss = (w * em.tensor(c.astype(np.float32))).sum() + (w * w).sum() * 0.5
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref = update(ref, c + ref, state, t)
    np.testing.assert_allclose(w.numpy(), ref, rtol=1e-5, atol=1e-6)


def test_adam_follows_keras_rule():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7

    def update(p, g, s, t):
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return p - alpha * s["m"] / (np.sqrt(s["v"]) + eps)
    _steps(lambda: keras.optimizers.Adam(learning_rate=lr), update)


def test_rmsprop_follows_keras_rule():
    lr, rho, eps, mom = 0.01, 0.9, 1e-7, 0.5

    def update(p, g, s, t):
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
        s["m"] = mom * s.get("m", 0) + lr * g / np.sqrt(s["v"] + eps)
        return p - s["m"]
    _steps(lambda: keras.optimizers.RMSprop(learning_rate=lr, momentum=mom), update)


def test_sgd_momentum_follows_keras_rule():
    lr, mom = 0.05, 0.9

    def update(p, g, s, t):
        s["m"] = mom * s.get("m", 0) - lr * g
        return p + s["m"]
    _steps(lambda: keras.optimizers.SGD(learning_rate=lr, momentum=mom), update)


# ---- fit, evaluate, predict ---------------------------------------------------------------
def test_fit_history_and_logged_values(rng, capsys):
    x = rng.standard_normal((50, 3)).astype(np.float32)
    y = rng.integers(0, 2, 50)
    model = linear_model(3, 2, "softmax")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=1)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 2 for v in history.history.values())
    p = softmax(logits_of(model, x))
    nll = -np.log(p[np.arange(50), y])
    acc = p.argmax(1) == y
    np.testing.assert_allclose(history.history["loss"][1], nll[:40].mean(), rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"][0], nll[40:].mean(), rtol=1e-5)
    np.testing.assert_allclose(history.history["val_accuracy"][0], acc[40:].mean(), rtol=1e-6)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose([loss, accuracy], [nll.mean(), acc.mean()], rtol=1e-5)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2"
    line = r"3/3 ━{20} \d+s \d+(s|ms|us)/step - accuracy: [\d.e+-]+ - loss: [\d.]+ - val_accuracy: [\d.e+-]+ - " \
           r"val_loss: [\d.]+$"
    assert re.match(line, out[1]) and re.match(line, out[3])


def test_verbose_2_validation_data_and_plain_lists(rng, capsys):
    x = rng.standard_normal((12, 3)).astype(np.float32)
    model = linear_model(3, 2, "softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    labels = [0, 1] * 6  # a plain list of labels is one target array
    history = model.fit(x, labels, epochs=1, batch_size=5, verbose=2, validation_data=(x[:4], labels[:4]))
    assert set(history.history) == {"loss", "val_loss"}
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/1"
    assert re.match(r"3/3 - \d+s - \d+(s|ms|us)/step - loss: [\d.]+ - val_loss: [\d.]+$", out[1])
    keras.backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_regularizers_join_the_loss(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.standard_normal((10, 2)).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.1),
                                                              bias_regularizer="l1")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    k, b = (w.astype(np.float64) for w in model.get_weights())
    b = b + 0.5
    model.set_weights([k, b])
    penalty = 0.1 * (k ** 2).sum() + 0.01 * np.abs(b).sum()
    r = x @ k + b - y
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), (r ** 2).mean() + penalty, rtol=1e-5)
    model.fit(x, y, epochs=1, batch_size=10, verbose=0, shuffle=False)
    grad_k = 2 * x.T @ r / r.size + 2 * 0.1 * k
    grad_b = 2 * r.sum(0) / r.size + 0.01 * np.sign(b)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), k - 0.05 * grad_k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.layers[0].bias.numpy(), b - 0.05 * grad_b, rtol=1e-5, atol=1e-6)


def test_evaluate_without_metrics_is_a_float_and_predict_is_numpy(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    model = linear_model(3, 1)
    model.compile(optimizer="sgd", loss="mse")
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, ((logits_of(model, x) - y) ** 2).mean(), rtol=1e-5)
    p = model.predict(x, batch_size=4, verbose=0)
    assert isinstance(p, np.ndarray) and p.shape == (10, 1)


def test_training_learns(rng):
    x = rng.standard_normal((256, 2)).astype(np.float32)
    y = (x[:, 0] - 2 * x[:, 1] > 0).astype(np.int64)
    model = keras.Sequential([keras.Input((2,)), layers.Dense(16, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


def test_multi_output_loss_is_the_weighted_sum(rng):
    inp = keras.Input((3,))
    h = layers.Dense(4)(inp)
    reg, cls = layers.Dense(1, name="reg")(h), layers.Dense(2, activation="softmax", name="cls")(h)
    model = keras.Model(inp, [reg, cls])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[2.0, 1.0], metrics=["accuracy"])
    x = rng.standard_normal((12, 3)).astype(np.float32)
    yr, yc = rng.standard_normal((12, 1)).astype(np.float32), rng.integers(0, 2, 12)
    logs = model.evaluate(x, [yr, yc], verbose=0, return_dict=True)
    pr, pc = model.predict(x, verbose=0)
    want = 2 * ((pr - yr) ** 2).mean() - np.log(pc[np.arange(12), yc]).mean()
    np.testing.assert_allclose(logs["loss"], want, rtol=1e-5)
    np.testing.assert_allclose(logs["cls_accuracy"], (pc.argmax(1) == yc).mean())
    model.fit(x, [yr, yc], epochs=1, verbose=0)


def test_embedding_lstm_model_fits(rng):
    x = rng.integers(0, 20, (32, 6))
    y = (x.sum(1) > 57).astype(np.float32)
    model = keras.Sequential([layers.Embedding(20, 4), layers.LSTM(5), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and model.layers[0].embeddings.shape == (20, 4)


def test_small_convnet_fits_on_every_device(device, rng):
    x = rng.standard_normal((8, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    model = keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(2, 3, padding="same", activation="relu"),
                              layers.BatchNormalization(), layers.MaxPooling2D(), layers.Flatten(),
                              layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.layers[0].kernel.device == device
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# ---- callbacks ----------------------------------------------------------------------------
def _frozen_model():
    model = linear_model(2, 1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    return model


def test_early_stopping_and_lambda_callback(rng):
    x, y = rng.standard_normal((8, 2)).astype(np.float32), rng.standard_normal((8, 1)).astype(np.float32)
    seen = []
    history = _frozen_model().fit(x, y, epochs=10, verbose=0, callbacks=[
        keras.callbacks.EarlyStopping(monitor="loss", patience=2),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))])
    assert len(history.history["loss"]) == 3 and seen == [0, 1, 2]


def test_early_stopping_restores_the_best_epoch(rng):
    x, y = rng.standard_normal((16, 2)).astype(np.float32), rng.standard_normal((16, 1)).astype(np.float32)
    model = linear_model(2, 1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    snapshots = []
    logger = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    # val_loss on targets the model cannot fit: its best epoch is one of the first
    history = model.fit(x, y, epochs=6, verbose=0, validation_data=(x, -y), callbacks=[
        logger, keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)])
    best = int(np.argmin(history.history["val_loss"]))
    assert best < len(snapshots) - 1  # so restoring is seen
    for got, want in zip(model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(got, want)
    with pytest.warns(UserWarning, match="not among the logged values"):
        _frozen_model().fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.EarlyStopping(monitor="acc")])


def test_custom_callback_batch_hooks(rng):
    x, y = rng.standard_normal((10, 2)).astype(np.float32), rng.standard_normal((10, 1)).astype(np.float32)

    class Counter(keras.callbacks.Callback):
        def __init__(self):
            self.batches, self.losses = [], []

        def on_train_batch_end(self, batch, logs=None):
            self.batches.append(batch)
            self.losses.append(logs["loss"])
    counter = Counter()
    _frozen_model().fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[counter])
    assert counter.batches == [0, 1, 2, 0, 1, 2] and all(np.isfinite(counter.losses))


def test_reduce_lr_on_plateau(rng):
    x, y = rng.standard_normal((8, 2)).astype(np.float32), rng.standard_normal((8, 1)).astype(np.float32)
    model = linear_model(2, 1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-9), loss="mse")
    history = model.fit(x, y, epochs=5, verbose=0,
                        callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)])
    np.testing.assert_allclose(history.history["learning_rate"], [1e-9, 1e-9, 5e-10, 2.5e-10, 1.25e-10])


def test_model_checkpoint(tmp_path, rng):
    x, y = rng.standard_normal((8, 2)).astype(np.float32), rng.standard_normal((8, 1)).astype(np.float32)
    path = tmp_path / "ckpt-{epoch:02d}.keras"
    model = _frozen_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(str(path), monitor="loss")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.keras", "ckpt-02.keras"]
    loaded = keras.models.load_model(tmp_path / "ckpt-02.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    best = tmp_path / "best.weights.safetensors"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(
        str(best), monitor="loss", save_best_only=True, save_weights_only=True)])
    fresh = linear_model(2, 1)
    fresh.load_weights(best)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


# ---- bad input, utilities ---------------------------------------------------------------
def test_errors(rng):
    model = linear_model(3, 2, "softmax")
    x = rng.standard_normal((6, 3)).astype(np.float32)
    with pytest.raises(RuntimeError, match=r"\[fit\] call model.compile"):
        model.fit(x, np.zeros(6))
    with pytest.raises(ValueError, match=r"\[compile\] give a loss"):
        model.compile(optimizer="adam")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"\[fit\] x and y must have the same number of samples"):
        model.fit(x, np.zeros(5), verbose=0)
    with pytest.raises(ValueError, match=r"\[fit\] .*labels must be in \[0, 2\)"):
        model.fit(x, np.full(6, 7), verbose=0)
    with pytest.raises(ValueError, match=r"\[fit\] batch_size"):
        model.fit(x, np.zeros(6), batch_size=0, verbose=0)
    with pytest.raises(ValueError, match=r"unknown metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["f1"])
        model.evaluate(x, np.zeros((6, 2)), verbose=0)


def test_to_categorical():
    y = keras.utils.to_categorical([0, 2, 1], 4)
    assert y.dtype == np.float64 and y.shape == (3, 4)
    np.testing.assert_array_equal(y, np.eye(4)[[0, 2, 1]])
    assert keras.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)
    with pytest.raises(ValueError, match=r"\[to_categorical\]"):
        keras.utils.to_categorical([0, 5], 3)


def test_mnist_load_data_calls_ember_reader(monkeypatch):
    from ember.keras.datasets import mnist
    fake = ((np.zeros((2, 28, 28), np.uint8), np.array([1, 2], np.uint8)),
            (np.zeros((1, 28, 28), np.uint8), np.array([3], np.uint8)))
    calls = []

    def load_mnist_arrays(root=None, download=True):
        calls.append((root, download))
        return fake
    monkeypatch.setattr(mnist, "_reader", lambda: load_mnist_arrays)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert calls == [(None, True)] and x_train.shape == (2, 28, 28) and y_test.tolist() == [3]
