"""Optimizer: parameter groups, zero_grad, state_dict, and the per-parameter plumbing the
fused update kernels need (contiguous data and gradient, state arrays of p's shape)."""
import copy
import numbers
import weakref

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor


def check_hyper(name, value, ok, what):
    """Raise ValueError '<Optimizer>: invalid <what> <value>' unless ok."""
    if not ok:
        raise ValueError(f"[{name}] invalid {what} {value!r}")


def each_grad(group):
    """(param, its data array, its gradient array) for the group's parameters that have a
    gradient; both arrays C-contiguous as the kernels need (a rare non-contiguous parameter
    is updated through a contiguous copy: see write_back)."""
    for p in group["params"]:
        g = p.grad
        if g is None:
            continue
        g = g._data
        if not g.flags.c_contiguous:
            g = p._backend.xp.ascontiguousarray(g)
        data = p._data
        if g.dtype != data.dtype:
            g = g.astype(data.dtype)
        if not data.flags.c_contiguous:
            data = p._backend.xp.ascontiguousarray(data)
        p._bump()  # the step writes p in place: a graph that saved p must not backward through it
        yield p, data, g


def write_back(p, data):
    """Store an update made on a contiguous copy (no-op when data is p's own array)."""
    if data is not p._data:
        p._data[...] = data


class Optimizer:
    """Base class: holds param_groups (dicts with 'params' and hyper-parameters) and per-parameter state.

    Subclasses define step(); hyper-parameters are checked when constructed (ValueError).
    Built without parameters (`SGD(lr=0.01, momentum=0.9)`, or `SGD(0.01)`: a number in place of the
    parameters is the learning rate) the optimizer is unbound until bind(params), which compile and fit do.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        if isinstance(params, numbers.Real) and not isinstance(params, bool):
            check_hyper(type(self).__name__, params, params >= 0, "learning rate")
            self.defaults = defaults = {**defaults, "lr": params}
            self._check_group(dict(defaults))
            params = None
        if params is None:
            _remember_unbound(self)
            return
        self._add_params(params)

    @property
    def bound(self):
        """True once the optimizer holds parameters."""
        return bool(self.param_groups)

    def bind(self, params):
        """Give an optimizer built without parameters its parameters (a list of tensors or of groups).

        Example:
            opt = em.optim.SGD(lr=0.01, momentum=0.9)
            opt.bind(model.parameters())
        """
        if self.bound:
            raise RuntimeError(f"[{type(self).__name__}] is already bound to parameters; build a new optimizer "
                               "for another model")
        self._add_params(params)
        return self

    def _add_params(self, params):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"[{name}] params must be an iterable of Tensors or dicts, got a Tensor of shape "
                            f"{params.shape} (wrap it in a list)")
        params = list(params)
        if not params:
            raise ValueError(f"{name} got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for g in params:
            self.add_param_group(g)

    def add_param_group(self, group):
        """Appends a group {'params': tensors, hyper-parameter: value, ...}; the others default.
        A parameter may belong to one group only, once (stepping it twice would be wrong)."""
        name = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"[{name}] a parameter group must be a dict, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"[{name}] a parameter group needs a 'params' entry, got keys {sorted(group)}")
        group = dict(group)
        ps = group["params"]
        if isinstance(ps, (set, frozenset)):
            raise TypeError(f"[{name}] parameters must be in an ordered collection (a list), not a set: the "
                            "order of a set changes between runs")
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimise Tensors, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: a parameter of shape {p.shape} does not require grad")
        self._check_unique(group["params"])
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_unique(self, params):
        seen = set()
        for p in params:
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: optimizer contains a parameter group with duplicate "
                                 f"parameters (one of shape {p.shape} is listed twice)")
            seen.add(id(p))
        if any(id(q) in seen for g in self.param_groups for q in g["params"]):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")

    def _check_group(self, group):
        if group["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']}")

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._data[...] = 0

    def step(self, closure=None):
        raise NotImplementedError

    def _call(self, closure):
        """The loss from closure() (run with gradients on), as torch.optim's step(closure)."""
        if not self.bound:
            raise RuntimeError(f"[{type(self).__name__}] step() on an optimizer without parameters: pass them "
                               "when building it, call bind(params), or give it to model.compile(optimizer=...)")
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _zeros(self, p):
        return p._backend.mem.zeros(p.shape, dtype=p.dtype)  # host pool or CuPy's

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def state_dict(self):
        """{'state': {index: {name: host array or number}}, 'param_groups': [...]} as PyTorch."""
        params = [p for g in self.param_groups for p in g["params"]]
        groups = []
        i = 0
        for g in self.param_groups:
            groups.append({**{k: v for k, v in g.items() if k != "params"},
                           "params": list(range(i, i + len(g["params"])))})
            i += len(g["params"])
        state = {}
        for i, p in enumerate(params):
            if id(p) in self.state:
                state[i] = {n: (p._backend.to_host(v).copy() if hasattr(v, "shape") else copy.copy(v))
                            for n, v in self.state[id(p)].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        params = [p for g in self.param_groups for p in g["params"]]
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError("[load_state_dict] the saved parameter groups do not match this optimizer's")
        for g, saved in zip(self.param_groups, groups):
            g.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            self.state[id(p)] = {n: (p._backend.from_host(np.array(v)) if hasattr(v, "shape") else v)
                                 for n, v in s.items()}


_unbound = []  # weak references to the optimizers built without parameters, oldest first


def _remember_unbound(opt):
    _unbound[:] = [r for r in _unbound if r() is not None and not r().bound] + [weakref.ref(opt)]


def latest_unbound():
    """The most recently built optimizer that has no parameters yet (still alive and unbound), else None.

    Models that build their parameters on the first fit (nn.LinearRegression) train with it when no
    optimizer was given to them. One that a model's compile already took (claimed, bound at its first fit)
    is not a candidate.
    """
    for ref in reversed(_unbound):
        opt = ref()
        if opt is not None and not opt.bound and not opt.__dict__.get("claimed", False):
            return opt
    return None
