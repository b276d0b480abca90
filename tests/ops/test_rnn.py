"""Kernel-level tests of the fused recurrent cells and the sequence kernels: float32 on each
ISA level against the float64 reference (hidden sizes around the SIMD widths), the CUDA
kernels under the emulator's schedules with its race checker on, and the bindings' checks."""
import numpy as np
import pytest

import ember as em
from ember.backends import numpy_ref

from .check import require

MODES = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
G = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _seq_args(rng, mode, steps, n, i, h, dtype):
    g = G[mode] * h
    x = rng.standard_normal((steps, n, i))
    h0, c0 = rng.standard_normal((n, h)), rng.standard_normal((n, h)) if mode == "lstm" else None
    w_ih, w_hh = rng.standard_normal((g, i)) * 0.4, rng.standard_normal((g, h)) * 0.4
    b_ih, b_hh = rng.standard_normal(g), rng.standard_normal(g)
    cast = [None if a is None else a.astype(dtype) for a in (x, h0, c0, w_ih, w_hh, b_ih, b_hh)]
    return cast


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("hidden", [1, 7, 8, 15, 16, 17, 33])
def test_float32_sequence_on_each_isa(cpu_kernels, isa, mode, hidden):
    """rnn_forward / rnn_backward float32 against the float64 reference, per ISA level."""
    rng = np.random.default_rng(hidden)
    a64 = _seq_args(rng, mode, 4, 3, 5, hidden, np.float64)
    a32 = [None if a is None else a.astype(np.float32) for a in a64]
    ops = em.backends.get_backend("cpu").ops
    for reverse in (False, True):
        want = numpy_ref.rnn_forward(mode, reverse, *a64)
        got = ops.rnn_forward(mode, reverse, *a32)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)
        gy = rng.standard_normal(want[0].shape)
        gc = rng.standard_normal(a64[1].shape) if mode == "lstm" else None
        x, h0, c0, w_ih, w_hh = a64[:5]
        want_g = numpy_ref.rnn_backward(mode, reverse, x, h0, c0, w_ih, w_hh, *want, gy, gc)
        x, h0, c0, w_ih, w_hh = a32[:5]
        got_g = ops.rnn_backward(mode, reverse, x, h0, c0, w_ih, w_hh, *got, gy.astype(np.float32),
                                 None if gc is None else gc.astype(np.float32))
        for k, (g_, w_) in enumerate(zip(got_g, want_g)):
            if w_ is None:
                assert g_ is None
                continue
            scale = max(1.0, float(np.abs(w_).max()))
            np.testing.assert_allclose(g_, w_, rtol=2e-4, atol=2e-5 * scale, err_msg=f"gradient {k}")


@pytest.mark.parametrize("mode", MODES)
def test_extreme_preactivations_stay_finite(cpu_kernels, mode):
    """Saturated gates (|a| ~ 1e3) give finite states and gradients."""
    rng = np.random.default_rng(0)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _seq_args(rng, mode, 3, 2, 4, 5, np.float32)
    w_ih *= 500
    ops = em.backends.get_backend("cpu").ops
    y, cs, ws = ops.rnn_forward(mode, False, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    grads = ops.rnn_backward(mode, False, x, h0, c0, w_ih, w_hh, y, cs, ws, np.ones_like(y),
                             np.ones_like(h0) if mode == "lstm" else None)
    assert np.isfinite(y).all() or mode == "rnn_relu"
    assert all(g is None or np.isfinite(g).all() for g in grads) or mode == "rnn_relu"


@pytest.mark.parametrize("schedule", ["reverse", "random:7"])
@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_cuda_emu_schedules_with_race_checker(mode, schedule):
    require("cuda-emu")
    emu = em.backends.get_backend("cuda-emu").ops.module
    emu.set_schedule(schedule)
    emu.set_check(True)
    try:
        rng = np.random.default_rng(2)
        a = _seq_args(rng, mode, 3, 2, 3, 5, np.float64)
        ops = em.backends.get_backend("cuda-emu").ops
        for reverse in (False, True):
            want = numpy_ref.rnn_forward(mode, reverse, *a)
            got = ops.rnn_forward(mode, reverse, *a)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-12)
            gy = rng.standard_normal(want[0].shape)
            want_g = numpy_ref.rnn_backward(mode, reverse, *a[:5], *want, gy, None)
            got_g = ops.rnn_backward(mode, reverse, *a[:5], *got, gy, None)
            for g_, w_ in zip(got_g, want_g):
                if w_ is not None:
                    np.testing.assert_allclose(g_, w_, rtol=1e-10, atol=1e-12)
    finally:
        emu.set_schedule("")
        emu.set_check("")


def test_binding_checks_name_shapes(cpu_kernels):
    rng = np.random.default_rng(0)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _seq_args(rng, "lstm", 3, 2, 4, 5, np.float32)
    ops = em.backends.get_backend("cpu").ops
    with pytest.raises(ValueError, match="unknown mode 'lstmx'"):
        ops.module.rnn_cell_forward("lstmx", None, None, None, None, h0, None, None, None, None)
    with pytest.raises(ValueError, match=r"'w_ih' \(20, 3\) must be \(20, 4\)"):
        ops.rnn_forward("lstm", False, x, h0, c0, w_ih[:, :3].copy(), w_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="'c0' is required"):
        ops.module.rnn_forward("lstm", False, x, h0, None, w_ih, w_hh, b_ih, b_hh, np.empty((3, 2, 5), np.float32),
                               np.empty((3, 2, 5), np.float32), np.empty((3, 2, 20), np.float32),
                               np.empty((3, 2, 20), np.float32), np.empty((2, 20), np.float32))
    with pytest.raises(TypeError):
        ops.rnn_forward("lstm", False, x, h0, c0, w_ih.astype(np.float64), w_hh, b_ih, b_hh)
