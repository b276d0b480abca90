"""Adam (with amsgrad) and AdamW, step for step as PyTorch; one fused kernel per parameter."""
from .optimizer import Optimizer, check_hyper, each_grad, write_back


def _check_adam(name, lr, betas, eps, weight_decay):
    check_hyper(name, lr, lr >= 0, "learning rate")
    check_hyper(name, eps, eps >= 0, "epsilon value")
    if len(betas) != 2:
        raise ValueError(f"[{name}] betas must be a pair, got {betas!r}")
    check_hyper(name, betas[0], 0 <= betas[0] < 1, "beta parameter at index 0")
    check_hyper(name, betas[1], 0 <= betas[1] < 1, "beta parameter at index 1")
    check_hyper(name, weight_decay, weight_decay >= 0, "weight_decay value")


class Adam(Optimizer):
    """m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr m_hat / (sqrt(v_hat) + eps).

    Args:
        lr, betas=(b1, b2), eps; weight_decay adds weight_decay * p to the gradient (L2);
        amsgrad uses the running maximum of v; maximize ascends.
    Example:
        opt = em.optim.Adam(model.parameters(), lr=1e-3)
    """
    _decoupled = False

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False):
        _check_adam(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _check_group(self, group):
        _check_adam(type(self).__name__, group["lr"], group["betas"], group["eps"], group["weight_decay"])

    def step(self, closure=None):
        loss = self._call(closure)
        decoupled = self._decoupled
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            for p, data, g in each_grad(group):
                st = self.state.get(id(p))
                if st is None:
                    st = self.state[id(p)] = {"step": 0, "exp_avg": self._zeros(p), "exp_avg_sq": self._zeros(p)}
                if amsgrad and "max_exp_avg_sq" not in st:
                    st["max_exp_avg_sq"] = self._zeros(p)
                st["step"] += 1
                p._backend.ops.adam_step(data, g, st["exp_avg"], st["exp_avg_sq"],
                                         st["max_exp_avg_sq"] if amsgrad else None, st["step"], lr, b1, b2, eps, wd,
                                         decoupled, maximize)
                write_back(p, data)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam update.

    Example:
        opt = em.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """
    _decoupled = True

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
