"""Heavy ops on a compiled kernel module (ember._cpu, ember._cuda, ember._cuda_emu).

The three modules bind the same entry points under the same names
(csrc/bindings/ops/), which write into outputs the caller allocates. This
class gives them the functional signatures of backends/numpy_ref, allocating
outputs with the device's array module (so CUDA memory comes from CuPy's
pool). Inputs must already be C-contiguous; the op layer sees to that.
"""


class KernelOps:
    def __init__(self, module, xp):
        self.module = module
        self.xp = xp

    # ---- matmul: 3-D (batch, rows, cols), batch 1 broadcasts -------------------
    def matmul_forward(self, a, b, trans_a=False, trans_b=False):
        m = a.shape[2] if trans_a else a.shape[1]
        n = b.shape[1] if trans_b else b.shape[2]
        out = self.xp.empty((max(a.shape[0], b.shape[0]), m, n), dtype=a.dtype)
        self.module.matmul_forward(a, b, out, trans_a, trans_b, False)
        return out

    def matmul_backward(self, a, b, grad_out, need_a, need_b, trans_a=False, trans_b=False):
        ga = self.xp.empty_like(a) if need_a else None
        gb = self.xp.empty_like(b) if need_b else None
        self.module.matmul_backward(a, b, grad_out, ga, gb, trans_a, trans_b)
        return ga, gb

    # ---- activations --------------------------------------------------------
    def _unary(self, name, x, *args):
        out = self.xp.empty_like(x)
        getattr(self.module, name)(x, out, *args)
        return out

    def _grad(self, name, saved, grad_out, *args):
        gx = self.xp.empty_like(saved)
        getattr(self.module, name)(saved, grad_out, gx, *args)
        return gx

    def relu_forward(self, x):
        return self._unary("relu_forward", x)

    def relu_backward(self, x, grad_out):
        return self._grad("relu_backward", x, grad_out)

    def leaky_relu_forward(self, x, slope):
        return self._unary("leaky_relu_forward", x, float(slope))

    def leaky_relu_backward(self, x, grad_out, slope):
        return self._grad("leaky_relu_backward", x, grad_out, float(slope))

    def sigmoid_forward(self, x):
        return self._unary("sigmoid_forward", x)

    def sigmoid_backward(self, y, grad_out):
        return self._grad("sigmoid_backward", y, grad_out)

    def tanh_forward(self, x):
        return self._unary("tanh_forward", x)

    def tanh_backward(self, y, grad_out):
        return self._grad("tanh_backward", y, grad_out)

    def gelu_forward(self, x, approximate):
        return self._unary("gelu_forward", x, bool(approximate))

    def gelu_backward(self, x, grad_out, approximate):
        return self._grad("gelu_backward", x, grad_out, bool(approximate))

    # ---- softmax over the last axis of 2-D arrays ----------------------------------
    def softmax_forward(self, x):
        return self._unary("softmax_forward", x)

    def softmax_backward(self, y, grad_out):
        return self._grad("softmax_backward", y, grad_out)

    def log_softmax_forward(self, x):
        return self._unary("log_softmax_forward", x)

    def log_softmax_backward(self, y, grad_out):
        return self._grad("log_softmax_backward", y, grad_out)

    # ---- cross_entropy: logits (N, C), labels int64 (N,) -----------------------
    def cross_entropy_forward(self, logits, labels):
        loss = self.xp.empty(logits.shape[:1], dtype=logits.dtype)
        self.module.cross_entropy_forward(logits, labels, loss)
        return loss

    def cross_entropy_backward(self, logits, labels, grad_loss):
        g = self.xp.empty_like(logits)
        self.module.cross_entropy_backward(logits, labels, grad_loss, g)
        return g
