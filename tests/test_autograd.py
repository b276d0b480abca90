"""Autograd semantics: accumulation, reuse, broadcasting, graph freeing, no_grad, detach."""
import gc
import weakref

import numpy as np
import pytest

import ember as em

from .devices import DEVICES


def test_tensor_used_twice_gets_both_contributions():
    x = em.tensor([2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()
    assert x.grad.numpy().tolist() == [5.0, 7.0]


def test_gradients_accumulate_across_backward_calls():
    x = em.tensor([1.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.item() == 5.0


def test_broadcast_is_undone_in_backward():
    a = em.ones(3, 1, requires_grad=True)
    b = em.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.numpy().ravel().tolist() == [4.0] * 3
    assert b.grad.shape == (4,) and b.grad.numpy().tolist() == [3.0] * 4


def test_second_backward_needs_retain_graph():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.numpy().tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_no_grad_records_nothing_and_detach_cuts():
    x = em.tensor([1.0], requires_grad=True)
    with em.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = x.detach() * 2
    assert not z.requires_grad

    @em.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad


def test_backward_needs_grad_for_non_scalar():
    x = em.ones(2, 2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    with pytest.raises(ValueError, match="does not match"):
        y.backward(em.ones(3))
    y.backward(em.ones(2, 2))
    assert x.grad.numpy().tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_leaf_grads_do_not_alias():
    a = em.ones(3, requires_grad=True)
    b = em.ones(3, requires_grad=True)
    (a + b).sum().backward()
    with em.no_grad():
        a.grad._data *= 10
    assert b.grad.numpy().tolist() == [1.0, 1.0, 1.0]


def test_graph_is_freed_after_backward():
    x = em.randn(50, 50, requires_grad=True)
    y = (x @ x).relu().sum()
    node = weakref.ref(y.grad_fn)
    y.backward()
    assert not hasattr(node(), "inputs")     # saved arrays and inputs dropped
    del y
    gc.collect()
    assert node() is None


def test_retain_grad_on_intermediate():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    assert h.grad.numpy().tolist() == [6.0, 12.0]


def test_max_splits_gradient_among_ties():
    x = em.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.5, 0.5]


def test_fancy_index_backward_accumulates_repeats():
    x = em.zeros(3, requires_grad=True)
    x[em.tensor([0, 0, 2])].sum().backward()
    assert x.grad.numpy().tolist() == [2.0, 0.0, 1.0]


def test_memory_does_not_grow_over_training_steps():
    import tracemalloc
    em.manual_seed(0)
    model = em.nn.Sequential(em.nn.Linear(8, 16), em.nn.ReLU(), em.nn.Linear(16, 2))
    opt = em.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = em.randn(4, 8), em.tensor(np.array([0, 1, 0, 1]))

    def step():
        loss = em.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(2000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 2000 steps"


@pytest.mark.parametrize("device", DEVICES)
def test_zero_d_leaf_gradient_is_an_array(device):
    """NumPy turns 0-d sums and products into scalars: .grad stays a 0-d array that zero_ can write."""
    x = em.tensor(np.float32(3.0), device=device, requires_grad=True)
    (x * x).exp().backward()
    (x * x + x).backward()  # accumulates into the existing .grad
    assert x.grad.shape == ()
    np.testing.assert_allclose(x.grad.item(), 6 * np.exp(9) + 7, rtol=1e-6)
    x.grad.zero_()
    assert x.grad.item() == 0
