"""scaled_dot_product_attention as MatMul / Softmax / MatMul, masks included, and the additive
masks MultiheadAttention makes (bool True = masked out -> -inf, 0 elsewhere)."""
import numpy as np
from onnx import TensorProto, helper

from ..graph import ExportError, onnx_dtype
from . import converter


@converter("AdditiveMask")
def additive_mask(g, node):
    dtype = np.dtype(node.kwargs["dtype"])
    m = g.input(node, 0)
    if node.inputs[0].dtype == np.bool_:
        y = g.op("Where", [m, g.scalar(-np.inf, dtype), g.scalar(0, dtype)])
    else:
        y = g.op("Cast", [m], to=onnx_dtype(dtype, "an attention mask"))
    g.output(node, y)


@converter("AttentionBackward")
def attention(g, node):
    kw, dtype = node.kwargs, node.inputs[0].dtype
    if kw["dropout_p"] > 0:
        raise ExportError(f"[onnx.export] scaled_dot_product_attention in '{node.path}' has dropout_p="
                          f"{kw['dropout_p']}; export with dropout_p=0 (MultiheadAttention in eval mode)")
    q, k, v = (g.input(node, i) for i in range(3))
    perm = list(range(node.inputs[1].ndim))
    perm[-2:] = perm[-1], perm[-2]
    scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=perm)]), g.scalar(kw["scale"], dtype)])
    if kw["mask"] is not None:
        scores = g.op("Add", [scores, _mask(g, node, dtype)])
    if kw["causal"]:
        scores = _causal(g, scores, dtype)
    g.output(node, g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v]))


def _mask(g, node, dtype):
    """The mask passed to scaled_dot_product_attention: bool (True = take part) or additive."""
    a, alt = node.kwargs["mask"], node.alt.kwargs["mask"]
    source = node.aliases.get(id(a), (None, None))[1]
    m = g.array(a, alt, node, "the attention mask")
    if source is not None and getattr(source, "dtype", None) == np.bool_:
        return g.op("Where", [m, g.scalar(0, dtype), g.scalar(-np.inf, dtype)])
    return m


def _causal(g, scores, dtype):
    """-inf above the diagonal of the last two dims (query i sees keys j <= i), sized at run time."""
    size = g.op("Shape", [scores], start=-2)
    one = helper.make_tensor("value", onnx_dtype(dtype, "attention"), [1], [1])
    upper = g.op("Trilu", [g.op("ConstantOfShape", [size], value=one), g.const(np.asarray(1, np.int64))], upper=1)
    above = g.op("Cast", [upper], to=TensorProto.BOOL)
    return g.op("Where", [above, g.scalar(-np.inf, dtype), scores])
