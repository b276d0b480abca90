"""Hypothesis fuzz of shapes: broadcasting arithmetic and matmul on every kernel device vs NumPy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import ember as em

from .devices import DEVICES


@settings(max_examples=40, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=5), seed=st.integers(0, 99))
@pytest.mark.parametrize("device", DEVICES)
def test_broadcast_arithmetic(device, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    ta = em.tensor(a, dtype=em.float64, device=device, requires_grad=True)
    tb = em.tensor(b, dtype=em.float64, device=device, requires_grad=True)
    out = ta * tb + ta - tb
    np.testing.assert_allclose(out.numpy(), a * b + a - b, rtol=1e-12)
    out.sum().backward()
    full = np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(ta.grad.numpy(), np_unbroadcast(np.broadcast_to(b + 1, full), a.shape), rtol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), np_unbroadcast(np.broadcast_to(a - 1, full), b.shape), rtol=1e-12)


def np_unbroadcast(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 40), k=st.integers(1, 40), n=st.integers(0, 40), batch=st.sampled_from([(), (1,), (3,),
                                                                                                  (2, 1)]),
       ta=st.booleans(), tb=st.booleans(), seed=st.integers(0, 99))
@pytest.mark.parametrize("device", DEVICES)
def test_matmul_shapes(device, m, k, n, batch, ta, tb, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(batch + (m, k)), rng.standard_normal((k, n))
    x = em.tensor(np.swapaxes(a, -1, -2).copy() if ta else a, device=device, dtype=em.float64, requires_grad=True)
    w = em.tensor(b.T.copy() if tb else b, device=device, dtype=em.float64, requires_grad=True)
    xa, wb = (x.transpose(-1, -2) if ta else x), (w.T if tb else w)
    out = xa @ wb
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(em.tensor(g, dtype=em.float64, device=device))
    ga = g @ b.T
    gb = (np.swapaxes(a, -1, -2) @ g).reshape((int(np.prod(batch)), k, n)).sum(0)
    np.testing.assert_allclose(xa_grad(x, ta), ga, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w.grad.numpy().T if tb else w.grad.numpy(), gb, rtol=1e-10, atol=1e-10)


def xa_grad(x, ta):
    g = x.grad.numpy()
    return np.swapaxes(g, -1, -2) if ta else g
