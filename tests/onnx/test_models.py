"""Whole models: a CNN, an LSTM classifier and a Transformer encoder, exported with a dynamic
batch and run in onnxruntime at other batch sizes; the file and its initializers."""
import numpy as np
import pytest

import ember as em
import ember.onnx
from ember import nn
from ember.nn import functional as F

from ..devices import DEVICES
from .common import check_export, initializer_names, opsets, randn, session


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 10),
                                  nn.LogSoftmax(dim=1))

    def forward(self, x):
        return self.head(self.features(x))


def _train_a_step(model, x, y, loss):
    """One optimiser step in training mode, so BatchNorm's running statistics are not their defaults."""
    opt = em.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    out = model(*x)
    loss(out[0] if isinstance(out, tuple) else out, y).backward()
    opt.step()


def test_cnn_dynamic_batch():
    em.manual_seed(0)
    model = CNN()
    _train_a_step(model, (randn(4, 1, 16, 16),), em.tensor(np.arange(4)), nn.NLLLoss())
    proto = check_export(model, (randn(2, 1, 16, 16),), input_names=["image"], output_names=["logp"],
                         dynamic_axes={"image": {0: "batch"}, "logp": {0: "batch"}},
                         others=[(randn(7, 1, 16, 16, seed=1),), (randn(1, 1, 16, 16, seed=2),)])
    names = initializer_names(proto)
    assert {"features.0.weight", "features.1.running_mean", "features.1.running_var", "head.4.bias"} <= names
    assert not any("num_batches_tracked" in n for n in names)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 16, 16]
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


class LSTMClassifier(nn.Module):
    def __init__(self, vocab=20, dim=8, hidden=12, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=0.2)
        self.out = nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        y, (h, c) = self.lstm(self.embed(tokens))
        return self.out(y[:, -1]), h


def _tokens(n, t, seed):
    return em.tensor(np.random.default_rng(seed).integers(0, 20, (n, t)))


def test_lstm_classifier_dynamic_batch_and_length():
    em.manual_seed(1)
    model = LSTMClassifier()
    check_export(model, (_tokens(3, 7, 0),), input_names=["tokens"], output_names=["logits", "h_n"],
                 dynamic_axes={"tokens": {0: "batch", 1: "time"}, "logits": {0: "batch"}, "h_n": {1: "batch"}},
                 others=[(_tokens(5, 11, 1),), (_tokens(1, 2, 2),)])


class Encoder(nn.Module):
    def __init__(self, vocab=30, d=16, heads=4, layers=2, length=6):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(randn(length, 1, d, seed=9))
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=32, dropout=0.1, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d))
        self.head = nn.Linear(d, 2)

    def forward(self, tokens, pad):
        x = self.embed(tokens) + self.pos  # tokens (S, N)
        h = self.encoder(x, mask=nn.Transformer.generate_square_subsequent_mask(tokens.shape[0]),
                         src_key_padding_mask=pad)
        return self.head(h.mean(dim=0))


def test_transformer_encoder_dynamic_batch():
    em.manual_seed(2)
    model = Encoder()
    pad = np.zeros((3, 6), dtype=bool)
    pad[1, 4:] = True
    other = np.zeros((5, 6), dtype=bool)
    other[4, 3:] = True
    proto = check_export(model, (_tokens(6, 3, 3), em.tensor(pad)), input_names=["tokens", "pad"],
                         dynamic_axes={"tokens": [1], "pad": [0]}, rtol=1e-4, atol=1e-5,
                         others=[(_tokens(6, 5, 4), em.tensor(other))])
    assert {"encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.1.linear2.weight", "encoder.norm.weight",
            "pos"} <= initializer_names(proto)


@pytest.mark.parametrize("opset", opsets(20))
def test_transformer_encoder_opset_20(opset):
    em.manual_seed(3)
    model = Encoder()
    pad = em.tensor(np.zeros((2, 6), dtype=bool))
    proto = check_export(model, (_tokens(6, 2, 5), pad), opset_version=opset, rtol=1e-4)
    assert any(n.op_type == "Gelu" for n in proto.graph.node)


def test_writes_a_path(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    x = randn(2, 3)
    path = tmp_path / "model.onnx"
    model.train()
    ember.onnx.export(model, x, str(path), input_names=["x"], output_names=["y"])
    assert all(m.training for m in model.modules())  # the mode is restored
    onnx = __import__("onnx")
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded)
    got = session(str(path)).run(["y"], {"x": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-6)
    assert [i.name for i in loaded.graph.input] == ["x"] and loaded.opset_import[0].version == 17


def test_shared_module_and_numpy_device():
    """A module reached by two paths (its forward wrapped twice while traced), on the numpy device."""
    em.manual_seed(4)
    block = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    model = nn.Sequential(block, block, nn.Linear(4, 2)).to("numpy")
    x = em.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32), device="numpy")
    proto = check_export(model, (x,))
    assert not any("forward" in m.__dict__ for m in model.modules())
    assert initializer_names(proto) == {"0.0.weight", "0.0.bias", "2.weight", "2.bias"}


def test_keyword_arguments_in_args():
    """args' trailing dict holds keyword arguments; its tensors are graph inputs after the positional ones."""
    em.manual_seed(5)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    pad = np.zeros((2, 5), dtype=bool)
    pad[1, 3:] = True
    x = randn(2, 5, 8)
    buf = __import__("io").BytesIO()
    ember.onnx.export(layer, (x, {"src_key_padding_mask": em.tensor(pad)}), buf, input_names=["x", "pad"])
    got = session(buf.getvalue()).run(None, {"x": x.numpy(), "pad": pad})[0]
    layer.eval()
    np.testing.assert_allclose(got, layer(x, src_key_padding_mask=em.tensor(pad)).numpy(), rtol=1e-5, atol=1e-5)


class CausalEncoder(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, 2, dim_feedforward=24, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2)

    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        return self.encoder(x, mask=mask, is_causal=True)


def test_causal_encoder_dynamic_batch_and_length():
    """The causal mask is a hint the layers turn into is_causal: the graph builds it at run time."""
    em.manual_seed(6)
    check_export(CausalEncoder(), (randn(2, 5, 16),), input_names=["x"], dynamic_axes={"x": [0, 1]},
                 others=[(randn(3, 9, 16, seed=1),)], rtol=1e-4)


def test_export_under_no_grad():
    from .test_ops import Residual
    model = Residual()
    with em.no_grad():
        check_export(model, (randn(3, 4),))


class Small(nn.Module):
    """A conv, batch norm, pooling, a GRU over the columns and a head: every kind of parameter."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.gru, self.fc = nn.GRU(8, 5, batch_first=True), nn.Linear(5, 3)

    def forward(self, x):
        y = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)           # (N, 4, 2, T)
        seq = y.reshape(y.shape[0], 8, -1).transpose(1, 2)            # (N, T, 8)
        return self.fc(self.gru(seq)[0][:, -1])


@pytest.mark.parametrize("device", DEVICES)
def test_on_every_device(device):
    """The export reads parameters and traced constants off any device (a CuPy array included)."""
    em.manual_seed(7)
    model = Small()
    _train_a_step(model, (randn(4, 2, 4, 10),), randn(4, 3), nn.MSELoss())
    model.to(device)
    x = em.tensor(randn(3, 2, 4, 10).numpy(), device=device)
    other = em.tensor(randn(6, 2, 4, 14, seed=1).numpy(), device=device)
    check_export(model, (x,), input_names=["x"], dynamic_axes={"x": [0, 3]}, others=[(other,)])
