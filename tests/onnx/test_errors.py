"""What ember.onnx.export refuses, and how it says so: ValueError/TypeError whose message starts
"[onnx.export]" and names the op, the module or the argument."""
import io

import numpy as np
import pytest

import ember as em
import ember.onnx
from ember import autograd, nn
from ember.nn import functional as F

from .common import randn
from .test_ops import Fn


def _export(model, args, **kw):
    return ember.onnx.export(model, args, io.BytesIO(), **kw)


class Loss(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x, y):
        return F.mse_loss(self.fc(x), y)


def test_op_without_converter_names_it_and_the_module():
    model = Loss()
    with pytest.raises(ValueError, match=r"^\[onnx.export\] no ONNX converter for ember op MSELossBackward") as e:
        _export(model, (randn(4, 3), randn(4, 2)))
    assert "LinearBackward" in str(e.value)  # the list of ops that do export
    assert autograd._trace is None and not any("forward" in m.__dict__ for m in model.modules())


def test_untraced_tensor_from_the_input():
    with pytest.raises(ValueError, match=r"did not trace .* changes with the input values"):
        _export(Fn(lambda x: x + em.tensor(x.numpy() * 2)), (randn(3, 4),))


def test_untraced_tensor_sized_by_a_dynamic_axis():
    with pytest.raises(ValueError, match=r"did not trace .* changes with the dynamic axes"):
        _export(Fn(lambda x: x + em.arange(x.shape[0] * 4).reshape(-1, 4)), (randn(3, 4),),
                dynamic_axes={"input": [0]})


def test_data_dependent_control_flow():
    x = em.tensor(np.array([[1.0, 2.0], [3.0, -4.0]], dtype=np.float32))  # x[0, 0] > 0, then < 0 once rolled
    with pytest.raises(ValueError, match=r"different ops on other input values"):
        _export(Fn(lambda x: x.exp() if x[0, 0].item() > 0 else -x), (x,))


def _one_more(x):
    """(N, T) -> (N + 1, T + 1) -> (T + 1, N + 1): two sizes that are no multiple of N or T."""
    y = em.cat([x, x[:, :1]], dim=1)
    y = em.cat([y, y[:1]], dim=0)
    return y.reshape(y.shape[1], y.shape[0])


def test_reshape_with_two_sizes_off_the_dynamic_axes():
    with pytest.raises(ValueError, match=r"reshape of \(4, 6\) to \(6, 4\).*not a multiple of them"):
        _export(Fn(_one_more), (randn(3, 5),), dynamic_axes={"input": [0, 1]})


def test_slice_at_half_a_dynamic_size():
    with pytest.raises(ValueError, match=r"the slice stop 2 .* changes with the dynamic axes \(to 5\)"):
        _export(Fn(lambda x: x[:, : x.shape[1] // 2]), (randn(3, 5),), dynamic_axes={"input": [1]})


def test_max_pool_indices_have_no_onnx_value():
    with pytest.raises(ValueError, match=r"output 1 of MaxPool2dBackward .* has no ONNX equivalent"):
        _export(Fn(lambda x: F.max_pool2d(x, 2, return_indices=True)), (randn(1, 2, 4, 4),))


def test_bool_mask_indexing():
    with pytest.raises(ValueError, match=r"bool mask .* data-dependent shape"):
        _export(Fn(lambda x: x[x > 0]), (randn(3, 4),))


def test_attention_dropout():
    q = randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"dropout_p=0.5"):
        _export(Fn(lambda q: F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)), (q,))


@pytest.mark.parametrize("kw, match", [
    ({"opset_version": 13}, rf"opset_version must be in 17\.\.{ember.onnx.OPSETS.stop - 1}, got 13"),
    ({"dynamic_axes": {"nope": [0]}}, r"dynamic_axes names 'nope'"),
    ({"dynamic_axes": {"input": [2]}}, r"dynamic axis 2 of 'input' is out of range for its shape \(3, 4\)"),
    ({"input_names": ["a", "b"]}, r"2 input names \['a', 'b'\] for 1 inputs"),
    ({"output_names": ["y", "y"]}, r"2 output names"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=r"^\[onnx.export\] " + match):
        _export(nn.Linear(4, 2), (randn(3, 4),), **kw)


def test_bad_args_type():
    with pytest.raises(TypeError, match=r"^\[onnx.export\] args must be a Tensor or a tuple"):
        _export(nn.Linear(4, 2), np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match=r"^\[onnx.export\] args may hold Tensors"):
        _export(nn.Linear(4, 2), (np.zeros((3, 4), np.float32),))


def test_model_that_fails_on_other_sizes():
    w = randn(4, 4)
    with pytest.raises(ValueError, match=r"failed on the second trace"):
        _export(Fn(lambda x: x.reshape(2, 6) @ w[:, :1].reshape(1, 4).expand(6, 4)), (randn(3, 4),),
                dynamic_axes={"input": [0]})


def _set_first(x):
    y = x * 2
    y[0] = 0.0
    return y


def _zero_after_use(x):
    h = em.zeros(3, 4)
    y = x + h
    h += 1.0
    return y + h


@pytest.mark.parametrize("fn, match", [
    (_set_first, r"an in-place write \(setitem"),
    (lambda x: (x * 1).fill_(2.0), r"an in-place write"),
    (_zero_after_use, r"an in-place update of a tensor of shape \(3, 4\) that the model made outside"),
    (lambda x: _add_to_view(x), r"an in-place update .* shares its storage"),
], ids=["setitem", "fill_", "update_after_use", "update_of_a_view"])
def test_untraced_inplace_writes(fn, match):
    with pytest.raises(ValueError, match=r"^\[onnx.export\] " + match):
        _export(Fn(fn), (randn(3, 4),))
    assert em.Tensor._bump.__name__ == "_bump"  # the tracer's wrappers are gone


def _add_to_view(x):
    y = x * 1
    v = y.reshape(4, 3)
    v += 1.0
    return y
