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
        self._bind_elementwise()

    # ---- matmul: 3-D (batch, rows, cols), batch 1 broadcasts; or 2-D @ 2-D -------------
    def matmul_forward(self, a, b, trans_a=False, trans_b=False):
        m = a.shape[-1] if trans_a else a.shape[-2]
        n = b.shape[-2] if trans_b else b.shape[-1]
        shape = (m, n) if a.ndim == 2 else (max(a.shape[0], b.shape[0]), m, n)
        out = self.xp.empty(shape, dtype=a.dtype)
        self.module.matmul_forward(a, b, out, trans_a, trans_b, False)
        return out

    def matmul_backward(self, a, b, grad_out, need_a, need_b, trans_a=False, trans_b=False):
        ga = self.xp.empty_like(a) if need_a else None
        gb = self.xp.empty_like(b) if need_b else None
        self.module.matmul_backward(a, b, grad_out, ga, gb, trans_a, trans_b)
        return ga, gb

    # ---- activations: name_forward(x[, param]) -> y, name_backward(saved, grad_out[, param]) -> grad_x --
    # Built once per backend as closures over the bound kernels: these are the hot path of small models.
    def _bind_elementwise(self):
        empty_like = self.xp.empty_like
        for name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax"):
            fwd, bwd = getattr(self.module, name + "_forward"), getattr(self.module, name + "_backward")

            def forward(x, *param, _k=fwd):
                out = empty_like(x)
                _k(x, out, *param)
                return out

            def backward(saved, grad_out, *param, _k=bwd):
                gx = empty_like(saved)
                _k(saved, grad_out, gx, *param)
                return gx
            setattr(self, name + "_forward", forward)
            setattr(self, name + "_backward", backward)

    # ---- cross_entropy: logits (N, C), labels int64 (N,) -----------------------
    def cross_entropy_forward(self, logits, labels):
        loss = self.xp.empty(logits.shape[:1], dtype=logits.dtype)
        self.module.cross_entropy_forward(logits, labels, loss)
        return loss

    def cross_entropy_backward(self, logits, labels, grad_loss):
        g = self.xp.empty_like(logits)
        self.module.cross_entropy_backward(logits, labels, grad_loss, g)
        return g

    # ---- optim: fused in-place updates of one parameter (flat, contiguous) -----------
    # Optional state is None when its option is off; arrays are updated in place.
    def sgd_step(self, p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step):
        self.module.sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step)

    def adam_step(self, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                  decoupled, maximize):
        self.module.adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                              decoupled, maximize)

    def rmsprop_step(self, p, g, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay, momentum,
                     maximize):
        self.module.rmsprop_step(p, g, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay, momentum,
                                 maximize)

    def adagrad_step(self, p, g, sum, step, lr, lr_decay, weight_decay, eps, maximize):  # noqa: A002
        self.module.adagrad_step(p, g, sum, step, lr, lr_decay, weight_decay, eps, maximize)
