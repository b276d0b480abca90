"""ember.onnx: export ember models to ONNX (torch.onnx.export's arguments), by tracing.

Example:
    import ember.onnx
    ember.onnx.export(model, x, "model.onnx", input_names=["x"], dynamic_axes={"x": [0]})
"""
from .export import export
from .graph import ExportError

__all__ = ["ExportError", "export"]
