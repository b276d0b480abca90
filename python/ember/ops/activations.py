"""relu, leaky_relu, sigmoid, tanh, gelu, elu, silu, softplus, hardtanh (relu6): each forward and
backward is one kernel call.

In place (`inplace=True`, as PyTorch's): the result is written into x's buffer, x's version
counter is bumped (so a node that saved x raises at its backward, as in PyTorch) and x becomes
the output of the node. That node then reads its own output (relu, leaky_relu, elu, hardtanh:
x > 0 and y > 0 pick the same items, which is why a negative slope or alpha is refused there) or a
copy of x taken before the write (silu). A leaf that requires grad cannot be written in place
while grad mode is on (RuntimeError, as PyTorch)."""
from .. import autograd
from ..autograd import Function
from ..tensor import Tensor
from ._checks import float_tensor


class _Activation(Function):
    """x -> kernel(x, *params). `from_output`: backward reads the output (sigmoid, tanh, and the
    in-place forms) instead of x; `copy_input`: backward reads a copy of x (in-place silu)."""
    fwd = bwd = ""
    from_output = copy_input = in_place = False
    saved_inputs = (0,)

    def forward(self, x, params=(), bwd_params=None):
        if not x.flags.c_contiguous:
            x = self.backend.xp.ascontiguousarray(x)
        self.bwd_params = params if bwd_params is None else bwd_params
        if self.copy_input:  # taken before an in-place kernel overwrites x
            self.saved = x.copy()
        kernel = getattr(self.backend.ops, self.fwd)
        # the in-place forms write into x's own buffer (the compiled kernels take out=; the NumPy
        # reference returns a new array, which _apply copies in)
        y = kernel(x, *params, out=x) if self.in_place and self.backend.name != "numpy" else kernel(x, *params)
        if not self.copy_input:
            self.saved = y if self.from_output else x
        return y

    def backward(self, g):
        if not g.flags.c_contiguous:
            g = self.backend.xp.ascontiguousarray(g)
        return (getattr(self.backend.ops, self.bwd)(self.saved, g, *self.bwd_params),)


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


class ELUBackward(_Activation):
    fwd, bwd = "elu_forward", "elu_backward"


class SiLUBackward(_Activation):
    fwd, bwd = "silu_forward", "silu_backward"


class SoftplusBackward(_Activation):
    fwd, bwd = "softplus_forward", "softplus_backward"


class HardtanhBackward(_Activation):
    fwd, bwd = "hardtanh_forward", "hardtanh_backward"


def _in_place_form(cls, from_output):
    """The node class of cls's in-place form (the same name, as PyTorch shows one grad_fn for both)."""
    attrs = {"saved_inputs": (), "in_place": True}
    attrs.update({"from_output": True, "saved_output": True} if from_output else {"copy_input": True})
    return type(cls.__name__, (cls,), attrs)


_IN_PLACE = {cls: _in_place_form(cls, cls is not SiLUBackward)
             for cls in (ReLUBackward, LeakyReLUBackward, ELUBackward, SiLUBackward, HardtanhBackward)}


def _apply(cls, x, op, inplace, params=(), bwd_params=None, in_place_bwd_params=None, sign_ok=True):
    if not inplace and type(x) is Tensor and x._data.dtype.kind == "f":  # the common case, in one test
        return cls.apply(x, params=params, bwd_params=bwd_params) if params else cls.apply(x)
    x = float_tensor(x, "input", op)
    if not inplace:
        return cls.apply(x, params=params, bwd_params=bwd_params)
    x._check_inplace(leaf_only=True)
    src = x
    if autograd.is_grad_enabled() and x.requires_grad:
        if not sign_ok:
            raise ValueError(f"[{op}] in place with a negative slope cannot be differentiated (backward reads "
                             f"the output, which no longer tells the sign of the input); use inplace=False")
        src = Tensor._wrap(x._data, x._backend, True)  # the value before the write, with its node
        src._ctx = x._ctx
    out = _IN_PLACE[cls].apply(src, params=params, bwd_params=in_place_bwd_params)
    x._take_value(out)
    node = out._ctx
    if node is not None:
        autograd._record_output_versions(node, (x,))  # x now holds the node's output: its counter, after the write
        x._ctx, x.requires_grad = node, True
    return x


def relu(x, inplace=False):
    """max(x, 0); a NaN passes, as in PyTorch. Example: y = F.relu(x)"""
    return _apply(ReLUBackward, x, "relu", inplace)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x for x > 0, negative_slope * x otherwise. Example: y = F.leaky_relu(x, 0.2)"""
    s = float(negative_slope)
    return _apply(LeakyReLUBackward, x, "leaky_relu", inplace, (s,), sign_ok=s >= 0)


def sigmoid(x):
    return SigmoidBackward.apply(float_tensor(x, "input", "sigmoid"))


def tanh(x):
    return TanhBackward.apply(float_tensor(x, "input", "tanh"))


def gelu(x, approximate="none"):
    """GELU: x * Phi(x) with the exact erf (approximate='none', the default) or the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"[gelu] approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUBackward.apply(float_tensor(x, "input", "gelu"), params=(approximate == "tanh",))


def elu(x, alpha=1.0, inplace=False):
    """x for x > 0, alpha * (exp(x) - 1) otherwise. Example: y = F.elu(x, alpha=0.5)"""
    a = float(alpha)
    return _apply(ELUBackward, x, "elu", inplace, (a,), (a, False), (a, True), sign_ok=a >= 0)


def silu(x, inplace=False):
    """x * sigmoid(x) (swish). Example: y = F.silu(x)"""
    return _apply(SiLUBackward, x, "silu", inplace)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (PyTorch's).

    Example: y = F.softplus(x, beta=2)
    """
    b, t = float(beta), float(threshold)
    if b == 0 or not abs(b) < float("inf"):
        raise ValueError(f"[softplus] beta must be finite and nonzero, got {beta!r}")
    return SoftplusBackward.apply(float_tensor(x, "input", "softplus"), params=(b, t))


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]; the gradient is 0 outside (min_val, max_val).

    Example: y = F.hardtanh(x, -2.0, 2.0)
    """
    lo, hi = float(min_val), float(max_val)
    if not lo <= hi:
        raise ValueError(f"[hardtanh] min_val cannot be greater than max_val, got {min_val!r} and {max_val!r}")
    return _apply(HardtanhBackward, x, "hardtanh", inplace, (lo, hi))


def relu6(x, inplace=False):
    """min(max(x, 0), 6) = hardtanh(x, 0, 6). Example: y = F.relu6(x)"""
    return _apply(HardtanhBackward, x, "relu6", inplace, (0.0, 6.0))
