"""softmax and log_softmax along any axis: the axis is moved last and the rows
made contiguous, then one kernel call does the (rows, cols) work; a 0-d tensor is one row of
one value (softmax 1, log_softmax 0, as PyTorch)."""
from ..autograd import Function
from ._checks import float_tensor
from .reduce import axes_arg


class _Softmax(Function):
    name = ""
    saved_output = True

    def forward(self, x, axis):
        xp = self.backend.xp
        self.axis = axis
        moved = _moved(xp, x, axis, -1)
        self.moved_shape = moved.shape
        rows = xp.ascontiguousarray(moved).reshape((-1, moved.shape[-1]) if moved.ndim else (1, 1))
        self.y = getattr(self.backend.ops, self.name + "_forward")(rows)
        return self._back(self.y)

    def backward(self, g):
        xp = self.backend.xp
        g2 = xp.ascontiguousarray(_moved(xp, g, self.axis, -1)).reshape(self.y.shape)
        return (self._back(getattr(self.backend.ops, self.name + "_backward")(self.y, g2)),)

    def _back(self, rows):
        return _moved(self.backend.xp, rows.reshape(self.moved_shape), -1, self.axis)


def _moved(xp, a, source, destination):
    return xp.moveaxis(a, source, destination) if a.ndim else a


class SoftmaxBackward(_Softmax):
    name = "softmax"


class LogSoftmaxBackward(_Softmax):
    name = "log_softmax"


def _axis(x, dim, axis, op):
    if dim is None and axis is None:
        raise TypeError(f"[{op}] give the axis to normalise over (dim=...)")
    return axes_arg(x.ndim, dim, axis)[0]


def softmax(x, dim=None, axis=None):
    """exp(x) / sum(exp(x)) along dim, computed stably."""
    return SoftmaxBackward.apply(float_tensor(x, "input", "softmax"), axis=_axis(x, dim, axis, "softmax"))


def log_softmax(x, dim=None, axis=None):
    """x - logsumexp(x) along dim, computed stably."""
    return LogSoftmaxBackward.apply(float_tensor(x, "input", "log_softmax"), axis=_axis(x, dim, axis, "log_softmax"))
