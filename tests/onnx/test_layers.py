"""Each layer kind exported alone and run in onnxruntime against ember (float32)."""
import numpy as np
import pytest

import ember as em
from ember import nn

from .common import check_export, initializer_names, opsets, randn

em.manual_seed(0)


def _image(n=2, c=3, h=9, w=8):
    return randn(n, c, h, w)


DENSE = [
    ("linear", lambda: nn.Linear(5, 4), (3, 5)),
    ("linear_3d", lambda: nn.Linear(5, 4), (2, 3, 5)),
    ("linear_no_bias", lambda: nn.Linear(5, 4, bias=False), (3, 5)),
    ("layer_norm", lambda: nn.LayerNorm(6), (2, 3, 6)),
    ("layer_norm_2d", lambda: nn.LayerNorm((3, 6)), (2, 3, 6)),
    ("layer_norm_no_affine", lambda: nn.LayerNorm(6, elementwise_affine=False), (4, 6)),
    ("layer_norm_no_bias", lambda: nn.LayerNorm(6, bias=False), (4, 6)),
    ("flatten", lambda: nn.Flatten(), (2, 3, 4, 5)),
    ("flatten_mid", lambda: nn.Flatten(1, 2), (2, 3, 4, 5)),
    ("dropout", lambda: nn.Dropout(0.5), (4, 6)),
]
ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.GELU(),
               nn.GELU("tanh"), nn.Softmax(dim=1), nn.Softmax(dim=-1), nn.LogSoftmax(dim=1), nn.LogSoftmax(dim=0),
               nn.ELU(), nn.ELU(0.5), nn.SiLU(), nn.Softplus(), nn.Softplus(beta=2.0, threshold=1.0), nn.Hardtanh(),
               nn.Hardtanh(-0.5, 0.8), nn.ReLU6(), nn.ReLU(inplace=True)]


@pytest.mark.parametrize("name, make, shape", DENSE, ids=[d[0] for d in DENSE])
def test_dense_layers(name, make, shape):
    model = make()
    for p in model.parameters():  # not the ones/zeros they start with
        p._data[...] = np.random.default_rng(1).standard_normal(p.shape)
    proto = check_export(model, (randn(*shape),))
    assert initializer_names(proto) >= {n for n, _ in model.named_parameters()}


@pytest.mark.parametrize("opset", opsets(17, 20, 21))
@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: f"{type(a).__name__}{getattr(a, 'approximate', '')}")
def test_activations(act, opset):
    check_export(act, (randn(3, 7) * 3,), opset_version=opset)


CONVS = [
    ("plain", dict(in_channels=3, out_channels=4, kernel_size=3)),
    ("stride_pad", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1)),
    ("rect", dict(in_channels=3, out_channels=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))),
    ("dilation", dict(in_channels=3, out_channels=4, kernel_size=3, dilation=2, padding=2)),
    ("groups", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, padding=1)),
    ("depthwise", dict(in_channels=4, out_channels=4, kernel_size=3, groups=4)),
    ("same_even", dict(in_channels=3, out_channels=4, kernel_size=4, padding="same")),
    ("valid", dict(in_channels=3, out_channels=4, kernel_size=2, padding="valid", bias=False)),
]


@pytest.mark.parametrize("name, kw", CONVS, ids=[c[0] for c in CONVS])
def test_conv2d(name, kw):
    model = nn.Conv2d(**kw)
    proto = check_export(model, (_image(c=kw["in_channels"]),), input_names=["x"], dynamic_axes={"x": [0]},
                         others=[(_image(n=5, c=kw["in_channels"]),)])
    assert "weight" in initializer_names(proto)


CONVT = [
    ("plain", dict(in_channels=3, out_channels=4, kernel_size=3)),
    ("stride", dict(in_channels=3, out_channels=2, kernel_size=4, stride=2, padding=1)),
    ("output_padding", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1)),
    ("groups_dilation", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, dilation=2, bias=False)),
    ("rect", dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=(3, 2), padding=(1, 0),
                  output_padding=(2, 1), groups=2)),
]


@pytest.mark.parametrize("name, kw", CONVT, ids=[c[0] for c in CONVT])
def test_conv_transpose2d(name, kw):
    model = nn.ConvTranspose2d(**kw)
    check_export(model, (_image(c=kw["in_channels"], h=5, w=6),), input_names=["x"], dynamic_axes={"x": [0]},
                 others=[(_image(n=3, c=kw["in_channels"], h=5, w=6),)])


POOLS = [
    ("max", lambda: nn.MaxPool2d(2)),
    ("max_stride_pad", lambda: nn.MaxPool2d(3, stride=2, padding=1)),
    ("max_dilation", lambda: nn.MaxPool2d(2, stride=1, dilation=2)),
    ("max_ceil", lambda: nn.MaxPool2d(2, ceil_mode=True)),
    ("max_ceil_pad", lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)),
    ("avg", lambda: nn.AvgPool2d(2)),
    ("avg_pad", lambda: nn.AvgPool2d(3, stride=2, padding=1)),
    ("avg_pad_exclude", lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)),
    ("avg_ceil", lambda: nn.AvgPool2d(2, ceil_mode=True)),
    ("adaptive_1", lambda: nn.AdaptiveAvgPool2d(1)),
    ("adaptive_divides", lambda: nn.AdaptiveAvgPool2d((3, 4))),
    ("adaptive_uneven", lambda: nn.AdaptiveAvgPool2d((4, 3))),
]


@pytest.mark.parametrize("name, make", POOLS, ids=[p[0] for p in POOLS])
def test_pooling(name, make):
    check_export(make(), (_image(),), input_names=["x"], dynamic_axes={"x": [0]}, others=[(_image(n=3),)])


def _trained_bn(bn):
    rng = np.random.default_rng(2)
    bn.running_mean._data[...] = rng.standard_normal(bn.num_features)
    bn.running_var._data[...] = rng.uniform(0.5, 2.0, bn.num_features)
    if bn.weight is not None:
        bn.weight._data[...] = rng.standard_normal(bn.num_features)
        bn.bias._data[...] = rng.standard_normal(bn.num_features)
    return bn


BATCH_NORMS = [
    ("1d", lambda: nn.BatchNorm1d(5), (4, 5)),
    ("1d_seq", lambda: nn.BatchNorm1d(5), (4, 5, 3)),
    ("2d", lambda: nn.BatchNorm2d(3), (2, 3, 4, 5)),
    ("2d_no_affine", lambda: nn.BatchNorm2d(3, affine=False), (2, 3, 4, 5)),
    ("2d_batch_stats", lambda: nn.BatchNorm2d(3, track_running_stats=False), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("opset", opsets(17, 18))
@pytest.mark.parametrize("name, make, shape", BATCH_NORMS, ids=[b[0] for b in BATCH_NORMS])
def test_batch_norm(name, make, shape, opset):
    bn = make()
    if bn.track_running_stats:
        _trained_bn(bn)
    proto = check_export(bn, (randn(*shape),), opset_version=opset)
    if bn.track_running_stats:  # the buffers by their state_dict names; num_batches_tracked is not used
        assert {"running_mean", "running_var"} <= initializer_names(proto)


def test_embedding():
    emb = nn.Embedding(10, 4, padding_idx=0)
    tokens = em.tensor(np.array([[1, 0, 9], [3, 3, 2]]))
    proto = check_export(emb, (tokens,), input_names=["tokens"], dynamic_axes={"tokens": [0, 1]},
                         others=[(em.tensor(np.array([[4, 5, 6, 7, 0]] * 4)),)])
    assert initializer_names(proto) == {"weight"}


GEOMETRIES = [(3, 2, 1), (2, 2, 1), (3, 3, 1), (4, 3, 2), (3, 2, 0), (3, 1, 1)]


@pytest.mark.parametrize("kind", ["max", "avg_include_pad", "avg_exclude_pad"])
@pytest.mark.parametrize("k, s, p", GEOMETRIES)
def test_pool_ceil_mode_sizes(kind, k, s, p):
    """PyTorch's ceil_mode (the last window starts inside the input or its padding) on sizes where one
    dim rounds up and the other does not, and where the rule drops a window."""
    for ceil in (False, True):
        if kind == "max":
            model = nn.MaxPool2d(k, s, p, ceil_mode=ceil)
        else:
            model = nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=kind == "avg_include_pad")
        for h, w in [(9, 8), (7, 11), (5, 9)]:
            check_export(model, (_image(h=h, w=w),))
