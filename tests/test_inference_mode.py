"""ember.inference_mode against PyTorch's rules: no graph, tensors made inside have no version
counter, and such tensors can be neither saved for backward nor written in place outside it."""
import threading

import numpy as np
import pytest

import ember as em
from ember import nn

from .devices import DEVICES


@pytest.mark.parametrize("device", DEVICES)
def test_no_graph_and_inference_tensors(device):
    w = em.randn(3, 3, device=device, requires_grad=True)
    with em.inference_mode():
        assert em.is_inference_mode_enabled() and not em.is_grad_enabled()
        y = (w @ w).relu() * 2
        assert not y.requires_grad and y.grad_fn is None
        assert y.is_inference() and not w.is_inference()
    assert not em.is_inference_mode_enabled() and em.is_grad_enabled()
    np.testing.assert_allclose(y.numpy(), 2 * np.maximum(w.numpy() @ w.numpy(), 0), rtol=1e-5)


def test_writes_inside_are_free_and_normal_tensors_still_count():
    x = em.zeros(4)
    with em.inference_mode():
        t = em.ones(4)
        t.fill_(2.0)
        t.zero_()
        x.fill_(3.0)  # a normal tensor written in inference mode still counts the write
    assert x._version_count == 1
    with pytest.raises(RuntimeError, match="inference mode"):
        t._version_count  # noqa: B018  (an inference tensor has no counter, as in PyTorch)


def test_outside_inference_mode_such_tensors_are_refused():
    w = em.randn(3, requires_grad=True)
    with em.inference_mode():
        t = em.randn(3)
    with pytest.raises(RuntimeError, match="saved for backward"):
        w * t  # mul saves its inputs
    with pytest.raises(RuntimeError, match="inference mode"):
        t.fill_(0.0)
    c = t.clone()
    assert not c.is_inference()
    (w * c).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), t.numpy())
    assert (t + 1).numpy().shape == (3,)  # reading it is fine


def test_decorator_nesting_and_mode_false():
    @em.inference_mode()
    def f(x):
        return x * 2

    x = em.ones(2, requires_grad=True)
    assert f(x).is_inference() and not f(x).requires_grad
    with em.inference_mode():
        with em.inference_mode(False):
            assert not em.is_inference_mode_enabled()
            assert not em.ones(1).is_inference()
        assert em.is_inference_mode_enabled()
    with em.inference_mode(False):
        assert em.is_grad_enabled() and (x * 2).requires_grad


def test_per_thread():
    seen = []
    with em.inference_mode():
        th = threading.Thread(target=lambda: seen.append((em.is_inference_mode_enabled(), em.ones(1).is_inference())))
        th.start()
        th.join()
    assert seen == [(False, False)]


class _Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
        self.seen = []

    def forward(self, x):
        self.seen.append(em.is_inference_mode_enabled())
        return self.net(x)


def test_predict_and_evaluate_run_in_inference_mode():
    em.manual_seed(0)
    model = _Probe()
    model.compile(optimizer="sgd", loss="cross_entropy")
    x = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    y = np.arange(10) % 2
    p = model.predict(x)
    model.evaluate(x, y, verbose=0)
    assert model.seen and all(model.seen)
    with em.no_grad():
        np.testing.assert_allclose(p, model.eval()(em.tensor(x)).numpy(), rtol=1e-6)


def test_fit_and_evaluate_checks_leave_the_model_alone():
    """The shape check before fit/evaluate runs in eval mode: batch-norm statistics stay put."""
    em.manual_seed(0)
    model = _Probe()
    model.compile(optimizer="sgd", loss="cross_entropy")
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32) * 5 + 3
    before = model.net[1].running_mean.numpy().copy()
    model.evaluate(x, np.arange(6) % 2)
    np.testing.assert_array_equal(model.net[1].running_mean.numpy(), before)
    assert model.training
