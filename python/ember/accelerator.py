"""ember.accelerator: torch.accelerator's questions about the GPU, answered for ember's cuda device."""
from .backends import get_backend as _get_backend
from .backends import is_available as _available
from .device import device as _device


def is_available():
    """True when ember's cuda device is usable (CuPy, a GPU and the compiled ember._cuda)."""
    return _available("cuda")


def current_accelerator(check_available=False):
    """device(type='cuda') when ember can use a GPU, else None (as torch's on a machine without one).

    check_available is accepted for torch's signature: the device is only returned when usable."""
    return _device("cuda") if is_available() else None


def device_count():
    """How many GPUs CuPy sees (0 without a usable cuda device)."""
    return _get_backend("cuda").xp.cuda.runtime.getDeviceCount() if is_available() else 0


def current_device_index():
    """The index of the GPU ember runs on; -1 without one."""
    return _get_backend("cuda").xp.cuda.runtime.getDevice() if is_available() else -1
