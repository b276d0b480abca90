"""RMSprop (momentum, centered) and Adagrad, step for step as PyTorch; one fused kernel per parameter."""
from .optimizer import Optimizer, check_hyper, each_grad, write_back


class RMSprop(Optimizer):
    """s = alpha s + (1 - alpha) g^2;  p -= lr g / (sqrt(s - mean(g)^2 if centered) + eps), with optional momentum.

    Example:
        opt = em.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9, centered=True)
    """

    def __init__(self, params=None, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _check_group(self, group):
        n = "RMSprop"
        check_hyper(n, group["lr"], group["lr"] >= 0, "learning rate")
        check_hyper(n, group["eps"], group["eps"] >= 0, "epsilon value")
        check_hyper(n, group["momentum"], group["momentum"] >= 0, "momentum value")
        check_hyper(n, group["weight_decay"], group["weight_decay"] >= 0, "weight_decay value")
        check_hyper(n, group["alpha"], 0 <= group["alpha"] <= 1, "alpha value")

    def step(self, closure=None):
        loss = self._call(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, mom = group["weight_decay"], group["momentum"]
            centered, maximize = group["centered"], group["maximize"]
            for p, data, g in each_grad(group):
                st = self.state.get(id(p))
                if st is None:
                    st = self.state[id(p)] = {"step": 0, "square_avg": self._zeros(p)}
                if mom > 0 and "momentum_buffer" not in st:
                    st["momentum_buffer"] = self._zeros(p)
                if centered and "grad_avg" not in st:
                    st["grad_avg"] = self._zeros(p)
                st["step"] += 1
                p._backend.ops.rmsprop_step(data, g, st["square_avg"], st["momentum_buffer"] if mom > 0 else None,
                                            st["grad_avg"] if centered else None, lr, alpha, eps, wd, mom, maximize)
                write_back(p, data)
        return loss


class Adagrad(Optimizer):
    """sum += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps).

    Example:
        opt = em.optim.Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(self, params=None, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))

    def _check_group(self, group):
        n = "Adagrad"
        check_hyper(n, group["lr"], group["lr"] >= 0, "learning rate")
        check_hyper(n, group["lr_decay"], group["lr_decay"] >= 0, "lr_decay value")
        check_hyper(n, group["weight_decay"], group["weight_decay"] >= 0, "weight_decay value")
        check_hyper(n, group["initial_accumulator_value"], group["initial_accumulator_value"] >= 0,
                    "initial_accumulator_value")
        check_hyper(n, group["eps"], group["eps"] >= 0, "epsilon value")

    def step(self, closure=None):
        loss = self._call(closure)
        for group in self.param_groups:
            lr, lr_decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
            for p, data, g in each_grad(group):
                st = self.state.get(id(p))
                if st is None:
                    acc = self._zeros(p)
                    acc += group["initial_accumulator_value"]
                    st = self.state[id(p)] = {"step": 0, "sum": acc}
                st["step"] += 1
                p._backend.ops.adagrad_step(data, g, st["sum"], st["step"], lr, lr_decay, wd, eps, group["maximize"])
                write_back(p, data)
        return loss
