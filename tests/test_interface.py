"""The interface is defined where it is read: Tensor's methods in tensor.py, Module's training
methods in train.Trainable; every autograd node is named <Op>Backward; argument checks share
one module and one message style ('[op] ...', as the kernels' bindings)."""
import inspect

import numpy as np
import pytest

import ember as em
import ember.nn.functional as F
from ember import nn, ops
from ember.autograd import Function
from ember.tensor import Tensor
from ember.train import Trainable

METHODS = ["__add__", "__radd__", "__mul__", "__matmul__", "__getitem__", "__setitem__", "__iadd__", "__eq__",
           "sum", "mean", "max", "argmax", "reshape", "view", "permute", "transpose", "relu", "softmax", "exp"]


@pytest.mark.parametrize("name", METHODS)
def test_tensor_methods_are_defined_in_the_class(name):
    fn = Tensor.__dict__[name]
    assert inspect.getsourcefile(fn).endswith("ember/tensor.py")
    assert fn.__qualname__.startswith("Tensor.")


@pytest.mark.parametrize("name", ["compile", "fit", "evaluate", "predict", "summary"])
def test_module_training_methods_come_from_trainable(name):
    assert issubclass(nn.Module, Trainable)
    assert getattr(nn.Module, name) is Trainable.__dict__[name]
    assert getattr(nn.Module, name).__qualname__ == f"Trainable.{name}"


def _nodes():
    seen, todo = [], list(Function.__subclasses__())
    while todo:
        c = todo.pop()
        seen.append(c)
        todo += c.__subclasses__()
    return [c for c in seen if c.__module__.startswith("ember.") and not c.__name__.startswith("_")]


def test_every_autograd_node_is_named_backward():
    nodes = _nodes()
    assert len(nodes) > 30
    assert [c.__name__ for c in nodes if not c.__name__.endswith("Backward")] == []


def test_grad_fn_shows_the_node_name():
    x = em.randn(1, 1, 4, 4, requires_grad=True)
    w = em.randn(2, 1, 3, 3, requires_grad=True)
    assert "grad_fn=<Conv2dBackward>" in repr(F.conv2d(x, w))
    assert type(x.relu().grad_fn).__name__ == "ReLUBackward"


@pytest.mark.parametrize("call, op", [
    (lambda x: F.relu(x), "relu"),
    (lambda x: F.softmax(x, dim=0), "softmax"),
    (lambda x: F.conv2d(x, x), "conv2d"),
    (lambda x: F.dropout(x, 0.5), "dropout"),
    (lambda x: F.layer_norm(x, 3), "layer_norm"),
    (lambda x: F.cross_entropy(x, em.tensor([0])), "cross_entropy"),
    (lambda x: F.binary_cross_entropy(x, x), "binary_cross_entropy"),
    (lambda x: F.batch_norm(x, None, None, training=True), "batch_norm"),
])
def test_float_checks_read_the_same_everywhere(call, op):
    with pytest.raises(TypeError, match=rf"^\[{op}\] input must be float32 or float64, got int64$"):
        call(em.tensor(np.zeros((2, 3), np.int64)))


def test_mismatched_operands_read_the_same_in_conv_and_rnn():
    x = em.randn(2, 3)
    with pytest.raises(TypeError, match=r"^\[LSTMCell\] weight_ih is float64 but the input is float32$"):
        ops.rnn.rnn_cell("lstm", x, em.zeros(2, 4), em.zeros(2, 4), em.randn(16, 3, dtype=em.float64),
                         em.randn(16, 4))
    with pytest.raises(TypeError, match=r"^\[conv2d\] weight is float64 but the input is float32$"):
        F.conv2d(em.randn(1, 1, 3, 3), em.randn(1, 1, 2, 2, dtype=em.float64))


def test_python_and_binding_errors_share_the_prefix_style(cpu_kernels):
    with pytest.raises(ValueError) as from_python:
        F.conv2d(em.randn(1, 1, 3, 3), em.randn(1, 1, 2, 2), stride=0)
    with pytest.raises(ValueError) as from_binding:
        cpu_kernels.conv2d_forward(np.zeros((1, 1, 3, 3), np.float32), np.zeros((1, 1, 2, 2), np.float32), None,
                                   np.zeros((1, 1, 2, 2), np.float32), (0, 0), (0, 0), (1, 1), 1)
    assert str(from_python.value).startswith("[conv2d] stride must be positive")
    assert str(from_binding.value).startswith("[conv2d_forward] stride must be positive")
