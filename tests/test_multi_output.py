"""Nodes with several outputs: forward returns a tuple, apply a tuple of tensors, and backward
gets one gradient per output (zeros for an unused differentiable output, None for a
non-differentiable one)."""
import numpy as np
import pytest

import ember as em
import ember.nn.functional as F
from ember.autograd import Function
from ember.ops.rnn import rnn_cell, rnn_layer


class TwoScales(Function):
    """(2a, 3a) and the integer argmax of a, which is not differentiable."""
    non_differentiable = (2,)
    seen = []

    def forward(self, a):
        return a * 2, a * 3, a.argmax().reshape(1)

    def backward(self, g2, g3, g_arg):
        TwoScales.seen.append((g2.copy(), g3.copy(), g_arg))
        return (2 * g2 + 3 * g3,)


def _run(use):
    TwoScales.seen.clear()
    a = em.tensor([1.0, -2.0, 0.5], requires_grad=True)
    outs = TwoScales.apply(a)
    assert isinstance(outs, tuple) and len(outs) == 3
    sum(o.sum() * w for o, w in zip(outs[:2], use) if w).backward()
    return a, outs


def test_each_output_carries_its_gradient():
    a, outs = _run((1.0, 10.0))
    np.testing.assert_allclose(a.grad.numpy(), [32.0] * 3)
    assert len(TwoScales.seen) == 1  # one backward call for both outputs
    assert outs[0].grad_fn is outs[1].grad_fn and type(outs[0].grad_fn).__name__ == "TwoScales"


def test_unused_output_gets_zeros_and_non_differentiable_gets_none():
    a, outs = _run((0.0, 1.0))
    np.testing.assert_allclose(a.grad.numpy(), [3.0] * 3)
    g2, g3, g_arg = TwoScales.seen[0]
    np.testing.assert_array_equal(g2, np.zeros(3))
    np.testing.assert_array_equal(g3, np.ones(3))
    assert g_arg is None
    assert not outs[2].requires_grad and outs[2].grad_fn is None and outs[2].dtype == em.int64


def test_outputs_backward_separately_with_retain_graph():
    a = em.tensor([1.0, 2.0], requires_grad=True)
    p, q, _ = TwoScales.apply(a)
    p.sum().backward(retain_graph=True)
    q.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [5.0, 5.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        p.sum().backward()


def test_no_graph_without_grad():
    with em.no_grad():
        outs = TwoScales.apply(em.tensor([1.0], requires_grad=True))
    assert all(o.grad_fn is None and not o.requires_grad for o in outs)


def test_max_pool_indices_are_a_second_output():
    x = em.randn(2, 3, 6, 6, requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert type(y.grad_fn).__name__ == "MaxPool2dBackward"
    assert idx.grad_fn is None and not idx.requires_grad and idx.dtype == em.int64
    y.sum().backward()
    assert x.grad.numpy().sum() == y.numel()
    y2, idx2 = F.max_pool2d(x, 2, return_indices=True)
    idx2[0, 0, 0, 0] = 0              # backward reads the indices: writing them is caught
    with pytest.raises(RuntimeError, match=r"\[int64 \[2, 3, 3, 3\]\] is at version 1.*output 1 of MaxPool2dBackward"):
        y2.sum().backward()


def test_batch_norm_statistics_are_non_differentiable_outputs():
    from ember.ops.batch_norm import BatchNormBackward
    x = em.randn(8, 3, requires_grad=True)
    y, mean, var = BatchNormBackward.apply(x, has_weight=False, has_bias=False, mean=None, var=None, eps=1e-5,
                                           training=True)
    np.testing.assert_allclose(mean.numpy(), x.numpy().mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.numpy(), x.numpy().var(0), rtol=1e-4, atol=1e-6)
    assert y.requires_grad and not mean.requires_grad and not var.requires_grad
    rm, rv = em.zeros(3), em.ones(3)
    F.batch_norm(x, rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm.numpy(), 0.5 * x.numpy().mean(0), rtol=1e-5, atol=1e-6)
    assert rm._version_count == 1 and rv._version_count == 1


def _torch_lstm_cell(torch, x, h, c, w_ih, w_hh, b_ih, b_hh):
    t = [torch.tensor(a.numpy(), requires_grad=True) for a in (x, h, c, w_ih, w_hh, b_ih, b_hh)]
    h2, c2 = torch.lstm_cell(t[0], (t[1], t[2]), t[3], t[4], t[5], t[6])
    return t, h2, c2


@pytest.mark.parametrize("which", ["h", "c", "both"])
def test_lstm_cell_state_pair_matches_torch(which):
    torch = pytest.importorskip("torch")
    em.manual_seed(0)
    n, i, hs = 3, 4, 5
    args = [em.randn(*s, dtype=em.float64, requires_grad=True)
            for s in ((n, i), (n, hs), (n, hs), (4 * hs, i), (4 * hs, hs), (4 * hs,), (4 * hs,))]
    h2, c2 = rnn_cell("lstm", *args)
    assert h2.grad_fn is c2.grad_fn and type(h2.grad_fn).__name__ == "RNNCellBackward"
    loss = {"h": h2.sum(), "c": (c2 * c2).sum(), "both": h2.sum() + (c2 * c2).sum()}[which]
    loss.backward()
    t, th, tc = _torch_lstm_cell(torch, *args)
    {"h": th.sum(), "c": (tc * tc).sum(), "both": th.sum() + (tc * tc).sum()}[which].backward()
    np.testing.assert_allclose(h2.numpy(), th.detach().numpy(), rtol=1e-10)
    for a, b in zip(args, t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_lstm_layer_final_cell_state_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    em.manual_seed(1)
    steps, n, i, hs = 4, 2, 3, 5
    args = [em.randn(*s, dtype=em.float64, requires_grad=True)
            for s in ((steps, n, i), (n, hs), (n, hs), (4 * hs, i), (4 * hs, hs), (4 * hs,), (4 * hs,))]
    y, h_n, c_n = rnn_layer("lstm", *args)
    assert type(y.grad_fn).__name__ == "RNNLayerBackward" and c_n.grad_fn is y.grad_fn
    (c_n * 2).sum().backward()           # only the cell state: y's gradient arrives as zeros
    lstm = torch.nn.LSTM(i, hs, dtype=torch.float64)
    with torch.no_grad():
        for name, a in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), args[3:]):
            getattr(lstm, name).copy_(torch.tensor(a.numpy()))
    tx, th0, tc0 = (torch.tensor(a.numpy(), requires_grad=True) for a in args[:3])
    _, (_, tcn) = lstm(tx, (th0[None], tc0[None]))
    (tcn * 2).sum().backward()
    np.testing.assert_allclose(c_n.numpy(), tcn[0].detach().numpy(), rtol=1e-10)
    for a, b in zip(args[:3], (tx, th0, tc0)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(args[3].grad.numpy(), lstm.weight_ih_l0.grad.numpy(), rtol=1e-8, atol=1e-10)
