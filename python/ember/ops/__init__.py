"""The ops: one module per family, each a Function subclass (<Op>Backward) and the function that
checks the arguments and applies it. Tensor's operators and methods (tensor.py) call these."""
from . import activations, arith, reduce, shape
from .activations import gelu, leaky_relu, relu, sigmoid, tanh
from .activations import elu, hardtanh, relu6, silu, softplus
from .arith import abs_, add, clip, div, eq, exp, ge, gt, le, log, lt, mul, ne, neg, pow, sqrt, sub, where
from .cross_entropy import cross_entropy
from .matmul import matmul
from .reduce import argmax, argmin, max, mean, min, std, sum, var
from .shape import cat, expand, flatten, getitem, permute, reshape, setitem, squeeze, stack, transpose, unsqueeze
from .softmax import log_softmax, softmax
