"""Finite-difference gradient checks in float64 of every differentiable op, on every device."""
import numpy as np
import pytest

from ember.testing import gradcheck

from .check import DEVICES, make_inputs, require
from .op_db import OPS


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", [op for op in OPS if op.grad], ids=str)
def test_gradcheck(op, device):
    require(device)
    checked = 0
    for s in op.samples(np.random.default_rng(0)):
        leaves, build = make_inputs(s, np.float64, device)
        if not s.gradcheck or not leaves or any(t.numel() == 0 for t in leaves):
            continue
        assert gradcheck(lambda *ls: op.fn(*build(ls), **s.kwargs), leaves, atol=1e-6, rtol=1e-5), op.name
        checked += 1
    assert checked, f"{op.name}: no sample was gradchecked"
