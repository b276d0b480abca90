"""CNN layers against PyTorch: state_dict names and shapes, weights copied by name, forward,
every gradient and the BatchNorm buffers after a training step; initialisation bounds; bad input."""
import math

import numpy as np
import pytest

import ember as em
from ember import nn

from ..ops.check import DEVICES, require


def _ember_model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding="valid", bias=False), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Dropout(0.0), nn.Linear(5, 3))


def _torch_model(torch):
    tnn = torch.nn
    return tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding="valid", bias=False), tnn.AvgPool2d(2),
                          tnn.Flatten(), tnn.Linear(6, 5), tnn.BatchNorm1d(5), tnn.Dropout(0.0), tnn.Linear(5, 3))


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
def test_matches_torch_with_weights_copied_by_name(device):
    require(device)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = _torch_model(torch).double()
    em.manual_seed(0)
    model = _ember_model().to(device, "float64")
    sd = tm.state_dict()
    ours = model.state_dict()
    assert list(ours) == list(sd)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in sd.items()}
    assert ours["1.num_batches_tracked"].dtype == np.int64
    model.load_state_dict(sd)

    x = np.random.default_rng(0).standard_normal((6, 1, 8, 9))
    xt = torch.from_numpy(x).requires_grad_()
    xe = em.tensor(x, dtype=np.float64, device=device, requires_grad=True)
    for _ in range(2):  # two training steps: the running statistics move, num_batches_tracked counts
        want = tm(xt)
        got = model(xe)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-10)
    g = np.random.default_rng(1).standard_normal(want.shape)
    want.backward(torch.from_numpy(g))
    got.backward(em.tensor(g, dtype=np.float64, device=device))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy() / 1, rtol=1e-8, atol=1e-10)
    tp = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
    for name, b in model.named_buffers():
        np.testing.assert_allclose(b.numpy(), tm.state_dict()[name].numpy(), rtol=1e-10, err_msg=name)
    model.eval()
    tm.eval()
    np.testing.assert_allclose(model(xe).numpy(), tm(xt).detach().numpy(), rtol=1e-9, atol=1e-10)


def test_conv2d_init_bounds_and_repr():
    em.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, groups=2)
    fan_in = 4 * 9
    w, b = conv.weight.numpy(), conv.bias.numpy()
    assert w.shape == (16, 4, 3, 3) and b.shape == (16,)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound
    assert "groups=2" in repr(conv)


def test_batchnorm_momentum_none_and_no_tracking():
    x = em.tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))
    bn = nn.BatchNorm1d(3, momentum=None)
    bn(x)
    bn(x * 2)
    want = (x.numpy().mean(0) + (2 * x.numpy()).mean(0)) / 2
    np.testing.assert_allclose(bn.running_mean.numpy(), want, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 2
    free = nn.BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    assert list(free.state_dict()) == []
    y = free(x).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)


def test_bad_input_to_layers():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"4-D input.*\(3, 8, 8\)"):
        conv(em.zeros(3, 8, 8))
    with pytest.raises(ValueError, match=r"3 channels.*\(1, 2, 8, 8\)"):
        conv(em.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv(em.zeros(1, 3, 2, 8))
    with pytest.raises(ValueError, match="stride"):
        nn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.MaxPool2d(3)(em.zeros(1, 1, 2, 2))
