"""Kernel-level tests for embedding: out-of-range indices raise IndexError naming the index
on every device (before any kernel reads or writes), repeated indices accumulate, padding_idx
gets no gradient, and the module matches PyTorch by name."""
import numpy as np
import pytest

import ember as em

from .check import KERNEL_DEVICES, require

DEVICES = ["numpy"] + KERNEL_DEVICES


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bad", [10, -1, 99])
def test_index_out_of_range_raises_before_launch(device, bad):
    require(device)
    w = em.randn(10, 3, device=device, requires_grad=True)
    idx = em.tensor(np.array([[1, 2], [bad, 4]]), device=device)
    with pytest.raises(IndexError, match=rf"index {bad} at position 2 .*10 embeddings"):
        em.nn.functional.embedding(idx, w)
    assert w.grad is None


@pytest.mark.parametrize("device", DEVICES)
def test_repeated_indices_and_padding(device):
    require(device)
    w = em.tensor(np.arange(12.0).reshape(4, 3), dtype=em.float64, device=device, requires_grad=True)
    idx = em.tensor(np.array([2, 2, 0, 2, 3, 3]), device=device)
    out = em.nn.functional.embedding(idx, w, padding_idx=3)
    np.testing.assert_array_equal(out.numpy()[:2], [[6, 7, 8], [6, 7, 8]])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1] * 3, [0] * 3, [3] * 3, [0] * 3])


@pytest.mark.parametrize("device", DEVICES)
def test_module_matches_torch(device):
    require(device)
    torch = pytest.importorskip("torch")
    t = torch.nn.Embedding(20, 5, padding_idx=0).double()
    m = em.nn.Embedding(20, 5, padding_idx=0, dtype=em.float64).to(device)
    assert float(abs(m.weight[0]).sum().item()) == 0  # the padding row starts at zero
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    idx = np.random.default_rng(0).integers(0, 20, (3, 7))
    (t(torch.from_numpy(idx)) ** 2).sum().backward()
    y = m(em.tensor(idx, device=device))
    assert y.shape == (3, 7, 5)
    (y ** 2).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("idx_shape,dim", [((0,), 3), ((2, 0), 3), ((2, 3), 0)])
def test_empty_lookup_like_torch(device, idx_shape, dim):
    """No indices (or no columns): an empty output and a zero gradient for the whole table."""
    torch = pytest.importorskip("torch")
    w = em.full((4, dim), 1.5, device=device, requires_grad=True)
    idx = np.zeros(idx_shape, np.int64)
    y = em.nn.functional.embedding(em.tensor(idx, device=device), w)
    y.sum().backward()
    tw = torch.full((4, dim), 1.5, requires_grad=True)
    ty = torch.nn.functional.embedding(torch.from_numpy(idx), tw)
    ty.sum().backward()
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())


def test_bad_arguments():
    w = em.randn(5, 2)
    with pytest.raises(TypeError, match="integer"):
        em.nn.functional.embedding(em.randn(3), w)
    with pytest.raises(ValueError, match="padding_idx"):
        em.nn.functional.embedding(em.tensor(np.array([1])), w, padding_idx=5)
    with pytest.raises(ValueError, match="2-D"):
        em.nn.functional.embedding(em.tensor(np.array([1])), em.randn(5))
    with pytest.raises(ValueError):
        em.nn.Embedding(0, 3)


def test_kernel_argument_checks(cpu_kernels):
    w = np.zeros((5, 2), np.float32)
    with pytest.raises(TypeError, match="int64"):
        cpu_kernels.embedding_forward(w, np.zeros(3, np.int32), np.empty((3, 2), np.float32))
    with pytest.raises(ValueError, match="out"):
        cpu_kernels.embedding_forward(w, np.zeros(3, np.int64), np.empty((3, 3), np.float32))
    with pytest.raises(ValueError, match="padding_idx"):
        cpu_kernels.embedding_backward(np.zeros(3, np.int64), np.zeros((3, 2), np.float32), w, 7)
    with pytest.raises(IndexError, match="index 5"):
        cpu_kernels.embedding_backward(np.array([0, 5, 1]), np.zeros((3, 2), np.float32), w, -1)
