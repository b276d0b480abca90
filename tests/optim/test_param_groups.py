"""Parameter groups are checked as PyTorch checks them: a parameter in two groups, or twice in
one, is refused (it would be stepped twice); sets, bare tensors and malformed groups too."""
import numpy as np
import pytest

import ember as em
from ember import optim

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _params():
    return [em.tensor(np.ones(3, np.float32), requires_grad=True), em.tensor(np.ones(2, np.float32),
                                                                           requires_grad=True)]


def _torch_error(build):
    torch = pytest.importorskip("torch")
    p, q = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    with pytest.raises(Exception) as e:
        build(torch.optim, p, q)
    return e.value


@pytest.mark.torch
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_parameter_in_two_groups_is_refused_as_torch(name):
    build = lambda o, p, q: getattr(o, name)([{"params": [p]}, {"params": [q, p]}], lr=0.1)  # noqa: E731
    want = _torch_error(build)
    assert isinstance(want, ValueError)
    with pytest.raises(ValueError, match=str(want)):
        build(optim, *_params())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_add_param_group_with_a_known_parameter_is_refused(name):
    p, q = _params()
    opt = getattr(optim, name)([p], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [q, p]})
    assert len(opt.param_groups) == 1  # the refused group was not half-added


@pytest.mark.parametrize("params", ["list", "group"])
def test_parameter_twice_in_one_group_is_refused(params):
    p, q = _params()
    given = [p, q, p] if params == "list" else [{"params": [p, q, p]}]
    with pytest.raises(ValueError, match="duplicate parameters.*shape \\(3,\\)"):
        optim.SGD(given, lr=0.1)


@pytest.mark.torch
def test_set_of_parameters_in_a_group_is_refused_as_torch():
    want = _torch_error(lambda o, p, q: o.SGD([{"params": {p, q}}], lr=0.1))
    assert isinstance(want, TypeError) and "ordered collections" in str(want)
    with pytest.raises(TypeError, match="ordered collection"):
        optim.SGD([{"params": set(_params())}], lr=0.1)


@pytest.mark.torch
def test_bare_tensor_is_refused_as_torch():
    want = _torch_error(lambda o, p, q: o.SGD(p, lr=0.1))
    assert isinstance(want, TypeError)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts.*shape \\(3,\\)"):
        optim.SGD(_params()[0], lr=0.1)


def test_malformed_groups_are_named():
    p, q = _params()
    with pytest.raises(TypeError, match="parameter group must be a dict, got Tensor"):
        optim.SGD([{"params": [p]}, q], lr=0.1)
    with pytest.raises(ValueError, match="'params' entry.*'lr'"):
        optim.SGD([{"lr": 0.1}], lr=0.1)


def test_distinct_groups_still_step_with_their_own_lr():
    p, q = _params()
    p.grad, q.grad = em.tensor(np.ones(3, np.float32)), em.tensor(np.ones(2, np.float32))
    optim.SGD([{"params": [p]}, {"params": q, "lr": 0.25}], lr=0.5).step()
    np.testing.assert_allclose(p.numpy(), 0.5)
    np.testing.assert_allclose(q.numpy(), 0.75)
