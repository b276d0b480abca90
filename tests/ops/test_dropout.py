"""dropout: same mask on every device for a seed, inverted scaling, identity in eval, bad p."""
import numpy as np
import pytest

import ember as em

from .check import DEVICES, require

F = em.nn.functional


def test_same_mask_on_every_device():
    x = np.random.default_rng(0).standard_normal((8, 9)).astype(np.float32)
    outs = []
    for device in DEVICES:
        device = getattr(device, "values", [device])[0]
        if not em.backends.is_available(device):
            continue
        em.manual_seed(3)
        outs.append(F.dropout(em.tensor(x, device=device), 0.4).numpy())
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    kept = outs[0] != 0
    np.testing.assert_allclose(outs[0][kept], x[kept] / 0.6, rtol=1e-6)
    assert 0.3 < 1 - kept.mean() < 0.5


@pytest.mark.parametrize("device", DEVICES)
def test_eval_identity_and_gradient(device):
    require(device)
    drop = em.nn.Dropout(0.5)
    x = em.tensor(np.ones((50, 40), np.float32), device=device, requires_grad=True)
    drop.eval()
    assert drop(x) is x
    drop.train()
    em.manual_seed(1)
    y = drop(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # d(sum)/dx = mask * 2 = y for x = 1
    assert set(np.unique(y.numpy())) == {0.0, 2.0}


def test_bad_p():
    x = em.tensor(np.ones(3, np.float32), device="cpu")
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="probability"):
            F.dropout(x, p)
        with pytest.raises(ValueError, match="probability"):
            em.nn.Dropout(p)


@pytest.mark.parametrize("device", DEVICES)
def test_zero_d_stays_zero_d(device):
    """As in PyTorch, a 0-d input gives a 0-d output and a 0-d gradient (mask * 2 = y for x = 1)."""
    seen = set()
    for seed in range(8):
        em.manual_seed(seed)
        x = em.tensor(np.float32(1.0), device=device, requires_grad=True)
        y = F.dropout(x, 0.5)
        y.backward()
        assert y.shape == () and x.grad.shape == ()
        assert x.grad.item() == y.item()
        seen.add(y.item())
    assert seen == {0.0, 2.0}
