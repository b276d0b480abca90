"""Devices: one small Backend object per device string.

| device   | arrays          | heavy kernels                 |
|----------|-----------------|-------------------------------|
| numpy    | numpy.ndarray   | backends/numpy_ref (reference)|
| cpu      | numpy.ndarray   | ember._cpu                    |
| cuda     | cupy.ndarray    | ember._cuda                   |
| cuda-emu | numpy.ndarray   | ember._cuda_emu               |

A backend whose extension is missing is unavailable; asking for it raises
with the reason. `import ember` itself always works (device numpy).
"""
import importlib
import warnings

import numpy as np

from ..device import device as _device
from ..device import parse as _parse_device
from .kernel import KernelOps
from .lowp import BFLOAT16, with_low_precision

DEVICES = ("numpy", "cpu", "cuda", "cuda-emu")


class Backend:
    """A device: its name, its array module `xp`, and its heavy kernels `ops`."""

    def __init__(self, name, xp, ops):
        self.name = name
        self.xp = xp
        self.ops = with_low_precision(ops, self)  # bfloat16/float16 in: float32 kernels (backends/lowp.py)
        self.array_type = xp.ndarray
        self.host = xp is np  # arrays are numpy arrays
        self.mem = getattr(ops, "mem", xp)  # where its arrays are allocated (kernel.host_memory)

    def from_host(self, a):
        if self.host:
            return a
        if a.dtype == BFLOAT16:  # backends/lowp.py's note: CuPy has no bfloat16
            raise TypeError(f"[{self.name}] bfloat16 is not supported on {self.name} (CuPy has no bfloat16 dtype); "
                            f"use float16 (Tensor.half()) there")
        return self.xp.asarray(a)

    def to_host(self, a):
        return a if self.host else a.get()

    def move(self, a, src):
        """a, an array of backend src, as an array of this backend."""
        if src is self or (self.host and src.host):
            return a
        return self.from_host(src.to_host(a))

    # ---- gradient buffers from the backend's memory (called by autograd) ----
    def sum_grads(self, a, b):
        """a + b, two gradients reaching one tensor, in a fresh array from mem (a and b may be
        aliased elsewhere: neither is written)."""
        if type(a) is not self.array_type or type(b) is not self.array_type or a.shape != b.shape \
                or a.dtype != b.dtype:
            return a + b
        return self.xp.add(a, b, out=self.mem.empty(a.shape, a.dtype))

    def accumulate_grad(self, grad, g):
        """The array of a leaf's new .grad from its old .grad (a Tensor or None) and g: a copy of g
        in an array from mem the first time (backward may hand g to several leaves), then g added
        in place, as PyTorch's AccumulateGrad, where the old array can take it."""
        if grad is None:
            out = self.mem.empty(g.shape, g.dtype)
            out[...] = g
            return out
        old = grad._data
        if type(old) is self.array_type and old.shape == g.shape and old.dtype == g.dtype and old.flags.writeable:
            return self.xp.add(old, g, out=old)
        return old + g

    def __deepcopy__(self, memo):
        # a device is one object per process: copies of a model (copy.deepcopy) share it
        return self

    def __repr__(self):
        return f"device('{self.name}')"


_backends = {}
_errors = {}
_default = None


def _load_numpy():
    from . import numpy_ref
    return Backend("numpy", np, numpy_ref)


def _load_cpu():
    return Backend("cpu", np, KernelOps(importlib.import_module("ember._cpu"), np))


def _load_cuda_emu():
    return Backend("cuda-emu", np, KernelOps(importlib.import_module("ember._cuda_emu"), np))


def _load_cuda():
    import cupy
    if cupy.cuda.runtime.getDeviceCount() < 1:
        raise RuntimeError("no CUDA device found")
    return Backend("cuda", cupy, KernelOps(importlib.import_module("ember._cuda"), cupy))


_loaders = {"numpy": _load_numpy, "cpu": _load_cpu, "cuda": _load_cuda, "cuda-emu": _load_cuda_emu}


def get_backend(device):
    """The Backend for a device string (or a Backend, returned as is)."""
    if isinstance(device, Backend):
        return device
    if not isinstance(device, str) or ":" in device:
        device = _backend_name(device)
    be = _backends.get(device)
    if be is not None:
        return be
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu', got {type(device).__name__}")
    if device not in _loaders:
        raise ValueError(f"unknown device '{device}'; known devices: {', '.join(DEVICES)}")
    if device in _errors:
        raise RuntimeError(f"device '{device}' is not available: {_errors[device]}")
    try:
        be = _loaders[device]()
    except Exception as e:  # ImportError, CuPy/driver errors
        _errors[device] = f"{type(e).__name__}: {e}"
        raise RuntimeError(f"device '{device}' is not available: {_errors[device]}") from None
    _backends[device] = be
    return be


# ---- torch-style devices: ember.device objects and 'type:index' strings ----------------------
def _backend_name(spec):
    """The backend name for an ember.device (or 'cuda:0'): one device per type, cuda's the current GPU."""
    if not isinstance(spec, (str, _device)):
        raise TypeError(f"device must be a string such as 'cpu' or an ember.device, got {type(spec).__name__}")
    name, index = _parse_device(spec)
    if index is None:
        return name
    if name == "cuda":
        current = _current_cuda_index()
        if index != current:
            raise ValueError(f"[device] '{_device(name, index)}' is not the current GPU (cuda:{current}): ember "
                             f"runs on the current one; select it first with cupy.cuda.Device({index}).use()")
    elif index != 0:
        raise ValueError(f"[device] '{_device(name, index)}' does not exist: device '{name}' has one index, 0")
    return name


def _current_cuda_index():
    return get_backend("cuda").xp.cuda.runtime.getDevice()


def torch_device(backend, array):
    """The ember.device of an array of this backend (cuda arrays carry their GPU's index)."""
    if backend.host:
        d = _devices.get(backend.name)
        if d is None:
            d = _devices[backend.name] = _device(backend.name)
        return d
    return _device(backend.name, array.device.id)


_devices = {}


def is_available(device):
    try:
        get_backend(device)
        return True
    except RuntimeError:
        return False


def available_devices():
    return [d for d in DEVICES if is_available(d)]


def default_backend():
    global _default
    if _default is None:
        if is_available("cuda"):
            _default = get_backend("cuda")
        elif is_available("cpu"):
            _default = get_backend("cpu")
        else:
            warnings.warn(f"ember: compiled kernels unavailable ({_errors.get('cpu')}); using device 'numpy'",
                          RuntimeWarning, stacklevel=3)
            _default = get_backend("numpy")
    return _default


def set_default_device(device):
    """Make `device` ('numpy', 'cpu', 'cuda', 'cuda-emu') the default for new tensors."""
    global _default
    _default = get_backend(device)


def get_default_device():
    return default_backend().name


from . import cudnn, mps  # noqa: E402  (torch.backends.cudnn's flags, torch.backends.mps's questions)
