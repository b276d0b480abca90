"""The ops, and the Tensor methods and operators that call them."""
from ..tensor import Tensor
from . import activations, arith, reduce, shape
from .activations import gelu, leaky_relu, relu, sigmoid, tanh
from .arith import abs_, add, clip, div, eq, exp, ge, gt, le, log, lt, mul, ne, neg, pow, sqrt, sub, where
from .cross_entropy import cross_entropy
from .matmul import matmul
from .reduce import argmax, argmin, max, mean, min, std, sum, var
from .shape import cat, expand, flatten, getitem, permute, reshape, setitem, squeeze, stack, transpose, unsqueeze
from .softmax import log_softmax, softmax


def _swap(f):
    return lambda a, b: f(b, a)


def _inplace(f):
    def op(a, b):
        a._check_inplace()
        r = f(a, b)
        if r.dtype != a.dtype or r.shape != a.shape:
            raise RuntimeError(f"in-place result of dtype {r.dtype} and shape {r.shape} cannot be stored in a "
                               f"tensor of dtype {a.dtype} and shape {a.shape}")
        a._data[...] = r._data
        return a
    return op


_methods = {
    "__add__": add, "__radd__": _swap(add), "__sub__": sub, "__rsub__": _swap(sub),
    "__mul__": mul, "__rmul__": _swap(mul), "__truediv__": div, "__rtruediv__": _swap(div),
    "__pow__": pow, "__rpow__": _swap(pow), "__matmul__": matmul, "__rmatmul__": _swap(matmul),
    "__neg__": neg, "__abs__": abs_, "__getitem__": getitem, "__setitem__": setitem,
    "__iadd__": _inplace(add), "__isub__": _inplace(sub), "__imul__": _inplace(mul), "__itruediv__": _inplace(div),
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "matmul": matmul, "neg": neg, "abs": abs_,
    "exp": exp, "log": log, "sqrt": sqrt, "clip": clip, "clamp": clip,
    "sum": sum, "mean": mean, "max": max, "min": min, "var": var, "std": std, "argmax": argmax, "argmin": argmin,
    "reshape": reshape, "view": reshape, "permute": permute, "transpose": transpose, "flatten": flatten,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "expand": expand,
    "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax, "log_softmax": log_softmax,
}
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)
