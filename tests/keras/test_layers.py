"""keras layers against plain NumPy formulas (Keras' layouts and semantics), on every device."""
import numpy as np
import pytest

import ember as em
from ember import keras
from ember.keras import layers
from ember.nn import functional as F

from . import ref

RTOL, ATOL = 1e-4, 1e-5


def close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, rtol=rtol, atol=atol)


def x_of(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax"])
def test_dense(device, rng, activation):
    layer = layers.Dense(7, activation=activation)
    x = x_of(rng, 5, 3)
    y = layer(x).numpy()
    k, b = layer.get_weights()
    assert k.shape == (3, 7) and b.shape == (7,) and not b.any()
    z = x.astype(np.float64) @ k + b
    want = {None: z, "relu": np.maximum(z, 0), "sigmoid": ref.sigmoid(z), "tanh": np.tanh(z),
            "softmax": np.exp(z) / np.exp(z).sum(1, keepdims=True)}[activation]
    close(y, want)
    assert layer.count_params() == 3 * 7 + 7


def test_dense_glorot_uniform_limits_and_rank3(rng):
    layer = layers.Dense(50, use_bias=False)
    x = x_of(rng, 2, 4, 30)
    y = layer(x).numpy()
    (k,) = layer.get_weights()
    limit = np.sqrt(6 / (30 + 50))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.8 * limit
    close(y, x.astype(np.float64) @ k)


@pytest.mark.parametrize("padding,strides,ksize", [("valid", 1, 3), ("same", 1, 3), ("same", 2, 3), ("same", 2, 4),
                                                   ("valid", 2, (2, 3))])
def test_conv2d(device, rng, padding, strides, ksize):
    layer = layers.Conv2D(4, ksize, strides=strides, padding=padding, activation="relu")
    x = x_of(rng, 2, 7, 6, 3)
    y = layer(x).numpy()
    k, b = layer.get_weights()
    kk = (ksize, ksize) if isinstance(ksize, int) else ksize
    assert k.shape == kk + (3, 4)
    b = rng.standard_normal(4).astype(np.float32)
    layer.set_weights([k, b])
    y = layer(x).numpy()
    want = np.maximum(ref.conv2d(x.astype(np.float64), k, b, (strides, strides), padding), 0)
    assert y.shape == want.shape
    close(y, want)


@pytest.mark.parametrize("padding,strides,ksize", [("valid", 1, 3), ("valid", 2, 3), ("same", 2, 3), ("same", 1, 3),
                                                   ("same", 2, 4), ("valid", 3, 2)])
def test_conv2d_transpose(device, rng, padding, strides, ksize):
    layer = layers.Conv2DTranspose(5, ksize, strides=strides, padding=padding)
    x = x_of(rng, 2, 4, 3, 3)
    layer(x)
    k, _ = layer.get_weights()
    assert k.shape == (ksize, ksize, 5, 3)
    b = rng.standard_normal(5).astype(np.float32)
    layer.set_weights([k, b])
    want = ref.conv2d_transpose(x.astype(np.float64), k, b, (strides, strides), padding)
    y = layer(x).numpy()
    assert y.shape == want.shape
    close(y, want)


@pytest.mark.parametrize("padding,strides,ksize,out_pad", [("same", 2, 3, None), ("same", 2, 4, None),
                                                           ("valid", 3, 2, None), ("same", 2, 3, 1),
                                                           ("valid", 2, 3, 1), ("same", 1, 2, None)])
def test_conv2d_transpose_geometry_on_torch_kernel(monkeypatch, rng, padding, strides, ksize, out_pad):
    """The layer's padding and cropping around PyTorch's conv_transpose2d, with torch's kernel standing in for
    ember's (forward only) until it is merged."""
    torch = pytest.importorskip("torch")

    def conv_transpose2d(x, w, b, stride, pad, output_padding, groups, dilation):
        bias = None if b is None else torch.tensor(b.numpy())
        y = torch.nn.functional.conv_transpose2d(torch.tensor(x.numpy()), torch.tensor(w.numpy()), bias, stride,
                                                 pad, output_padding, groups, dilation)
        return em.tensor(y.numpy())
    monkeypatch.setattr(F, "conv_transpose2d", conv_transpose2d, raising=False)
    layer = layers.Conv2DTranspose(2, ksize, strides=strides, padding=padding, output_padding=out_pad,
                                   bias_initializer="ones")
    x = x_of(rng, 1, 4, 5, 3)
    y = layer(x).numpy() - 1.0  # the bias
    k, _ = layer.get_weights()
    want = ref.conv2d_transpose(x.astype(np.float64), k, None, (strides, strides), padding)
    if out_pad is not None and padding == "same":  # k 3, s 2: (n - 1) s + k - 2 (k // 2) + 1 = n s, the default
        want = ref.conv2d_transpose(x.astype(np.float64), k, None, (strides, strides), "same")
    elif out_pad is not None:  # valid: the full output and out_pad zero rows and columns after it
        want = np.zeros((1, 3 * strides + ksize + 1, 4 * strides + ksize + 1, 2))
        want[:, :-1, :-1] = ref.conv2d_transpose(x.astype(np.float64), k, None, (strides, strides), "valid")
    assert y.shape == want.shape
    close(y, want)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding,pool,strides", [("valid", 2, None), ("same", 2, None), ("same", 3, 2),
                                                  ("valid", 3, 1), ("same", 2, 1)])
def test_pooling(device, rng, kind, padding, pool, strides):
    cls = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    x = x_of(rng, 2, 5, 7, 3)
    y = cls(pool, strides=strides, padding=padding)(x).numpy()
    s = pool if strides is None else strides
    want = ref.pool2d(x.astype(np.float64), (pool, pool), (s, s), padding, kind)
    assert y.shape == want.shape
    close(y, want)


def test_global_pooling_flatten_reshape(device, rng):
    x = x_of(rng, 2, 3, 4, 5)
    close(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)))
    close(layers.GlobalMaxPooling2D()(x).numpy(), x.max(axis=(1, 2)))
    close(layers.Flatten()(x).numpy(), x.reshape(2, -1))
    close(layers.Reshape((12, 5))(x).numpy(), x.reshape(2, 12, 5))
    close(layers.Reshape((-1, 4))(x).numpy(), x.reshape(2, -1, 4))


def test_extra_layers(device, rng):
    x = x_of(rng, 2, 3, 4, 5)
    close(layers.UpSampling2D((2, 3))(x).numpy(), x.repeat(2, axis=1).repeat(3, axis=2))
    close(layers.ZeroPadding2D(((1, 2), (0, 1)))(x).numpy(), np.pad(x, ((0, 0), (1, 2), (0, 1), (0, 0))))
    close(layers.Lambda(lambda t: t * 2)(x).numpy(), 2 * x)
    ln = layers.LayerNormalization()
    y = ln(x).numpy()
    close(y, (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3), rtol=1e-4, atol=1e-4)
    a, b = x_of(rng, 3, 4), x_of(rng, 3, 4)
    close(layers.Multiply()([a, b]).numpy(), a * b)
    close(layers.Subtract()([a, b]).numpy(), a - b)
    close(layers.Average()([a, b]).numpy(), (a + b) / 2)
    close(layers.Add()([a, b]).numpy(), a + b)
    close(layers.Concatenate()([a, b]).numpy(), np.concatenate([a, b], -1))


def test_activations_and_leaky_relu_default(device, rng):
    x = x_of(rng, 4, 6)
    close(layers.LeakyReLU()(x).numpy(), np.where(x > 0, x, 0.3 * x))
    close(layers.LeakyReLU(negative_slope=0.1)(x).numpy(), np.where(x > 0, x, 0.1 * x))
    close(layers.Activation("relu")(x).numpy(), np.maximum(x, 0))
    close(layers.ReLU(max_value=0.5)(x).numpy(), np.clip(x, 0, 0.5))
    e = np.exp(x - x.max(1, keepdims=True))
    close(layers.Softmax()(x).numpy(), e / e.sum(1, keepdims=True))


def test_dropout_train_and_inference(rng):
    layer = layers.Dropout(0.5)
    x = np.ones((200, 50), np.float32)
    close(layer(x).numpy(), x)  # layers run in inference mode outside fit, as Keras
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    close(layer(x).numpy(), x)
    layer.train()
    assert (layer(x).numpy() == 0).any()


def test_batch_normalization_keras_semantics(device, rng):
    layer = layers.BatchNormalization()
    x = (x_of(rng, 8, 3, 3, 4) * 3 + 1).astype(np.float32)
    layer(x)  # build
    gamma = rng.uniform(0.5, 2, 4).astype(np.float32)
    beta = rng.standard_normal(4).astype(np.float32)
    mm, mv = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
    layer.set_weights([gamma, beta, mm, mv])
    layer.train()
    y = layer(x).numpy()
    flat = x.reshape(-1, 4).astype(np.float64)
    mean, var = flat.mean(0), flat.var(0)  # the biased variance, as Keras
    close(y, ((x - mean) / np.sqrt(var + 1e-3) * gamma + beta), rtol=1e-4, atol=1e-4)
    g, bt, new_mm, new_mv = layer.get_weights()
    close(new_mm, mm * 0.99 + mean * 0.01)
    close(new_mv, mv * 0.99 + var * 0.01)
    layer.eval()
    close(layer(x).numpy(), (x - new_mm) / np.sqrt(new_mv + 1e-3) * g + bt, rtol=1e-4, atol=1e-4)
    assert layer.count_params() == 16 and [w.requires_grad for w in layer.weights] == [True, True, False, False]


def test_embedding(device, rng):
    layer = layers.Embedding(10, 3)
    idx = np.array([[1, 2, 9], [0, 0, 4]])
    y = layer(idx).numpy()
    (table,) = layer.get_weights()
    assert np.abs(table).max() <= 0.05
    close(y, table[idx])
    with pytest.raises(IndexError):
        layer(np.array([[10]]))


@pytest.mark.parametrize("return_sequences", [False, True])
def test_simple_rnn(device, rng, return_sequences):
    layer = layers.SimpleRNN(4, return_sequences=return_sequences, return_state=True)
    x = x_of(rng, 3, 5, 2)
    layer(x)
    k, rk, _ = layer.get_weights()
    b = rng.standard_normal(4).astype(np.float32) * 0.1
    layer.set_weights([k, rk, b])
    out, h = layer(x)
    seq, h_ref = ref.simple_rnn(x.astype(np.float64), k, rk, b)
    close(out.numpy(), seq if return_sequences else h_ref)
    close(h.numpy(), h_ref)
    assert np.allclose(rk @ rk.T, np.eye(4), atol=1e-5)  # orthogonal recurrent kernel
    assert layer.count_params() == 2 * 4 + 4 * 4 + 4


def test_lstm(device, rng):
    layer = layers.LSTM(3, return_sequences=True, return_state=True)
    x = x_of(rng, 2, 4, 5)
    layer(x)
    k, rk, b = layer.get_weights()
    close(b, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])  # unit_forget_bias
    b = rng.standard_normal(12).astype(np.float32) * 0.1
    layer.set_weights([k, rk, b])
    seq, h, c = layer(x)
    s_ref, h_ref, c_ref = ref.lstm(x.astype(np.float64), k, rk, b)
    close(seq.numpy(), s_ref)
    close(h.numpy(), h_ref)
    close(c.numpy(), c_ref)
    assert layer.count_params() == 4 * (3 * (5 + 3) + 3)


def test_gru_reset_after(device, rng):
    layer = layers.GRU(3)
    x = x_of(rng, 2, 4, 5)
    layer(x)
    k, rk, b = layer.get_weights()
    assert b.shape == (2, 9)
    b = rng.standard_normal((2, 9)).astype(np.float32) * 0.3
    layer.set_weights([k, rk, b])
    _, h_ref = ref.gru(x.astype(np.float64), k, rk, b)
    close(layer(x).numpy(), h_ref)
    assert layer.count_params() == 3 * 3 * (5 + 3) + 2 * 9


def test_lstm_initial_state_and_gradients(rng):
    layer = layers.LSTM(3)
    x = em.tensor(x_of(rng, 2, 4, 5), requires_grad=True)
    h0, c0 = em.tensor(x_of(rng, 2, 3)), em.tensor(x_of(rng, 2, 3))
    y = layer(x, initial_state=[h0, c0])
    y.sum().backward()
    assert x.grad is not None and all(w.grad is not None for w in layer.trainable_weights)
    with pytest.raises(ValueError, match="initial_state"):
        layer(x, initial_state=[h0])


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\[Dense\] units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match=r"\[Conv2D\] padding"):
        layers.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match=r"\[Dropout\] rate"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match=r"\[GRU\] reset_after"):
        layers.GRU(3, reset_after=False)
    with pytest.raises(ValueError, match=r"\[LSTM\] recurrent_dropout"):
        layers.LSTM(3, recurrent_dropout=0.2)
    d = layers.Dense(3)
    d(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"\[Dense\] layer 'dense.*' expects 4 features"):
        d(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"\[Conv2D\] expects 4-D"):
        layers.Conv2D(3, 3)(np.zeros((2, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"\[Reshape\]"):
        layers.Reshape((7,))(np.zeros((2, 6), np.float32))
    with pytest.raises(TypeError, match=r"\[Dense\] unexpected arguments"):
        layers.Dense(3, kernel_regularise="l2")


def test_names_are_keras_style():
    a, b = layers.Dense(2), layers.Dense(2)
    assert a.name.startswith("dense") and b.name != a.name
    assert layers.MaxPooling2D().name.startswith("max_pooling2d")
    assert layers.LeakyReLU().name.startswith("leaky_re_lu")
    assert keras.Input((3,)).shape == (None, 3)
