"""SGD with momentum, dampening, Nesterov and weight decay, step for step as PyTorch."""
from .optimizer import Optimizer, check_hyper, each_grad, write_back


class SGD(Optimizer):
    """v = momentum * v + (1 - dampening) * g;  p -= lr * (g + momentum * v if nesterov else v).

    One fused kernel per parameter (sgd_step). Example:
        opt = em.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params=None, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False):
        check_hyper("SGD", lr, lr >= 0, "learning rate")
        if momentum < 0:
            raise ValueError(f"[SGD] invalid momentum {momentum}")
        if weight_decay < 0:
            raise ValueError(f"[SGD] invalid weight_decay {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("[SGD] nesterov needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def step(self, closure=None):
        loss = self._call(closure)
        for group in self.param_groups:
            lr, mom, damp, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
            nesterov, maximize = group["nesterov"], group["maximize"]
            for p, data, g in each_grad(group):
                buf, first = None, False
                if mom:
                    st = self.state.setdefault(id(p), {})
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        buf = st["momentum_buffer"] = self._zeros(p)
                        first = True
                p._backend.ops.sgd_step(data, g, buf, lr, mom, damp, wd, nesterov, maximize, first)
                write_back(p, data)
        return loss
