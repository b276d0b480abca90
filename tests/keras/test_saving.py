"""model.save / keras.models.load_model: architecture, weights and compile settings round-trip."""
import numpy as np
import pytest

from ember import keras
from ember.keras import layers


def same_outputs(a, b, x):
    pa, pb = a.predict(x, verbose=0), b.predict(x, verbose=0)
    for p, q in zip(pa if isinstance(pa, list) else [pa], pb if isinstance(pb, list) else [pb]):
        np.testing.assert_array_equal(p, q)


def test_sequential_round_trip_with_compile(tmp_path, rng):
    model = keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(2, 3, padding="same", activation="relu"),
                              layers.BatchNormalization(), layers.MaxPooling2D(), layers.Flatten(),
                              layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = rng.standard_normal((8, 6, 6, 1)).astype(np.float32), rng.integers(0, 3, 8)
    model.fit(x, y, epochs=1, verbose=0)  # moves the BatchNormalization statistics too
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert [type(a) for a in loaded.layers] == [type(a) for a in model.layers]
    assert [a.name for a in loaded.layers] == [a.name for a in model.layers]
    same_outputs(model, loaded, x)
    assert isinstance(loaded.optimizer, keras.optimizers.Adam) and loaded.optimizer.learning_rate == 0.01
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))
    loaded.fit(x, y, epochs=1, verbose=0)


def test_functional_shared_and_nested_round_trip(tmp_path, rng):
    inner = keras.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,))])
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(3)
    merged = layers.Concatenate()([shared(a), shared(layers.Dense(3)(b)), inner(a)])
    model = keras.Model([a, b], [layers.Dense(1)(merged), layers.Dense(2, activation="softmax")(merged)])
    model.save(tmp_path / "f.keras")
    loaded = keras.models.load_model(tmp_path / "f.keras")
    xs = [rng.standard_normal((5, 3)).astype(np.float32) for _ in range(2)]
    same_outputs(model, loaded, xs)
    assert loaded.count_params() == model.count_params() and not getattr(loaded, "compiled", False)


def test_custom_layer_through_custom_objects(tmp_path, rng):
    class Scale(layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.add_weight((input_shape[-1],), "ones", name="w")

        def call(self, x):
            return x * self.w * self.factor

    model = keras.Sequential([keras.Input((4,)), Scale(3.0), layers.Dense(2)])
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match=r"unknown layer class 'Scale'"):
        keras.models.load_model(tmp_path / "c.keras")
    loaded = keras.models.load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale})
    assert loaded.layers[0].factor == 3.0
    same_outputs(model, loaded, rng.standard_normal((3, 4)).astype(np.float32))


def test_what_cannot_be_saved(tmp_path):
    model = keras.Sequential([keras.Input((2,)), layers.Lambda(lambda t: t * 2)])
    with pytest.raises(ValueError, match=r"argument 'function' of layer 'lambda.*' is a function"):
        model.save(tmp_path / "l.keras")

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)
    net = Net()
    net(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="subclassed Model"):
        net.save(tmp_path / "n.keras")
    keras.Sequential([keras.Input((2,)), layers.Dense(1)]).save_weights(tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="not a model saved"):
        keras.models.load_model(tmp_path / "w.safetensors")
