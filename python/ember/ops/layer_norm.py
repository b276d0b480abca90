"""layer_norm over the trailing `normalized_shape` dimensions: those are folded into one
axis of `cols` and the rest into `rows`, then one fused kernel call does the (rows, cols) work."""
import math

from ..autograd import Function
from ._checks import check_like, float_tensor, low_input_float32_params


class LayerNormBackward(Function):
    saved_inputs = (0, 1)  # x and the weight (only x without one)

    def forward(self, x, *affine, has_weight, has_bias, cols, eps):
        xp = self.backend.xp
        if not has_weight:
            self.saved_inputs = (0,)
        self.shape = x.shape
        self.x = xp.ascontiguousarray(x).reshape((-1, cols))
        w = affine[0].reshape(-1) if has_weight else None
        b = affine[-1].reshape(-1) if has_bias else None
        self.w, self.has_weight, self.has_bias = w, has_weight, has_bias
        y, self.mean, self.rstd = self.backend.ops.layer_norm_forward(self.x, w, b, eps)
        return y.reshape(self.shape)

    def backward(self, g):
        xp = self.backend.xp
        g2 = xp.ascontiguousarray(g).reshape(self.x.shape)
        need_w = self.has_weight and self.needs[1]
        need_b = self.has_bias and self.needs[-1]
        gx, gw, gb = self.backend.ops.layer_norm_backward(self.x, self.mean, self.rstd, self.w, g2, need_w, need_b)
        grads = [gx.reshape(self.shape)]
        affine_shape = self.inputs[1].shape if len(self.inputs) > 1 else None
        if self.has_weight:
            grads.append(None if gw is None else gw.reshape(affine_shape))
        if self.has_bias:
            grads.append(None if gb is None else gb.reshape(affine_shape))
        return tuple(grads)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dimensions, then scale and shift, as PyTorch.

    Args:
        input: float tensor (..., *normalized_shape).
        normalized_shape: int or tuple, the trailing shape to normalise over.
        weight, bias: optional tensors of shape normalized_shape.
        eps: added to the (biased) variance.
    Returns:
        a tensor of input's shape.
    Example:
        y = F.layer_norm(x, (64,), w, b)
    """
    float_tensor(input, "input", "layer_norm")
    if low_input_float32_params(input, weight, bias):
        return layer_norm(input.float(), normalized_shape, weight, bias, eps).to(input.dtype)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not ns or input.shape[input.ndim - len(ns):] != ns or input.ndim < len(ns):
        raise ValueError(f"[layer_norm] input of shape {input.shape} does not end with normalized_shape {ns}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        check_like(t, name, input, "layer_norm")
        if t.shape != ns:
            raise ValueError(f"[layer_norm] {name} of shape {t.shape} must have normalized_shape {ns}")
    if eps < 0:
        raise ValueError(f"[layer_norm] eps must be >= 0, got {eps}")
    affine = [t for t in (weight, bias) if t is not None]
    return LayerNormBackward.apply(input, *affine, has_weight=weight is not None, has_bias=bias is not None,
                           cols=math.prod(ns), eps=float(eps))
