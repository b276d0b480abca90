"""Gradients through the keras layers (permutes around NCHW kernels, 'same' padding, gate reordering, Keras'
BatchNormalization) against finite differences in float64."""
import numpy as np
import pytest

import ember as em
from ember import keras
from ember.keras import layers
from ember.testing import gradcheck


def check(layer, shape, rng, **kw):
    x = em.tensor(rng.standard_normal(shape), dtype=em.float64, requires_grad=True)
    layer(x, **kw)  # build
    weights = layer.trainable_weights
    assert all(w.dtype == np.float64 for w in weights)
    gradcheck(lambda x, *ws: layer(x, **kw), [x] + weights, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Conv2D(2, 3, strides=2, padding="same", activation="tanh", dtype="float64"), (1, 5, 4, 2)),
    (lambda: layers.Conv2D(2, (2, 3), padding="same", dtype="float64"), (1, 4, 4, 1)),
    (lambda: layers.MaxPooling2D(2, strides=2, padding="same", dtype="float64"), (1, 5, 3, 2)),
    (lambda: layers.AveragePooling2D(3, strides=2, padding="same", dtype="float64"), (1, 5, 4, 2)),
    (lambda: layers.GlobalAveragePooling2D(dtype="float64"), (2, 3, 3, 2)),
    (lambda: layers.Dense(3, activation="softmax", dtype="float64"), (2, 4)),
    (lambda: layers.LSTM(2, return_sequences=True, dtype="float64"), (2, 3, 2)),
    (lambda: layers.GRU(2, dtype="float64"), (2, 3, 2)),
    (lambda: layers.SimpleRNN(2, activation="relu", dtype="float64"), (2, 3, 2)),
    (lambda: layers.UpSampling2D(2, dtype="float64"), (1, 2, 2, 2)),
    (lambda: layers.ZeroPadding2D((1, 2), dtype="float64"), (1, 2, 2, 1)),
    (lambda: layers.LayerNormalization(dtype="float64"), (2, 3, 4)),
])
def test_layer_gradients(rng, make, shape):
    check(make(), shape, rng)


def test_batch_normalization_training_gradients(rng):
    check(layers.BatchNormalization(dtype="float64"), (6, 3), rng, training=True)


def test_loss_from_softmax_logits_gradients(rng):
    dense = layers.Dense(3, activation="softmax", dtype="float64")
    x = em.tensor(rng.standard_normal((4, 2)), dtype=em.float64, requires_grad=True)
    dense(x)
    loss = keras.losses.SparseCategoricalCrossentropy()
    y = np.array([0, 2, 1, 2])
    gradcheck(lambda x, k, b: loss(y, dense(x)), [x, dense.kernel, dense.bias], atol=1e-6)
