"""nn.ConvTranspose2d against PyTorch: state_dict names and shapes, weights copied by name,
forward (with output_size), every gradient; PyTorch's initialisation bounds; bad arguments."""
import math

import numpy as np
import pytest

import ember as em
from ember import nn

from ..ops.check import DEVICES, require

# (in, out, kernel, keyword arguments, input shape, output_size for forward or None)
LAYERS = [(3, 4, 3, {}, (2, 3, 5, 6), None),
          (4, 6, (4, 3), {"stride": 2, "padding": 1, "groups": 2, "bias": False}, (2, 4, 3, 4), None),
          (2, 3, 3, {"stride": 2, "padding": 1, "dilation": (2, 1), "output_padding": (1, 0)}, (1, 2, 4, 3), None),
          (3, 2, 4, {"stride": 3, "padding": 1}, (2, 3, 3, 2), (9, 6)),          # output_size picks the padding
          (3, 2, 4, {"stride": 3, "padding": 1}, (3, 3, 2), (2, 9, 6))]          # unbatched, (C, H, W) given


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layer", LAYERS, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}-{c[4]}")
def test_matches_torch_with_weights_copied_by_name(device, layer):
    require(device)
    torch = pytest.importorskip("torch")
    cin, cout, k, kw, shape, output_size = layer
    torch.manual_seed(0)
    tm = torch.nn.ConvTranspose2d(cin, cout, k, **kw).double()
    model = nn.ConvTranspose2d(cin, cout, k, **kw).to(device, "float64")
    sd = tm.state_dict()
    assert list(model.state_dict()) == list(sd)
    assert {n: tuple(v.shape) for n, v in model.state_dict().items()} == {n: tuple(v.shape) for n, v in sd.items()}
    model.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal(shape)
    xt = torch.from_numpy(x).requires_grad_()
    xe = em.tensor(x, dtype=np.float64, device=device, requires_grad=True)
    want, got = tm(xt, output_size), model(xe, output_size)
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(want.shape)
    want.backward(torch.from_numpy(g))
    got.backward(em.tensor(g, dtype=np.float64, device=device))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    tp = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_init_bounds_and_repr():
    em.manual_seed(0)
    up = nn.ConvTranspose2d(8, 16, 3, stride=2, output_padding=1, groups=2)
    w, b = up.weight.numpy(), up.bias.numpy()
    assert w.shape == (8, 8, 3, 3) and b.shape == (16,)
    bound = 1 / math.sqrt(8 * 9)  # PyTorch's fan_in: weight.shape[1] * kH * kW
    assert bound * 0.8 < np.abs(w).max() <= bound
    assert np.abs(b).max() <= bound
    r = repr(up)
    assert "8, 16, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1), groups=2" in r
    assert nn.ConvTranspose2d(2, 3, 1, bias=False).bias is None


def test_output_size_out_of_range_raises():
    up = nn.ConvTranspose2d(2, 3, 3, stride=2)
    x = em.tensor(np.zeros((1, 2, 4, 4), np.float32))
    assert up(x, output_size=(10, 9)).shape == (1, 3, 10, 9)
    with pytest.raises(ValueError, match=r"requested an output size of \(11, 9\), but valid sizes range from "
                                         r"\(9, 9\) to \(10, 10\)"):
        up(x, output_size=(11, 9))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 ints"):
        up(x, output_size=(1, 10, 9))


@pytest.mark.parametrize("args,kw,match", [
    ((3, 4, 3), {"padding_mode": "reflect"}, "only padding_mode 'zeros'"),
    ((3, 4, 3), {"groups": 2}, "must be divisible by groups=2"),
    ((0, 4, 3), {}, "must be positive"),
    ((3, 4, 0), {}, "kernel_size, stride and dilation must be positive"),
    ((3, 4, 3), {"output_padding": -1}, "must be non-negative"),
])
def test_bad_arguments_raise(args, kw, match):
    with pytest.raises(ValueError, match=match):
        nn.ConvTranspose2d(*args, **kw)


def test_bad_input_raises():
    up = nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1)
    with pytest.raises(ValueError, match=r"expected input with 3 channels, got input of shape \(1, 2, 5, 5\)"):
        up(em.tensor(np.zeros((1, 2, 5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"3-D \(C, H, W\) or 4-D"):
        up(em.tensor(np.zeros((3, 5), np.float32)))
    bad = nn.ConvTranspose2d(3, 4, 3, output_padding=1)  # PyTorch refuses it in forward too
    with pytest.raises(ValueError, match="output_padding"):
        bad(em.tensor(np.zeros((1, 3, 5, 5), np.float32)))
