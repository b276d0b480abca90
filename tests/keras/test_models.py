"""Sequential and functional models: building, shapes, shared layers, summary, weights."""
import numpy as np
import pytest

from ember import keras
from ember.keras import layers


def mlp():
    return keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(3)])


def test_sequential_builds_from_input_or_input_shape(rng):
    a = mlp()
    assert a.built and [type(layer).__name__ for layer in a.layers] == ["Dense", "Dense"]
    b = keras.Sequential([layers.Dense(4, input_shape=(5,)), layers.Dense(2)])
    assert b.built and b.output_shapes()[b.layers[-1].name] == (None, 2)
    c = keras.Sequential()
    c.add(layers.Dense(4))
    c.add(layers.Dense(2))
    assert not c.built
    y = c(rng.standard_normal((3, 6)).astype(np.float32))
    assert c.built and y.shape == (3, 2) and c.layers[0].kernel.shape == (6, 4)
    assert c.count_params() == 6 * 4 + 4 + 4 * 2 + 2


def test_sequential_forward_is_the_layers_in_turn(rng):
    m = mlp()
    x = rng.standard_normal((4, 8)).astype(np.float32)
    (k1, b1), (k2, b2) = m.layers[0].get_weights(), m.layers[1].get_weights()
    want = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m(x).numpy(), want, rtol=1e-5, atol=1e-5)


def test_functional_several_inputs_outputs_and_a_shared_layer(rng):
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate()([shared(a), shared(b)])
    out1, out2 = layers.Dense(1, name="o1")(merged), layers.Dense(2, activation="softmax", name="o2")(merged)
    model = keras.Model(inputs=[a, b], outputs=[out1, out2])
    assert merged.shape == (None, 6) and out2.shape == (None, 2)
    names = [layer.name for layer in model.layers]
    assert names.count("shared") == 1 and {"a", "b", "o1", "o2"} <= set(names)
    xa, xb = rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    p1, p2 = model.predict([xa, xb], verbose=0)
    k, bias = shared.get_weights()
    m = np.concatenate([xa @ k + bias, xb @ k + bias], 1)
    k1, b1 = model.get_layer("o1").get_weights()
    np.testing.assert_allclose(p1, m @ k1 + b1, rtol=1e-5, atol=1e-5)
    assert p2.shape == (5, 2) and np.allclose(p2.sum(1), 1, atol=1e-6)
    assert model.count_params() == (4 * 3 + 3) + (6 + 1) + (12 + 2)


def test_functional_disconnected_and_bad_inputs():
    a, b = keras.Input((4,)), keras.Input((4,))
    out = layers.Dense(2)(layers.Add()([a, b]))
    with pytest.raises(ValueError, match="disconnected"):
        keras.Model(a, out)
    model = keras.Model([a, b], out)
    with pytest.raises(ValueError, match="expects 2 inputs"):
        model(np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match="KerasTensors"):
        keras.Model(np.zeros(3), out)


def test_unknown_sizes_stay_none():
    inp = keras.Input((None, 5))
    seq = layers.LSTM(4, return_sequences=True)(inp)
    assert seq.shape == (None, None, 4)
    last = layers.GRU(2)(seq)
    assert last.shape == (None, 2)


def test_nested_model_and_subclassing(rng):
    inner = mlp()
    inp = keras.Input((8,))
    outer = keras.Model(inp, layers.Softmax()(inner(inp)))
    x = rng.standard_normal((2, 8)).astype(np.float32)
    z = inner.predict(x, verbose=0)
    e = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(outer.predict(x, verbose=0), e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(5, activation="relu")
            self.out = layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    net = Net()
    assert net(x).shape == (2, 2) and len(net.layers) == 2 and net.count_params() == 8 * 5 + 5 + 5 * 2 + 2


def test_summary_table(capsys):
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu", name="c"),
                              layers.MaxPooling2D(name="p"), layers.Flatten(name="f"),
                              layers.BatchNormalization(name="bn"), layers.Dense(10, name="d")])
    model.summary()
    out = capsys.readouterr().out
    assert "Layer (type)" in out and "Output Shape" in out and "Param #" in out
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.splitlines() if line.startswith("│")}
    assert rows["c (Conv2D)"] == ["(None, 26, 26, 8)", "80"]
    assert rows["p (MaxPooling2D)"] == ["(None, 13, 13, 8)", "0"]
    assert rows["f (Flatten)"] == ["(None, 1352)", "0"]
    assert rows["bn (BatchNormalization)"] == ["(None, 1352)", "5,408"]
    assert rows["d (Dense)"] == ["(None, 10)", "13,530"]
    total = 80 + 4 * 1352 + 13530
    assert f"Total params: {total:,} ({total * 4 / 1024:.2f} KB)" in out
    assert f"Trainable params: {total - 2 * 1352:,}" in out and "Non-trainable params: 2,704" in out


def test_summary_connected_to(capsys):
    a, b = keras.Input((4,), name="in_a"), keras.Input((3,), name="in_b")
    out = layers.Dense(1, name="head")(layers.Concatenate(name="cat")([a, b]))
    keras.Model([a, b], out).summary()
    text = capsys.readouterr().out
    assert "Connected to" in text and "in_a[0][0], in_b[0][0]" in text and "cat[0][0]" in text


def test_weights_roundtrip_and_files(tmp_path, rng):
    a, b = mlp(), mlp()
    b.set_weights(a.get_weights())
    x = rng.standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    path = tmp_path / "m.weights.safetensors"
    a.save_weights(path)
    c = mlp()
    c.load_weights(path)
    np.testing.assert_array_equal(a.predict(x, verbose=0), c.predict(x, verbose=0))
    with pytest.raises(ValueError, match="has 4 weights"):
        a.set_weights(a.get_weights()[:3])
    with pytest.raises(ValueError, match="shape"):
        a.layers[0].set_weights([np.zeros((2, 2)), np.zeros(16)])


def test_trainable_false_freezes(rng):
    m = mlp()
    m.layers[0].trainable = False
    assert len(m.trainable_weights) == 2 and len(m.non_trainable_weights) == 2
    m.compile(optimizer="sgd", loss="mse")
    before = m.layers[0].get_weights()
    m.fit(rng.standard_normal((16, 8)), rng.standard_normal((16, 3)), epochs=1, verbose=0)
    for w0, w1 in zip(before, m.layers[0].get_weights()):
        np.testing.assert_array_equal(w0, w1)
