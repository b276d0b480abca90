"""Bad input raises a Python exception that names the shapes or values; nothing crashes."""
import numpy as np
import pytest

import ember as em

from .devices import DEVICES, KERNEL_DEVICES, require


@pytest.fixture(params=DEVICES)
def dev(request):
    require(request.param)
    return request.param


def test_matmul_shape_mismatch(dev):
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        em.ones(2, 3, device=dev) @ em.ones(4, 5, device=dev)
    with pytest.raises(ValueError, match="batch dimensions"):
        em.ones(2, 2, 3, device=dev) @ em.ones(3, 3, 4, device=dev)
    with pytest.raises(ValueError, match="at least one dimension"):
        em.matmul(em.ones((), device=dev), em.ones(3, device=dev))


def test_broadcast_mismatch_names_shapes(dev):
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        em.ones(3, device=dev) + em.ones(4, device=dev)


def test_cross_entropy_bad_labels(dev):
    x = em.randn(3, 4, device=dev)
    with pytest.raises(IndexError, match="label 4 at row 1"):
        em.nn.functional.cross_entropy(x, em.tensor([0, 4, 1], device=dev))
    with pytest.raises(IndexError, match="label -1"):
        em.nn.functional.cross_entropy(x, em.tensor([0, 1, -1], device=dev))
    with pytest.raises(ValueError, match=r"target of shape \(3,\)"):
        em.nn.functional.cross_entropy(x, em.tensor([0, 1], device=dev))
    with pytest.raises(TypeError, match="integer class indices"):
        em.nn.functional.cross_entropy(x, em.tensor([0.0, 1.0, 2.0], device=dev))


def test_activation_rejects_integers(dev):
    with pytest.raises(TypeError, match="int64"):
        em.tensor([1, 2], device=dev).relu()


def test_softmax_axis_errors(dev):
    with pytest.raises(IndexError, match="out of range"):
        em.ones(2, 3, device=dev).softmax(dim=2)
    with pytest.raises(TypeError, match="dim"):
        em.nn.functional.softmax(em.ones(2, 3, device=dev))


def test_reshape_and_views(dev):
    x = em.ones(2, 3, device=dev)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)
    with pytest.raises(IndexError, match="out of range"):
        x.sum(dim=5)
    with pytest.raises(ValueError, match="differ outside axis"):
        em.cat([x, em.ones(3, 3, device=dev)], dim=1)
    with pytest.raises(ValueError, match="same shape"):
        em.stack([x, em.ones(3, 2, device=dev)])


def test_indexing_out_of_range(dev):
    x = em.ones(2, 3, device=dev)
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(IndexError, match="index 7 is out of bounds"):
        x[em.tensor([0, 7], device=dev)]
    with pytest.raises(IndexError, match="boolean index"):
        x[em.tensor([True, False, True], device=dev)]


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_mixed_devices_rejected(device):
    with pytest.raises(ValueError, match="different devices"):
        em.ones(2, device="numpy") + em.ones(2, device=device)


def test_bad_dtype_and_data():
    with pytest.raises(TypeError, match="unknown dtype"):
        em.tensor([1.0], dtype="float8")
    with pytest.raises(ValueError, match="ragged"):
        em.tensor([[1.0], [1.0, 2.0]])
    with pytest.raises(RuntimeError, match="floating-point"):
        em.tensor([1, 2], requires_grad=True)


def test_kernel_bindings_check_before_running(cpu_kernels):
    cpu = cpu_kernels
    a = np.ones((1, 2, 3), np.float32)
    with pytest.raises(ValueError, match="inner dimensions"):
        cpu.matmul_forward(a, np.ones((1, 4, 5), np.float32), np.empty((1, 2, 5), np.float32))
    with pytest.raises(TypeError, match="float32"):
        cpu.matmul_forward(a, np.ones((1, 3, 2)), np.empty((1, 2, 2), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        cpu.relu_forward(np.ones((4, 4), np.float32)[:, ::2], np.empty((4, 2), np.float32))
    with pytest.raises(TypeError, match="int64"):
        cpu.relu_forward(np.ones(3, np.int64), np.empty(3, np.int64))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        cpu.relu_forward([1.0], np.empty(1, np.float32))
    with pytest.raises(ValueError, match="writable"):
        out = np.empty(3, np.float32)
        out.flags.writeable = False
        cpu.relu_forward(np.ones(3, np.float32), out)


def test_optimizer_and_module_arguments():
    p = em.nn.Parameter(em.ones(2))
    with pytest.raises(ValueError, match="learning rate"):
        em.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="momentum"):
        em.optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="empty parameter list"):
        em.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="in_features"):
        em.nn.Linear(0, 3)
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\).*weight of shape \(3, 4\)"):
        em.nn.Linear(4, 3)(em.ones(2, 5))
    with pytest.raises(ValueError, match="reduction"):
        em.nn.CrossEntropyLoss(reduction="avg")


def test_nonfinite_values_propagate_not_crash(dev):
    x = em.tensor([np.inf, -np.inf, np.nan, 1e4, -1e4], device=dev)
    s = x.softmax(dim=0).numpy()
    assert s.shape == (5,)
    big = em.tensor([[1e4, -1e4, 0.0]], device=dev)
    np.testing.assert_allclose(big.log_softmax(dim=1).numpy(), [[0.0, -2e4, -1e4]], rtol=1e-6)


def _int_args(em_or_torch, big):
    """(argument name, call) pairs passing `big` as one integer argument, for ember or torch."""
    F, nn = em_or_torch.nn.functional, em_or_torch.nn
    x, w = em_or_torch.zeros((1, 1, 4, 4)), em_or_torch.zeros((1, 1, 2, 2))
    logits, labels = em_or_torch.zeros((2, 3)), em_or_torch.tensor(np.array([0, 1]))
    return [
        ("stride", lambda: F.conv2d(x, w, stride=big)),
        ("padding", lambda: F.conv2d(x, w, padding=(1, big))),
        ("dilation", lambda: F.conv2d(x, w, dilation=big)),
        ("groups", lambda: F.conv2d(x, w, groups=big)),
        ("stride", lambda: F.max_pool2d(x, 2, stride=big)),
        ("kernel_size", lambda: F.max_pool2d(x, (big, 2))),
        ("stride", lambda: F.avg_pool2d(x, 2, stride=big)),
        ("output_size", lambda: F.adaptive_avg_pool2d(x, big)),
        ("ignore_index", lambda: F.cross_entropy(logits, labels, ignore_index=big)),
        ("ignore_index", lambda: F.nll_loss(logits, labels, ignore_index=big)),
        ("stride", lambda: nn.Conv2d(1, 1, 2, stride=big)(x)),
        ("hidden_size", lambda: nn.RNN(2, big)),
    ]


@pytest.mark.parametrize("big", [2 ** 64, 2 ** 63, -2 ** 63 - 1])
def test_integer_arguments_outside_int64(big):
    """Refused in Python with a ValueError naming the argument and its value, not by pybind11's
    'incompatible function arguments'; torch refuses each too."""
    for name, call in _int_args(em, big):
        with pytest.raises(ValueError, match=rf"{name} {big} is outside the range of int64"):
            call()
    torch = pytest.importorskip("torch")
    for _name, call in _int_args(torch, big):
        with pytest.raises((ValueError, TypeError, RuntimeError, OverflowError)):
            call()
