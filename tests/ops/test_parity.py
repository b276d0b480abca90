"""Every op in the database, on every device, against the numpy device; the numpy
device against each op's plain reference; and against PyTorch where installed."""
import numpy as np
import pytest

import ember as em

from .check import KERNEL_DEVICES, assert_close, make_inputs, require, run, tolerance
from .op_db import OPS


@pytest.mark.parametrize("op", OPS, ids=str)
def test_numpy_device_matches_reference(op):
    for s in op.samples(np.random.default_rng(0)):
        out, _ = run(op, s, np.float64, "numpy")
        ref = op.ref(*[a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                       for a in s.args], **s.kwargs)
        assert_close(out, ref, dict(rtol=1e-10, atol=1e-12), f"{op.name} {s}")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("op", OPS, ids=str)
def test_device_matches_numpy(op, dtype, device):
    require(device)
    tol = tolerance(op, dtype)
    for s in op.samples(np.random.default_rng(0)):
        want, want_grads = run(op, s, dtype, "numpy")
        got, got_grads = run(op, s, dtype, device)
        assert got.dtype == want.dtype, f"{op.name} {s}: dtype {got.dtype} != {want.dtype}"
        assert_close(got, want, tol, f"{op.name} {s} forward on {device}")
        for i, (g, w) in enumerate(zip(got_grads, want_grads)):
            assert (g is None) == (w is None), f"{op.name} {s}: grad {i} present on one device only"
            if w is not None:
                assert_close(g, w, tol, f"{op.name} {s} grad of input {i} on {device}")


@pytest.mark.torch
@pytest.mark.parametrize("op", [op for op in OPS if op.torch_fn is not None], ids=str)
def test_matches_torch(op):
    torch = pytest.importorskip("torch")
    device = em.get_default_device()
    for s in op.samples(np.random.default_rng(0)):
        leaves, build = make_inputs(s, np.float64, device)
        targs = [torch.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                 else torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in s.args]
        want = op.torch_fn(*targs, **s.kwargs)
        if want is None:
            continue
        got = op.fn(*build(leaves), **s.kwargs)
        assert_close(got.numpy(), want.detach().numpy(), dict(rtol=1e-9, atol=1e-10), f"{op.name} {s} vs torch")
        if not op.grad or got.numel() == 0:
            continue
        g = np.random.default_rng(1).standard_normal(got.shape)
        got.backward(em.tensor(g, dtype=np.float64, device=device))
        want.backward(torch.from_numpy(g))
        for t, leaf in zip([t for t in targs if isinstance(t, torch.Tensor) and t.requires_grad], leaves):
            expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
            grad = leaf.grad.numpy()
            if s.transpose and grad.ndim >= 2:
                grad = grad.swapaxes(-1, -2)
            assert_close(grad, expected, dict(rtol=1e-9, atol=1e-10), f"{op.name} {s} grad vs torch")


HEAVY = [op for op in OPS if op.name in ("matmul", "linear", "softmax", "log_softmax", "cross_entropy", "relu",
                                         "gelu", "sigmoid", "tanh", "conv2d", "max_pool2d", "avg_pool2d",
                                         "batch_norm", "dropout", "layer_norm", "embedding",
                                         "scaled_dot_product_attention", "interpolate")]
HEAVY += [op for op in OPS if op.name == "conv_transpose2d"]  # conv2d's GEMM and reduction kernels


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random:3"])
@pytest.mark.parametrize("op", HEAVY, ids=str)
def test_cuda_emu_schedules_with_race_checker(op, schedule):
    """The kernels with barriers and shuffles, through autograd, under each emulator schedule with checks on."""
    require("cuda-emu")
    emu = em.backends.get_backend("cuda-emu").ops.module
    emu.set_schedule(schedule)
    emu.set_check(True)
    try:
        for s in op.samples(np.random.default_rng(0))[:4]:
            want, want_grads = run(op, s, np.float32, "numpy")
            got, got_grads = run(op, s, np.float32, "cuda-emu")
            assert_close(got, want, tolerance(op, np.float32), f"{op.name} {s} under {schedule}")
            for g, w in zip(got_grads, want_grads):
                assert_close(g, w, tolerance(op, np.float32), f"{op.name} {s} grad under {schedule}")
    finally:
        emu.set_schedule("")
        emu.set_check("")
