"""The `numpy` device: every heavy op computed the plain way with NumPy.

This is the reference each kernel is tested against, so it favours the
obvious formula over speed. Each module has the stem of its kernel file
(csrc/cpu/<stem>.cpp, csrc/cuda/<stem>.cu) and the same function names as
the kernel backends' wrappers in backends/kernel.py. Every public module of
this package is loaded here and its `__all__` re-exported, so a new op family
needs only its module (helpers shared by modules go in `_`-prefixed ones).
Each export hands back arrays, as the kernels do: NumPy turns the result of a
ufunc on 0-d arrays into a scalar, which then cannot be written in place.
"""
import functools as _functools
import importlib as _importlib
import pkgutil as _pkgutil

import numpy as _np


def _arrays(result):
    if isinstance(result, _np.generic):
        return _np.asarray(result)
    if type(result) is tuple:
        return tuple(_arrays(r) for r in result)
    return result


def _returning_arrays(fn):
    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return _arrays(fn(*args, **kwargs))
    return wrapper


__all__ = []
for _info in _pkgutil.iter_modules(__path__):
    if _info.name.startswith("_"):
        continue
    _module = _importlib.import_module(f"{__name__}.{_info.name}")
    for _name in _module.__all__:
        if _name in globals():
            raise ImportError(f"[numpy_ref] {_info.name}.{_name} is also exported by another module")
        _fn = getattr(_module, _name)
        globals()[_name] = _returning_arrays(_fn) if callable(_fn) else _fn
    __all__ += _module.__all__
del _info, _module, _name, _fn
