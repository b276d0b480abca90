"""Tracing: run a model once and record every op it applies, in order.

Function.apply calls `autograd._trace` (None when no trace runs) with each node, its input
tensors, its keyword arguments and its output(s); a Tracer collects these as Nodes. Each
module's forward is wrapped for the run so that a node knows the module it came from (its
path names the ONNX node and finds BatchNorm's running statistics).

A few ember functions make their result outside any Function; they are wrapped for the run and
recorded as ops of their own, so that what they make from a graph input stays tied to it:
comparisons ("Compare"), argmax/argmin ("ArgMaxMin"), nn.activation.additive_mask
("AdditiveMask"), and ops.attention._additive_mask, whose array for the kernel is remembered
as an alias of the mask tensor it came from.

In-place writes: x += y (and -=, *=, /=) is recorded as an "Alias" op that renames x to the
result from then on; any other write into a tensor the trace has seen (setitem, zero_, fill_,
copy_, or += on a tensor that shares its storage with another) raises, since the graph would not
see it.
"""
from .. import autograd
from ..nn import activation as _mha
from ..ops import arith as _arith
from ..ops import attention as _sdpa
from ..ops import reduce as _reduce
from ..tensor import Tensor
from .graph import ExportError

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")


class Node:
    """One recorded op: op (the Function's class name), inputs and outputs (tensors), kwargs."""

    def __init__(self, op, inputs, kwargs, outputs, module, path):
        self.op, self.inputs, self.kwargs, self.outputs = op, list(inputs), dict(kwargs), list(outputs)
        self.module, self.path = module, path
        self.alt = None  # the same node in the second trace (export.py pairs them)
        self.aliases = {}  # the tracer's: id(array) -> (array, mask tensor it came from)

    def __repr__(self):
        return f"{self.op} in '{self.path}'"


class _Op:
    """Stands in for a Function in the node of a wrapped function."""

    def __init__(self, op):
        self.op = op


class Tracer:
    def __init__(self):
        self.nodes = []
        self.aliases = {}     # id(array handed to a kernel) -> the mask Tensor it was made from
        self._stack = [(None, "")]
        self._inputs, self._writing = set(), False

    def record(self, fn, inputs, kwargs, outs):
        outputs = outs if isinstance(outs, tuple) else (outs,)
        op = fn.op if isinstance(fn, _Op) else type(fn).__name__
        module, path = self._stack[-1]
        node = Node(op, inputs, kwargs, outputs, module, path)
        node.aliases = self.aliases
        self.nodes.append(node)

    def run(self, model, args, kwargs):
        """model(*args, **kwargs) with every op recorded; returns its output."""
        self._inputs = {id(a) for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)}
        wrapped = self._wrap_modules(model)
        patches = [(Tensor, "_inplace", self._inplace), (Tensor, "_bump", self._bump),
                   (Tensor, "_old_value", self._old_value), (Tensor, "_take_value", self._take_value),
                   (_mha, "additive_mask", self._additive_mask), (_sdpa, "_additive_mask", self._kernel_mask),
                   (_reduce, "argmax", self._argmax), (_reduce, "argmin", self._argmax)]
        patches += [(_arith, name, self._compare) for name in COMPARISONS]
        saved = [(mod, name, getattr(mod, name)) for mod, name, _ in patches]
        autograd._trace = self.record
        for (mod, name, wrap), (_, _, original) in zip(patches, saved):
            setattr(mod, name, wrap(original, name))
        try:
            return model(*args, **kwargs)
        finally:
            autograd._trace = None
            for mod, name, original in saved:
                setattr(mod, name, original)
            for m, prev in reversed(wrapped):  # a module reached by two paths was wrapped twice
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

    def _seen(self, version):
        """The recorded tensors on the storage whose version counter is `version`."""
        return [t for n in self.nodes for t in n.inputs + n.outputs if t._version is version]

    def _write(self, t, what, why):
        path = self._stack[-1][1]
        return f"[onnx.export] {what} of a tensor of shape {tuple(t.shape)}{f' in {path!r}' if path else ''} that {why}"

    def _inplace(self, original, _name):
        def wrapper(t, op, other):
            made = any(t is o for n in self.nodes for o in n.outputs) or id(t) in self._inputs
            if not made and self._seen(t._version):
                raise ExportError(self._write(t, "an in-place update", "the model made outside ember's ops and "
                                              "already used; write t = t + ... instead"))
            count = len(self.nodes)
            self._writing = True
            try:
                out = original(t, op, other)
            finally:
                self._writing = False
            views = {id(u) for u in self._seen(t._version) if u._data is not t._data} - {id(t)}
            if len(self.nodes) == count or views:
                raise ExportError(self._write(t, "an in-place update", "shares its storage with another traced "
                                              "tensor; write t = t + ... instead"))
            self.record(_Op("Alias"), (self.nodes[-1].outputs[0],), {}, out)
            return out
        return wrapper

    def _old_value(self, original, _name):
        def wrapper(t):
            out = original(t)
            self.record(_Op("Alias"), (t,), {}, out)
            return out
        return wrapper

    def _take_value(self, original, _name):
        def wrapper(t, out):
            self._writing = True
            try:
                original(t, out)
            finally:
                self._writing = False
            self.record(_Op("Alias"), (out,), {}, t)
        return wrapper

    def _bump(self, original, _name):
        def wrapper(t):
            if not self._writing and self._seen(t._version):
                raise ExportError(self._write(t, "an in-place write (setitem, zero_, fill_, copy_)", "the traced ops "
                                              "use or made; the exported graph would not see it: build the value "
                                              "with ember's ops (where, cat, ...) instead"))
            return original(t)
        return wrapper

    def _additive_mask(self, original, _name):
        def wrapper(mask, like, name):
            out = original(mask, like, name)
            if out is not None:
                inputs = (mask,) if isinstance(mask, Tensor) else ()
                self.record(_Op("AdditiveMask"), inputs, {"dtype": like.dtype, "source": mask}, out)
            return out
        return wrapper

    def _kernel_mask(self, original, _name):
        def wrapper(mask, q, *rest):
            out = original(mask, q, *rest)
            self.aliases[id(out[0])] = (out[0], mask)  # the array too: its id stays valid while traced
            return out
        return wrapper

    def _compare(self, original, name):
        def wrapper(a, b):
            a, b = _arith._operands(a, b)  # what the comparison itself does first (a cast is traced)
            out = original(a, b)
            self.record(_Op("Compare"), (a, b), {"name": name}, out)
            return out
        return wrapper

    def _argmax(self, original, name):
        def wrapper(a, dim=None, keepdim=False, axis=None, keepdims=False):
            out = original(a, dim, keepdim, axis, keepdims)
            kw = {"mode": name[3:], "axes": _reduce.axes_arg(a.ndim, dim, axis), "keep": bool(keepdim or keepdims)}
            self.record(_Op("ArgMaxMin"), (a,), kw, out)
            return out
        return wrapper
