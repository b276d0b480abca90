"""log1p and expm1: log(1 + x) and exp(x) - 1, accurate for small x (the array module's own)."""
from ..autograd import Function
from .arith import _float


class Log1pBackward(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return self.backend.xp.log1p(a)

    def backward(self, g):
        return (g / (1 + self.a),)


class Expm1Backward(Function):
    saved_output = True

    def forward(self, a):
        self.out = self.backend.xp.expm1(a)
        return self.out

    def backward(self, g):
        return (g * (self.out + 1),)


def log1p(input):
    """log(1 + input), exact near 0; integer inputs give float32."""
    return Log1pBackward.apply(_float(input))


def expm1(input):
    """exp(input) - 1, exact near 0; integer inputs give float32."""
    return Expm1Backward.apply(_float(input))
