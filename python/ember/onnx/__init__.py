"""ember.onnx: export ember models to ONNX by tracing (torch.onnx.export's arguments).

What exports: Linear, Conv2d, ConvTranspose2d, MaxPool2d / AvgPool2d / AdaptiveAvgPool2d,
BatchNorm1d/2d, LayerNorm, the activations, softmax / log_softmax, Dropout (eval: nothing),
Embedding (Gather), RNN / LSTM / GRU (one ONNX RNN/LSTM/GRU op per layer and direction; the
cells as their formulas), MultiheadAttention and scaled_dot_product_attention (MatMul, Softmax,
MatMul, masks included), and tensor code: reshapes, permutes, basic indexing, cat / stack,
elementwise arithmetic, comparisons, where, clip, matmul, reductions, argmax, x += y.
An op without a converter, and anything the trace cannot capture faithfully (a tensor made
from the inputs outside ember's ops, control flow on the data, an in-place write), raises
ExportError (a ValueError) naming the op and the module.

Example:
    import ember.onnx
    ember.onnx.export(model, x, "model.onnx", input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
"""
try:
    import onnx  # the writer: an optional dependency (ember[onnx])
except ImportError as e:
    raise ImportError("ember.onnx needs the onnx package: pip install 'ember[onnx]' (or pip install onnx)") from e

from .export import OPSETS, export
from .graph import ExportError

__all__ = ["OPSETS", "ExportError", "export"]
