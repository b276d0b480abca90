"""The ops: one module per family, each a Function subclass (<Op>Backward) and the function that
checks the arguments and applies it. Tensor's operators and methods (tensor.py) call these."""
from . import activations, arith, reduce, shape  # noqa: F401  (the other families are also their functions' names)
from .activations import gelu, leaky_relu, relu, sigmoid, tanh  # noqa: F401
from .arith import abs_, add, clip, div, eq, exp, ge, gt, le, log, lt, mul, ne, neg, pow, sqrt, sub, where  # noqa: F401
from .cross_entropy import cross_entropy  # noqa: F401
from .matmul import matmul  # noqa: F401
from .reduce import argmax, argmin, max, mean, min, std, sum, var  # noqa: F401
from .shape import cat, expand, flatten, getitem, permute, reshape, setitem, squeeze, stack, transpose, unsqueeze  # noqa: F401
from .softmax import log_softmax, softmax  # noqa: F401
