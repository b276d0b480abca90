"""Adadelta, step for step as PyTorch; one fused kernel per parameter."""
from .optimizer import Optimizer, check_hyper, each_grad, write_back


class Adadelta(Optimizer):
    """s = rho s + (1 - rho) g^2;  delta = sqrt(acc + eps) / sqrt(s + eps) g;
    acc = rho acc + (1 - rho) delta^2;  p -= lr delta.

    Args:
        lr (scales delta), rho (decay of both running averages), eps, weight_decay (L2, added to
        the gradient), maximize (ascend).
    Example:
        opt = em.optim.Adadelta(model.parameters(), lr=1.0, rho=0.9)
    """

    def __init__(self, params=None, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _check_group(self, group):
        n = "Adadelta"
        check_hyper(n, group["lr"], group["lr"] >= 0, "learning rate")
        check_hyper(n, group["rho"], 0 <= group["rho"] <= 1, "rho value")
        check_hyper(n, group["eps"], group["eps"] >= 0, "epsilon value")
        check_hyper(n, group["weight_decay"], group["weight_decay"] >= 0, "weight_decay value")

    def step(self, closure=None):
        loss = self._call(closure)
        for group in self.param_groups:
            lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p, data, g in each_grad(group):
                st = self.state.get(id(p))
                if st is None:
                    st = self.state[id(p)] = {"step": 0, "square_avg": self._zeros(p), "acc_delta": self._zeros(p)}
                st["step"] += 1
                p._backend.ops.adadelta_step(data, g, st["square_avg"], st["acc_delta"], lr, rho, eps, wd,
                                             group["maximize"])
                write_back(p, data)
        return loss
