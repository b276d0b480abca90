"""Tensor ops and functional code (reshapes, arithmetic, indexing, matmul, cat, reductions)
exported inside a module, also with a dynamic batch axis."""
import numpy as np
import pytest

import ember as em
from ember import nn

from .common import check_export, opsets, randn


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


ONE = {
    "view": lambda x: x.view(x.shape[0], 4, -1),
    "reshape": lambda x: x.reshape(-1, 12),
    "flatten": lambda x: x.flatten(1),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 1),
    "T_2d": lambda x: x.reshape(x.shape[0], -1).T,
    "squeeze_unsqueeze": lambda x: x.unsqueeze(1).unsqueeze(-1).squeeze(1).squeeze(),
    "expand": lambda x: x[:, :1].expand(x.shape[0], 5, 6),
    "arith_scalars": lambda x: (2 * x - 1) / 3 + x * x - 0.5,
    "pow": lambda x: x ** 2 + abs(x) ** 0.5,
    "unary": lambda x: (-x).exp() + (abs(x) + 1).log() + (abs(x) + 1).sqrt() + abs(x),
    "clip": lambda x: x.clip(-0.5, 0.25) + x.clip(min=0.1) + x.clip(max=-0.1),
    "where": lambda x: em.where(x > 0, x, x * 0.1),
    "matmul_self": lambda x: x @ x.transpose(-1, -2),
    "cat": lambda x: em.cat([x, x * 2, x[:, :2]], dim=1),
    "stack": lambda x: em.stack([x, -x], dim=1),
    "index_int": lambda x: x[1] + x[-1],
    "index_slices": lambda x: x[:, 1:3, ::2] * x[:, -2:, 1::2],
    "index_neg_step": lambda x: x[:, ::-1, 4:1:-2],
    "index_ellipsis_none": lambda x: x[..., 2][:, None, :, None],
    "index_mixed": lambda x: x[:, 1, 2:],
    "index_array": lambda x: x[:, em.tensor(np.array([3, 0, 3, -1]))],
    "sum_mean": lambda x: x.sum(dim=1) + x.mean(dim=(1, 2), keepdim=True).squeeze(-1),
    "sum_all": lambda x: x.sum() + x.mean(),
    "max_min": lambda x: x.max(dim=2) - x.min(dim=-1, keepdim=True).squeeze(-1),
    "var_std": lambda x: x.var(dim=1) + x.std(dim=1),
    "float_cast": lambda x: (x * 10).long().float() / 10,
    "comparisons": lambda x: ((x > 0).float() + (x >= 0.5).float() + (x < -1).float() + (x <= 0.25).float()
                              + (x == x).float() - (x != 0).float()),
    "argmax": lambda x: x.argmax(dim=1),
    "argmin_keep": lambda x: x.argmin(dim=-1, keepdim=True),
    "argmax_all": lambda x: x[0].argmax() + x.argmax(keepdim=True) * 0,
}


@pytest.mark.parametrize("opset", opsets(17, 18))
@pytest.mark.parametrize("name", sorted(ONE))
def test_one_input(name, opset):
    fn = ONE[name]
    x = randn(2, 4, 6)
    if name in ("index_int",):  # the first axis is indexed: it cannot be the dynamic one
        check_export(Fn(fn), (x,), opset_version=opset)
        return
    check_export(Fn(fn), (x,), opset_version=opset, input_names=["x"], dynamic_axes={"x": [0]},
                 others=[(randn(5, 4, 6, seed=1),)])


TWO = {
    "add_broadcast": (lambda a, b: a + b, (3, 4), (4,)),
    "sub_mul_div": (lambda a, b: (a - b) * b / (abs(b) + 1), (2, 3, 4), (3, 1)),
    "pow_tensors": (lambda a, b: abs(a) ** b, (3, 4), (3, 4)),
    "matmul_2d": (lambda a, b: a @ b, (3, 4), (4, 5)),
    "matmul_batched_broadcast": (lambda a, b: a @ b, (2, 3, 4), (4, 5)),
    "matmul_vector": (lambda a, b: a @ b, (2, 3, 4), (4,)),
    "matmul_vector_left": (lambda a, b: b @ a, (2, 4, 3), (4,)),
    "cat_last": (lambda a, b: em.cat([a, b], dim=-1), (3, 4), (3, 2)),
    "where_tensors": (lambda a, b: em.where(b > 0, a, b), (3, 4), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(TWO))
def test_two_inputs(name):
    fn, sa, sb = TWO[name]
    check_export(Fn(fn), (randn(*sa), randn(*sb, seed=1)))


def test_dynamic_reshape_of_heads():
    """(B, T, E) -> (B, T, H, E/H) -> (B, H, T, E/H) -> (B*H, T, E/H): the batch is dynamic."""
    def heads(x):
        b, t, e = x.shape
        return x.reshape(b, t, 2, e // 2).permute(0, 2, 1, 3).reshape(b * 2, t, e // 2)
    check_export(Fn(heads), (randn(3, 5, 8),), input_names=["x"], dynamic_axes={"x": {0: "batch"}},
                 others=[(randn(7, 5, 8),)])


def _time_major(x):
    """(N, T, C) -> (N * T, C) -> (T, N, C) by reshapes alone: two sizes follow the dynamic axes."""
    n, t, c = x.shape
    return x.reshape(n * t, c).reshape(n, t, c).transpose(0, 1).reshape(t * n, c).reshape(t, n, c)


FILLED = {
    "zeros_like_batch": lambda x: x + em.zeros(x.shape[0], 1, 6),
    "ones_times_time": lambda x: x * em.ones(1, x.shape[1], 1) * 2,
    "full_flat": lambda x: x.reshape(-1) + em.full((x.shape[0] * x.shape[1] * 6,), 0.5),
    "expand_to_batch": lambda x: em.ones(1, 1, 6).expand(x.shape[0], x.shape[1], 6) + x,
    "unflatten": _time_major,
    "swap_sizes": lambda x: x.reshape(x.shape[1], x.shape[0], 6),
}


@pytest.mark.parametrize("name", sorted(FILLED))
def test_sizes_from_two_dynamic_axes(name):
    """Constants filled with one value and reshape/expand targets sized by N, T, N * T: read off the input."""
    check_export(Fn(FILLED[name]), (randn(2, 3, 6),), input_names=["x"], dynamic_axes={"x": [0, 1]},
                 others=[(randn(4, 7, 6, seed=1),), (randn(1, 1, 6, seed=2),)])


def test_output_is_input_and_constant():
    """A model may hand back its input (an Identity) and a tensor it made (a constant)."""
    check_export(Fn(lambda x: (x, em.ones(3) * 2, x + 1)), (randn(2, 3),))


def test_float64():
    x = em.tensor(np.random.default_rng(0).standard_normal((4, 3)), dtype=em.float64)
    proto = check_export(Fn(lambda x: nn.functional.relu(x @ x.T) + x.sum()), (x,), rtol=1e-12, atol=1e-12)
    assert proto.graph.input[0].type.tensor_type.elem_type == 11  # DOUBLE


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        before = y * 2  # uses y before the update
        y += x
        y *= 0.5
        return y - before


def test_inplace_update_is_traced():
    check_export(Residual(), (randn(3, 4),), input_names=["x"], dynamic_axes={"x": [0]}, others=[(randn(6, 4),)])
