"""relu, leaky_relu, sigmoid, tanh, gelu: each forward and backward is one kernel call."""
from ..autograd import Function
from ..tensor import Tensor


class _Activation(Function):
    """x -> kernel(x[, param]). `from_output`: backward reads the output (sigmoid, tanh) instead of x."""
    fwd = bwd = ""
    from_output = False

    def forward(self, x, param=None):
        if not x.flags.c_contiguous:
            x = self.backend.xp.ascontiguousarray(x)
        kernel = getattr(self.backend.ops, self.fwd)
        y = kernel(x) if param is None else kernel(x, param)
        self.param = param
        self.saved = y if self.from_output else x
        return y

    def backward(self, g):
        if not g.flags.c_contiguous:
            g = self.backend.xp.ascontiguousarray(g)
        kernel = getattr(self.backend.ops, self.bwd)
        return (kernel(self.saved, g) if self.param is None else kernel(self.saved, g, self.param),)


class ReLU(_Activation):
    fwd, bwd = "relu_forward", "relu_backward"


class LeakyReLU(_Activation):
    fwd, bwd = "leaky_relu_forward", "leaky_relu_backward"


class Sigmoid(_Activation):
    fwd, bwd = "sigmoid_forward", "sigmoid_backward"
    from_output = True


class Tanh(_Activation):
    fwd, bwd = "tanh_forward", "tanh_backward"
    from_output = True


class GELU(_Activation):
    fwd, bwd = "gelu_forward", "gelu_backward"


def _float_input(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a float32 or float64 tensor, got {x.dtype}")
    return x


def relu(x):
    return ReLU.apply(_float_input(x, "relu"))


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(_float_input(x, "leaky_relu"), param=float(negative_slope))


def sigmoid(x):
    return Sigmoid.apply(_float_input(x, "sigmoid"))


def tanh(x):
    return Tanh.apply(_float_input(x, "tanh"))


def gelu(x, approximate="none"):
    """GELU: x * Phi(x) with the exact erf (approximate='none', the default) or the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_input(x, "gelu"), param=approximate == "tanh")
