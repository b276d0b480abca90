"""relu, leaky_relu, sigmoid, tanh, gelu: each forward and backward is one kernel call."""
from ..autograd import Function
from ._checks import float_tensor


class _Activation(Function):
    """x -> kernel(x[, param]). `from_output`: backward reads the output (sigmoid, tanh) instead of x."""
    fwd = bwd = ""
    from_output = False
    saved_inputs = (0,)

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


class ReLUBackward(_Activation):
    fwd, bwd = "relu_forward", "relu_backward"


class LeakyReLUBackward(_Activation):
    fwd, bwd = "leaky_relu_forward", "leaky_relu_backward"


class SigmoidBackward(_Activation):
    fwd, bwd = "sigmoid_forward", "sigmoid_backward"
    from_output, saved_inputs, saved_output = True, (), True


class TanhBackward(_Activation):
    fwd, bwd = "tanh_forward", "tanh_backward"
    from_output, saved_inputs, saved_output = True, (), True


class GELUBackward(_Activation):
    fwd, bwd = "gelu_forward", "gelu_backward"


def relu(x):
    return ReLUBackward.apply(float_tensor(x, "input", "relu"))


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLUBackward.apply(float_tensor(x, "input", "leaky_relu"), param=float(negative_slope))


def sigmoid(x):
    return SigmoidBackward.apply(float_tensor(x, "input", "sigmoid"))


def tanh(x):
    return TanhBackward.apply(float_tensor(x, "input", "tanh"))


def gelu(x, approximate="none"):
    """GELU: x * Phi(x) with the exact erf (approximate='none', the default) or the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"[gelu] approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUBackward.apply(float_tensor(x, "input", "gelu"), param=approximate == "tanh")
