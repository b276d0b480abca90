"""mse, l1, smooth_l1 / huber, bce, bce_with_logits: one kernel computes the per-item loss,
one its gradient w.r.t. the input; the (optional) weight and the reduction are glue.
The gradient w.r.t. the target, when it needs one, is -grad_x (mse, l1, smooth_l1) or NumPy/CuPy glue (bce)."""
import numpy as np

from ..autograd import Function


class _Loss(Function):
    """(x, t) -> weight * scale * kernel(x, t[, pos_weight][, param]), per item.

    `name` picks the kernels; `param` is smooth_l1's beta; `scale` multiplies the loss
    (huber = delta * smooth_l1(beta=delta)); weight / pos_weight are arrays shaped like x or None.
    """
    name = ""
    with_pos_weight = False
    saved_inputs = (0, 1)

    def forward(self, x, t, weight=None, pos_weight=None, param=None, scale=None):
        xp, ops = self.backend.xp, self.backend.ops
        # asarray(order="C"), not ascontiguousarray: that one makes a 0-d input 1-d
        x, t = xp.asarray(x, order="C"), xp.asarray(t, order="C")
        extra = () if param is None else (param,)
        if self.with_pos_weight:
            pos_weight = None if pos_weight is None else xp.asarray(pos_weight, order="C")
            loss = ops.bce_with_logits_forward(x, t, pos_weight)
        else:
            loss = getattr(ops, self.name + "_forward")(x, t, *extra)
        self.x, self.t, self.weight, self.pos_weight, self.extra, self.scale = x, t, weight, pos_weight, extra, scale
        if scale is not None:
            loss *= x.dtype.type(scale)
        if weight is not None:
            loss = loss * weight
        return loss

    def backward(self, g):
        xp, ops = self.backend.xp, self.backend.ops
        if self.weight is not None:
            g = g * self.weight
        if self.scale is not None:
            g = g * self.x.dtype.type(self.scale)
        g = xp.asarray(g, dtype=self.x.dtype, order="C")
        need_x, need_t = self.needs[0], len(self.needs) > 1 and self.needs[1]
        gx = gt = None
        if self.with_pos_weight:
            if need_x:
                gx = ops.bce_with_logits_backward(self.x, self.t, self.pos_weight, g)
        elif need_x or (need_t and self.name != "bce"):
            gx = getattr(ops, self.name + "_backward")(self.x, self.t, g, *self.extra)
        if need_t:
            gt = self._target_grad(xp, g, gx)
        return (gx if need_x else None), gt

    def _target_grad(self, xp, g, gx):
        """d loss / d target: -gx where the loss is a function of x - t; glue for the two BCEs."""
        x, dt = self.x, self.x.dtype
        if self.name == "bce":
            with np.errstate(divide="ignore"):
                return -g * (xp.maximum(xp.log(x), dt.type(-100)) - xp.maximum(xp.log1p(-x), dt.type(-100)))
        if self.with_pos_weight:
            if self.pos_weight is None:
                return g * -x
            sp_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus(-x)
            return g * (-x + (self.pos_weight - 1) * sp_neg)
        return -gx


class MSELossBackward(_Loss):
    name = "mse"


class L1LossBackward(_Loss):
    name = "l1"


class SmoothL1LossBackward(_Loss):
    name = "smooth_l1"


class BCELossBackward(_Loss):
    name = "bce"


class BCEWithLogitsLossBackward(_Loss):
    name = "bce_with_logits"
    with_pos_weight = True
