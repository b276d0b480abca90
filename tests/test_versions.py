"""Version counters: an in-place write to a tensor that a node saved for backward makes that
backward raise (PyTorch's message) instead of computing a wrong gradient; views share the counter."""
import numpy as np
import pytest

import ember as em
from ember import nn

STALE = r"modified by an inplace operation: \[float32 \[3\]\] is at version 1; expected version 0 instead"


def _saved_x():
    """(w * x).sum() with x (no grad) saved by the product's node for w's gradient."""
    w = em.randn(3, requires_grad=True)
    x = em.randn(3)
    return w, x, (w * x).sum()


@pytest.mark.parametrize("write", [
    lambda x: x.__iadd__(10),
    lambda x: x.__setitem__(0, 100.0),
    lambda x: x.zero_(),
    lambda x: x.copy_(np.ones(3, np.float32)),
    lambda x: x.fill_(2.0),
    lambda x: x.reshape(3).__setitem__(1, 5.0),   # through a view
    lambda x: x.detach().zero_(),                 # detach shares the counter
], ids=["iadd", "setitem", "zero_", "copy_", "fill_", "view_setitem", "detach_zero_"])
def test_inplace_write_to_saved_tensor_raises(write):
    w, x, y = _saved_x()
    write(x)
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_inplace_write_to_saved_output_raises():
    w = em.randn(3, requires_grad=True)
    y = w.exp()          # backward reads exp's output
    y += 1
    with pytest.raises(RuntimeError, match=r"is at version 1; expected version 0 instead \(output 0 of ExpBackward"):
        y.sum().backward()


def test_optimizer_step_between_forward_and_backward_raises():
    em.manual_seed(0)
    lin = nn.Linear(3, 2)
    opt = em.optim.SGD(lin.parameters(), lr=0.1)
    x = em.randn(4, 3, requires_grad=True)
    lin(x).sum().backward()        # gives the parameters a gradient, so step() updates them
    loss = lin(x).sum()            # saves the weight (version 1: its init wrote it) for x's gradient
    opt.step()
    with pytest.raises(RuntimeError, match=r"\[float32 \[2, 3\]\] is at version 2; expected version 1"):
        loss.backward()
    opt.zero_grad()
    lin(x).sum().backward()        # a fresh forward after the step is fine


def test_init_in_place_bumps_the_version():
    w = nn.Parameter(em.randn(3))
    x = em.randn(3, requires_grad=True)
    y = (w * x).sum()
    with em.no_grad():
        nn.init.zeros_(w)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_inplace_write_to_unsaved_tensor_still_works():
    w = em.randn(3, requires_grad=True)
    x = em.randn(3)
    y = (w + x).sum()              # addition saves nothing
    x += 10
    x[0] = 1.0
    x.zero_()
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones(3))


def test_data_is_outside_the_checks_as_in_pytorch():
    w, x, y = _saved_x()
    x.data.zero_()                 # .data has its own counter, and .data = ... does not bump
    x.data = em.ones(3)
    y.backward()
    assert x._version_count == 0


def test_views_share_the_counter_and_copies_do_not():
    x = em.randn(4, 3)
    views = [x.reshape(12), x.view(2, 6), x.T, x.transpose(0, 1), x.permute(1, 0), x[1:], x[0], x.detach(),
             x.unsqueeze(0), x.flatten(), x[:, None].expand(4, 2, 3)]
    x[0, 0] = 1.0
    assert x._version_count == 1 and all(v._version_count == 1 for v in views)
    views[0][3] = 2.0               # a write through a view bumps the base and every other view
    assert x._version_count == 2 and views[-1]._version_count == 2
    copies = [x[[0, 1]], x[x > 0], x * 1, x.data]
    x.zero_()
    assert [c._version_count for c in copies] == [0, 0, 0, 0]


def test_inplace_on_non_leaf_rebases_the_graph():
    a = em.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = a * 2
    x += 1                           # AddBackward on top of MulBackward (which saved only a and 2)
    assert type(x.grad_fn).__name__ == "AddBackward" and x._version_count == 1
    (x * x).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * 2 * (2 * np.array([1.0, 2.0, 3.0]) + 1))
    w = em.tensor([1.0, 2.0], requires_grad=True)
    z = em.zeros(2)
    z += w                           # z now depends on w
    assert z.requires_grad
    (z * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_inplace_multiply_of_a_saved_non_leaf_raises():
    a = em.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = a * a
    y = x * x                        # saves x
    x *= 3
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_leaf_that_requires_grad_still_refuses_inplace():
    w = em.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor"):
        w += 1
    with em.no_grad():
        w += 1                       # allowed, and counted
    assert w._version_count == 1


def test_same_as_pytorch_message():
    torch = pytest.importorskip("torch")
    w = torch.randn(3, requires_grad=True)
    x = torch.randn(3)
    y = (w * x).sum()
    x += 10
    with pytest.raises(RuntimeError) as want:
        y.backward()
    w2, x2, y2 = _saved_x()
    x2 += 10
    with pytest.raises(RuntimeError) as got:
        y2.backward()
    head = "one of the variables needed for gradient computation has been modified by an inplace operation: "
    assert str(want.value).startswith(head) and str(got.value).startswith(head)
    tail = "is at version 1; expected version 0 instead"
    assert tail in str(want.value) and tail in str(got.value)
