"""Tracing: run a model once and record every op it applies, in order.

Function.apply calls `autograd._trace` (None when no trace runs) with each node, its input
tensors, its keyword arguments and its output(s); a Tracer collects these as Nodes. Each
module's forward is wrapped for the run so that a node knows the module it came from (its
path names the ONNX node and finds BatchNorm's running statistics). Two helpers that build
attention masks outside any Function are wrapped too, so that a mask made from a graph input
stays tied to it: nn.activation.additive_mask (recorded as the op "AdditiveMask") and
ops.attention._additive_mask (the array it hands the kernel is remembered as an alias of the
mask tensor it came from).
"""
from .. import autograd
from ..nn import activation as _mha
from ..ops import attention as _sdpa
from ..tensor import Tensor


class Node:
    """One recorded op: op (the Function's class name), inputs and outputs (tensors), kwargs."""

    def __init__(self, op, inputs, kwargs, outputs, module, path):
        self.op, self.inputs, self.kwargs, self.outputs = op, list(inputs), dict(kwargs), list(outputs)
        self.module, self.path = module, path
        self.alt = None  # the same node in the second trace (export.py pairs them)
        self.aliases = {}  # the tracer's: id(array) -> (array, mask tensor it came from)

    def __repr__(self):
        return f"{self.op} in '{self.path}'"


class _MaskOp:
    """Stands in for a Function in a recorded "AdditiveMask" node."""


class Tracer:
    def __init__(self):
        self.nodes = []
        self.aliases = {}     # id(array handed to a kernel) -> the mask Tensor it was made from
        self._stack = [(None, "")]

    def record(self, fn, inputs, kwargs, outs):
        outputs = outs if isinstance(outs, tuple) else (outs,)
        op = "AdditiveMask" if isinstance(fn, _MaskOp) else type(fn).__name__
        module, path = self._stack[-1]
        node = Node(op, inputs, kwargs, outputs, module, path)
        node.aliases = self.aliases
        self.nodes.append(node)

    def run(self, model, args, kwargs):
        """model(*args, **kwargs) with every op recorded; returns its output."""
        wrapped = self._wrap_modules(model)
        saved = autograd._trace, _mha.additive_mask, _sdpa._additive_mask
        autograd._trace = self.record
        _mha.additive_mask = self._additive_mask(saved[1])
        _sdpa._additive_mask = self._kernel_mask(saved[2])
        try:
            return model(*args, **kwargs)
        finally:
            autograd._trace, _mha.additive_mask, _sdpa._additive_mask = saved
            for m, prev in wrapped:
                if prev is None:
                    del m.__dict__["forward"]
                else:
                    m.__dict__["forward"] = prev

    def _wrap_modules(self, model):
        named = model.named_modules() if hasattr(model, "named_modules") else ()
        wrapped = []
        for path, m in named:
            prev = m.__dict__.get("forward")
            m.__dict__["forward"] = self._in_module(m, path, prev or m.forward)
            wrapped.append((m, prev))
        return wrapped

    def _in_module(self, module, path, forward):
        def run(*args, **kwargs):
            self._stack.append((module, path))
            try:
                return forward(*args, **kwargs)
            finally:
                self._stack.pop()
        return run

    def _additive_mask(self, original):
        def wrapper(mask, like, name):
            out = original(mask, like, name)
            if out is not None:
                inputs = (mask,) if isinstance(mask, Tensor) else ()
                self.record(_MaskOp(), inputs, {"dtype": like.dtype, "source": mask}, out)
            return out
        return wrapper

    def _kernel_mask(self, original):
        def wrapper(mask, q, *rest):
            out = original(mask, q, *rest)
            self.aliases[id(out[0])] = (out[0], mask)  # the array too: its id stays valid while traced
            return out
        return wrapper
