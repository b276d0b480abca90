"""Loss modules: PyTorch semantics beyond the op database (errors, modules, devices).

Forward/backward parity, torch parity and gradchecks of every loss live in
tests/ops/op_db.py (entries cross_entropy_weighted, nll_loss, binary_cross_entropy, ...).
"""
import numpy as np
import pytest

import ember as em
from ember import nn

from ..devices import DEVICES

F = nn.functional


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", [{}, {"weight": [1.0, 2.0, 1.0]}, {"label_smoothing": 0.1}], ids=str)
@pytest.mark.parametrize("bad", [3, 7, -1, -100])
def test_cross_entropy_bad_label_names_it(device, kw, bad):
    x = em.randn(4, 3, device=device)
    y = em.tensor([0, 1, bad, 2], device=device)
    if bad == -100:  # the default ignore_index: not an error
        assert np.isfinite(F.cross_entropy(x, y, **kw).item())
        return
    with pytest.raises(IndexError, match=str(bad)):
        F.cross_entropy(x, y, **kw)


@pytest.mark.parametrize("device", DEVICES)
def test_nll_bad_label_names_it(device):
    with pytest.raises(IndexError, match="label 9"):
        F.nll_loss(em.randn(2, 3, device=device), em.tensor([9, 0], device=device))
    with pytest.raises(IndexError, match="label -2"):
        nn.NLLLoss()(em.randn(2, 3, device=device), em.tensor([0, -2], device=device))


def test_loss_argument_errors():
    for cls in (nn.CrossEntropyLoss, nn.NLLLoss, nn.BCELoss, nn.BCEWithLogitsLoss, nn.SmoothL1Loss, nn.HuberLoss,
                nn.MSELoss, nn.L1Loss):
        with pytest.raises(ValueError, match="reduction"):
            cls(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="beta"):
        nn.SmoothL1Loss(beta=-1)
    with pytest.raises(ValueError, match="delta"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(em.randn(2, 3), em.tensor([0, 1]), weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"target of shape"):
        F.cross_entropy(em.randn(2, 3), em.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.binary_cross_entropy(em.tensor([0.5, 1.5]), em.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        F.binary_cross_entropy_with_logits(em.randn(3), em.rand(4))
    with pytest.raises(TypeError, match="integer"):
        F.nll_loss(em.randn(2, 3), em.rand(2, 3))


def test_all_ignored_mean_is_nan_like_torch():
    out = F.cross_entropy(em.randn(2, 3), em.tensor([-100, -100]))
    assert np.isnan(out.item())


def test_bce_saturated_inputs_stay_finite():
    x = em.tensor([0.0, 1.0, 1.0, 0.0], requires_grad=True)
    loss = F.binary_cross_entropy(x, em.tensor([1.0, 0.0, 1.0, 0.0]))
    loss.backward()
    assert loss.item() == pytest.approx(50.0)  # two logs clamped at -100, averaged over 4
    assert np.all(np.isfinite(x.grad.numpy()))


def test_bce_with_logits_is_stable_for_huge_logits():
    x = em.tensor([1e4, -1e4, 50.0], dtype=em.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, em.tensor([0.0, 1.0, 1.0], dtype=em.float64), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, np.log1p(np.exp(-50.0))], rtol=1e-12)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0], atol=1e-12)


@pytest.mark.torch
def test_loss_modules_match_torch_and_move_their_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 3, 8)
    w = np.array([1.0, 0.2, 3.0])
    ew = em.tensor(w, dtype=em.float64)
    pairs = [(nn.CrossEntropyLoss(weight=ew, label_smoothing=0.1), torch.nn.CrossEntropyLoss(
        weight=torch.from_numpy(w), label_smoothing=0.1), y),
        (nn.NLLLoss(weight=ew, reduction="sum"), torch.nn.NLLLoss(weight=torch.from_numpy(w), reduction="sum"), y),
        (nn.BCEWithLogitsLoss(pos_weight=ew), torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(w)),
         rng.random((8, 3))),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), rng.standard_normal((8, 3))),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), rng.standard_normal((8, 3)))]
    for mod, tmod, target in pairs:
        mod.to("numpy")
        got = mod(em.tensor(x, dtype=em.float64, device="numpy"),
                  em.tensor(target, dtype=em.float64 if target.dtype.kind == "f" else None, device="numpy"))
        want = tmod(torch.from_numpy(x), torch.from_numpy(target))
        assert got.device == "numpy"
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12, err_msg=type(mod).__name__)
    assert "weight" in nn.CrossEntropyLoss(weight=w).state_dict()
