"""Module: parameters, buffers and submodules registered by attribute, PyTorch's names."""
from collections import OrderedDict

import numpy as np

from ..tensor import _DTYPES as _DTYPE_NAMES
from ..tensor import Tensor, as_dtype, is_floating
from ..train import Trainable
from .parameter import Parameter


class Module(Trainable):
    """Base class of every layer and model (Keras-style compile/fit/evaluate/predict/summary come
    from ember.train.Trainable).

    Example:
        class MLP(em.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = em.nn.Linear(4, 2)
            def forward(self, x):
                return self.fc(x)
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call Module.__init__() before assigning '{name}' in {type(self).__name__}")
        for d in (self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        for d in ("_parameters", "_buffers", "_modules"):
            store = self.__dict__.get(d)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for d in (self._parameters, self._buffers, self._modules):
            if name in d:
                del d[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, value):
        """A tensor saved in state_dict and moved by to(), but not trained (running_mean, ...)."""
        self._buffers[name] = value
        self.__dict__.pop(name, None)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        self._modules[name] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- traversal ------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for n, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mp}.{n}" if mp else n), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix=""):
        for mp, m in self.named_modules(prefix):
            for n, b in m._buffers.items():
                if b is not None:
                    yield (f"{mp}.{n}" if mp else n), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    # ---- modes, devices, grads -----------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, device=None, dtype=None):
        """Move (and/or cast) parameters and buffers in place; returns self. Casts touch floating ones only."""
        if isinstance(device, (np.dtype, type)) or (isinstance(device, str) and device in _DTYPE_NAMES):
            device, dtype = None, device  # to(ember.bfloat16), as Tensor.to reads it
        dtype = as_dtype(dtype)
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is None:
                        continue
                    cast = dtype if (dtype is not None and is_floating(t.dtype)) else None
                    moved = t.detach().to(device, cast) if device is not None or cast is not None else t
                    t._data, t._backend = moved._data, moved._backend
                    if t.grad is not None:
                        g = t.grad.to(device, cast)
                        t.grad = g
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def bfloat16(self):
        return self.to(dtype="bfloat16")

    def half(self):
        return self.to(dtype="float16")

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data[...] = 0

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    # ---- state -----------------------------------------------------------------
    def state_dict(self):
        """OrderedDict of name -> tensor (parameters and buffers, detached, shared memory)."""
        out = OrderedDict()
        for mp, m in self.named_modules():
            for store in (m._parameters, m._buffers):
                for n, t in store.items():
                    if t is not None:
                        out[f"{mp}.{n}" if mp else n] = t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (ember tensors, NumPy arrays, or anything with .numpy()) in by name.

        Raises KeyError for missing/unexpected keys (strict) and ValueError for wrong shapes, naming them.
        Returns (missing_keys, unexpected_keys).
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"[load_state_dict] missing keys {missing}, unexpected keys {unexpected}")
        values = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            a = v.numpy() if isinstance(v, Tensor) else np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach")
                                                                     else v)
            if tuple(a.shape) != tuple(target.shape):
                raise ValueError(f"[load_state_dict] '{k}' has shape {tuple(a.shape)} in the state dict but "
                                 f"{tuple(target.shape)} in the model")
            values[k] = a
        for mp, m in self.named_modules():
            for store in (m._parameters, m._buffers):
                for n, t in store.items():
                    key = f"{mp}.{n}" if mp else n
                    if t is not None and key in values:
                        t._data = t._backend.from_host(np.array(values[key], dtype=t.dtype))
        return missing, unexpected

    # ---- printing --------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for n, m in self._modules.items():
                sub = repr(m).replace("\n", "\n  ")
                lines.append(f"  ({n}): {sub}")
            return "\n".join(lines) + "\n)"
        return lines[0] + ")"
