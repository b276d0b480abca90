"""Cross-entropy from logits and class indices, fused: one kernel computes the
per-row loss (log-softmax + NLL), one its gradient; the reduction is glue."""
from ..autograd import Function
from ..tensor import Tensor, int64
from ._checks import check_reduction, float_tensor


class CrossEntropyBackward(Function):
    saved_inputs = (0, 1)

    def forward(self, logits, labels, reduction):
        xp, ops = self.backend.xp, self.backend.ops
        # (N, C, d1, ...) -> (N*d1*..., C): the class axis last
        if logits.ndim > 2:
            logits = xp.moveaxis(logits, 1, -1)
        self.out_shape = logits.shape[:-1]
        self.logits = xp.ascontiguousarray(logits).reshape((-1, logits.shape[-1]))
        self.labels = xp.ascontiguousarray(labels).reshape(-1)
        self.reduction = reduction
        loss = ops.cross_entropy_forward(self.logits, self.labels)
        if reduction == "mean":
            return loss.mean() if loss.size else xp.asarray(float("nan"), dtype=loss.dtype)
        if reduction == "sum":
            return loss.sum()
        return loss.reshape(self.out_shape)

    def backward(self, g):
        xp = self.backend.xp
        n = self.labels.shape[0]
        if self.reduction == "none":
            gl = xp.ascontiguousarray(g).reshape(-1)
        else:
            scale = g / max(n, 1) if self.reduction == "mean" else g
            gl = xp.full((n,), scale, dtype=self.logits.dtype)
        gx = self.backend.ops.cross_entropy_backward(self.logits, self.labels, gl)
        gx = gx.reshape(self.out_shape + gx.shape[-1:])
        if gx.ndim > 2:
            gx = xp.moveaxis(gx, -1, 1)
        return gx, None


def cross_entropy(input, target, reduction="mean"):
    """Cross-entropy between logits (N, C) or (N, C, d1, ...) and int64 class indices (N,) or (N, d1, ...).

    Example:
        loss = F.cross_entropy(model(x), y)
    """
    float_tensor(input, "input", "cross_entropy")
    check_reduction(reduction, "cross_entropy")
    if not isinstance(target, Tensor):
        from ..tensor import tensor
        target = tensor(target, device=input._backend)
    if target.dtype.kind not in "iu":
        raise TypeError(f"[cross_entropy] target must hold integer class indices, got {target.dtype}")
    if target._backend is not input._backend:
        raise ValueError(f"[cross_entropy] input is on '{input.device}' but target on '{target.device}'")
    if input.ndim < 2 or target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError(f"[cross_entropy] input of shape {input.shape} needs target of shape "
                         f"{input.shape[:1] + input.shape[2:] if input.ndim >= 2 else '(N,)'}, got {target.shape}")
    if target.dtype != int64:
        target = target.to(dtype=int64)
    return CrossEntropyBackward.apply(input, target, reduction=reduction)
