"""relu, leaky_relu, sigmoid, tanh, gelu: each forward and backward is one kernel call."""
from ..autograd import Function
from ..tensor import Tensor


def _contig(be, x):
    return x if x.flags.c_contiguous else be.xp.ascontiguousarray(x)


class _Activation(Function):
    """x -> kernel(x). `from_output`: backward reads the output (sigmoid, tanh) instead of x."""
    name = ""
    from_output = False

    def forward(self, x, **params):
        be = self.backend
        x = _contig(be, x)
        self.params = tuple(params.values())
        y = getattr(be.ops, self.name + "_forward")(x, *self.params)
        self.saved = y if self.from_output else x
        return y

    def backward(self, g):
        be = self.backend
        return (getattr(be.ops, self.name + "_backward")(self.saved, _contig(be, g), *self.params),)


class ReLU(_Activation):
    name = "relu"


class LeakyReLU(_Activation):
    name = "leaky_relu"


class Sigmoid(_Activation):
    name = "sigmoid"
    from_output = True


class Tanh(_Activation):
    name = "tanh"
    from_output = True


class GELU(_Activation):
    name = "gelu"


def _float_input(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a float32 or float64 tensor, got {x.dtype}")
    return x


def relu(x):
    return ReLU.apply(_float_input(x, "relu"))


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(_float_input(x, "leaky_relu"), slope=float(negative_slope))


def sigmoid(x):
    return Sigmoid.apply(_float_input(x, "sigmoid"))


def tanh(x):
    return Tanh.apply(_float_input(x, "tanh"))


def gelu(x, approximate="none"):
    """GELU: x * Phi(x) with the exact erf (approximate='none', the default) or the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_input(x, "gelu"), approximate=approximate == "tanh")
