"""ember.cuda: is a GPU usable from here?"""
from .backends import is_available as _available


def is_available():
    """True when CuPy, a CUDA device and the compiled ember._cuda are all usable."""
    return _available("cuda")


def device_count():
    if not is_available():
        return 0
    import cupy
    return cupy.cuda.runtime.getDeviceCount()
