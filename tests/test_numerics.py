"""Edge-case numerics against PyTorch: -inf logits in classes a loss skips, BCE targets outside
[0, 1], max-pool windows wholly in the padding, empty batches through pooling."""
import numpy as np
import pytest

import ember as em
import ember.nn.functional as F

from .ops.check import DEVICES, require

torch = pytest.importorskip("torch")
tF = torch.nn.functional

INF_LOGITS = np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf], [-np.inf, 0.5, 0.25]])
LABELS = np.array([0, 1, 2])
LOSSES = {
    "nll_log_softmax": (lambda f, x, t, w: f.nll_loss(f.log_softmax(x, dim=1), t), False),
    "nll_weight": (lambda f, x, t, w: f.nll_loss(f.log_softmax(x, dim=1), t, weight=w), True),
    "ce_weight": (lambda f, x, t, w: f.cross_entropy(x, t, weight=w), True),
    "ce_ignore_index": (lambda f, x, t, w: f.cross_entropy(x, t, ignore_index=1), False),
    "ce_ignore_sum": (lambda f, x, t, w: f.cross_entropy(x, t, ignore_index=0, reduction="sum"), False),
    "ce_weight_none": (lambda f, x, t, w: f.cross_entropy(x, t, weight=w, reduction="none"), True),
    "ce_smoothing": (lambda f, x, t, w: f.cross_entropy(x, t, label_smoothing=0.1), False),
}


def _torch_loss(name, x64):
    fn, _ = LOSSES[name]
    x = torch.tensor(x64, requires_grad=True)
    loss = fn(tF, x, torch.tensor(LABELS), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), x.grad.numpy()


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_minus_inf_logit_in_a_skipped_class_matches_torch(device, name):
    require(device)
    fn, _ = LOSSES[name]
    x = em.tensor(INF_LOGITS, dtype=em.float64, device=device, requires_grad=True)
    w = em.tensor(np.array([1.0, 2.0, 3.0]), dtype=em.float64, device=device)
    loss = fn(F, x, em.tensor(LABELS, device=device), w)
    loss.backward(em.ones(loss.shape, dtype=em.float64, device=device))
    want_loss, want_grad = _torch_loss(name, INF_LOGITS)
    np.testing.assert_allclose(loss.numpy(), want_loss, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), want_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("target", [1.5, -0.5, float("nan")])
def test_bce_refuses_targets_outside_unit_interval(device, target):
    require(device)
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        tF.binary_cross_entropy(torch.tensor([0.5, 0.5]), torch.tensor([0.0, target]))
    x = em.tensor(np.array([0.5, 0.5], np.float32), device=device)
    with pytest.raises(ValueError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(x, em.tensor(np.array([0.0, target], np.float32), device=device))
    with pytest.raises(ValueError, match="target"):
        em.nn.BCELoss()(x, em.tensor(np.array([0.0, target], np.float32), device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_bce_accepts_targets_at_the_bounds(device):
    require(device)
    x = em.tensor(np.array([0.25, 0.75], np.float32), device=device)
    loss = F.binary_cross_entropy(x, em.tensor(np.array([0.0, 1.0], np.float32), device=device))
    np.testing.assert_allclose(loss.item(), -np.log(0.75), rtol=1e-6)


# A window wholly in the padding: (1, 2) kernel, column padding 1, column dilation 3 on a width-2
# image puts both taps of every window at columns -1 and 2. PyTorch's output there is -inf; its
# index points at a pixel outside the window and its backward writes there (or crashes), so the
# reference is: output -inf, no input receives that window's gradient.
_PAD_ONLY = {"kernel_size": (1, 2), "stride": 1, "padding": (0, 1), "dilation": (1, 3)}
@pytest.mark.torch
@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu",
                                    pytest.param("cuda", marks=pytest.mark.cuda)])
def test_max_pool_window_in_padding_only_sends_no_gradient(device):
    require(device)
    a = np.arange(6.0, dtype=np.float32).reshape(1, 1, 3, 2)
    want = tF.max_pool2d(torch.tensor(a), **_PAD_ONLY).numpy()
    x = em.tensor(a, device=device, requires_grad=True)
    y = F.max_pool2d(x, **_PAD_ONLY)
    np.testing.assert_array_equal(y.numpy(), want)
    y.backward(em.ones(y.shape, device=device))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(a))


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool_partly_padded_window_keeps_gradient_inside(device):
    require(device)
    torch_x = torch.arange(12.0).reshape(1, 1, 3, 4).requires_grad_()
    tF.max_pool2d(torch_x, 2, stride=1, padding=1).sum().backward()
    x = em.tensor(np.arange(12.0, dtype=np.float32).reshape(1, 1, 3, 4), device=device, requires_grad=True)
    F.max_pool2d(x, 2, stride=1, padding=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), torch_x.grad.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pool_of_an_empty_batch_is_empty(device, pool):
    require(device)
    shape = (0, 3, 4, 4)
    want = getattr(tF, pool)(torch.zeros(shape), 2, padding=1)
    x = em.zeros(shape, device=device, requires_grad=True)
    y = getattr(F, pool)(x, 2, padding=1)
    assert y.shape == tuple(want.shape)
    y.sum().backward()
    assert x.grad.shape == shape


# A NaN logit makes its row NaN (PyTorch), wherever it falls in the row.


@pytest.mark.torch
@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu",
                                    pytest.param("cuda", marks=pytest.mark.cuda)])
@pytest.mark.parametrize("op, cols", [("cross_entropy", 3), ("cross_entropy", 40), ("softmax", 2000),
                                      ("log_softmax", 2000)])
def test_nan_logit_makes_its_row_nan(device, op, cols):
    require(device)
    x = np.zeros((2, cols), np.float32)
    x[0, 1] = np.nan
    labels = np.zeros(2, np.int64)
    if op == "cross_entropy":
        want = tF.cross_entropy(torch.tensor(x), torch.tensor(labels), reduction="none").numpy()
        got = F.cross_entropy(em.tensor(x, device=device), em.tensor(labels, device=device), reduction="none")
    else:
        want = getattr(torch, op)(torch.tensor(x), 1).numpy()
        got = getattr(F, op)(em.tensor(x, device=device), dim=1)
    np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(want))


@pytest.mark.torch
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits"])
def test_loss_of_0d_tensors_keeps_shape_and_value(device, name):
    require(device)
    ta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    want = getattr(tF, name)(ta, torch.tensor(0.6, dtype=torch.float64), reduction="none")
    want.backward()
    a = em.tensor(0.3, dtype=em.float64, device=device, requires_grad=True)
    y = getattr(F, name)(a, em.tensor(0.6, dtype=em.float64, device=device), reduction="none")
    y.backward()
    assert y.shape == () and a.grad.shape == ()
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
