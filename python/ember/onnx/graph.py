"""Graph: what converters build the ONNX graph with.

It names every traced tensor: a graph input by its input name, a parameter or buffer by its
state_dict name (an initializer), a node's output by what its converter bound it to. A tensor
none of these made (created outside ember's ops: zeros for an RNN's initial state, a causal
mask) becomes an anonymous initializer, but only if the second trace (other input values, and
other sizes along the dynamic axes) saw the same value there: otherwise it came from the inputs
through an untraced operation and freezing it would answer wrong. One exception: a tensor
filled with one value whose sizes follow the dynamic axes (sizes.py) is made at run time.
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .sizes import Sizes

ONNX_DTYPES = {
    np.dtype("float32"): TensorProto.FLOAT, np.dtype("float64"): TensorProto.DOUBLE,
    np.dtype("float16"): TensorProto.FLOAT16, np.dtype("int64"): TensorProto.INT64,
    np.dtype("int32"): TensorProto.INT32, np.dtype("bool"): TensorProto.BOOL,
}


class ExportError(ValueError):
    """A model (or one of its ops) that cannot be exported as asked."""


def onnx_dtype(dtype, what):
    try:
        return ONNX_DTYPES[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise ExportError(f"[onnx.export] {what} has dtype {dtype}, which ember does not export "
                          f"(float32, float64, float16, int64, int32, bool)") from None


def host(a):
    """A device array (NumPy or CuPy) as a NumPy array."""
    return a if isinstance(a, np.ndarray) else np.asarray(a.get() if hasattr(a, "get") else a)


class Graph:
    def __init__(self, opset, params):
        self.opset = opset
        self.sizes = Sizes(self)        # sizes that follow the dynamic axes, read off the inputs
        self.params = params            # id(tensor) -> (state_dict name, tensor)
        self.names = {}                 # id(tensor) -> ONNX value name
        self.keep = []                  # tensors named by id: kept alive so that no id is reused
        self.by_data = {}               # id(tensor._data) -> tensor, for arrays ops take as kwargs
        self.missing = {}               # id(tensor) -> why an output of a converted op has no ONNX value
        self.nodes, self.initializers = [], []
        for _, p in params.values():
            self.by_data[id(p._data)] = p
        self._init_names, self._count, self._node = set(), 0, None

    # ---- naming -------------------------------------------------------------------------
    def bind(self, tensor, name):
        self.names[id(tensor)] = name
        self.by_data[id(tensor._data)] = tensor
        self.keep.append(tensor)

    def known(self, tensor):
        """Whether tensor has (or cannot have) an ONNX value: else it is a traced constant."""
        return (id(tensor) in self.names or id(tensor) in self.params or id(tensor) in self.missing
                or id(tensor._data) in self.by_data)

    def unavailable(self, tensor, why):
        self.missing[id(tensor)] = why
        self.keep.append(tensor)

    def value(self, t, alt, what):
        """The ONNX name of tensor t (alt: its counterpart in the second trace)."""
        name = self.names.get(id(t))
        if name is not None:
            return name
        if id(t) in self.missing:
            raise ExportError(f"[onnx.export] {what} is {self.missing[id(t)]}")
        same = self.by_data.get(id(t._data))
        if same is not None and same is not t:  # another tensor on the same array (detach(), .data, where's mask)
            return self.value(same, None, what)
        if id(t) in self.params:
            pname, p = self.params[id(t)]
            if pname not in self._init_names:
                self._add_init(pname, host(p._data))
            return pname
        name = self.constant_of(host(t._data), None if alt is None else host(alt._data), what)
        self.bind(t, name)
        return name

    # ---- what converters ask for ---------------------------------------------------------
    def input(self, node, i):
        """The ONNX name of node's input i."""
        alt = node.alt.inputs[i] if node.alt is not None else None
        return self.value(node.inputs[i], alt, f"input {i} of {node.op} in '{node.path}'")

    def output(self, node, name, j=0):
        """node's output j is ONNX value `name`."""
        self.bind(node.outputs[j], name)

    def array(self, a, alt, node, what):
        """The ONNX name of an array an op took as a keyword argument: a traced tensor's data, the mask
        it was made from, or a constant."""
        t = self.by_data.get(id(a))
        if t is not None:
            return self.value(t, None, what)
        alias = node.aliases.get(id(a))
        if alias is not None and hasattr(alias[1], "_data"):
            alt_alias = node.alt.aliases.get(id(alt)) if node.alt is not None else None
            return self.value(alias[1], alt_alias[1] if alt_alias else None, what)
        return self.constant_of(host(a), None if alt is None else host(alt), f"{what} of {node.op} in '{node.path}'")

    def zero_constant(self, node, i):
        """Whether node's input i is a traced constant that is all zeros in both traces (an RNN's state)."""
        t = node.inputs[i]
        if self.known(t):
            return False
        alt = node.alt.inputs[i] if node.alt is not None else t
        return not host(t._data).any() and not host(alt._data).any()

    def constant_of(self, a, alt, what):
        """An initializer holding a traced constant a, after checking the second trace saw the same; a
        constant filled with one value and sized by the dynamic axes (zeros(x.shape[0], 4)) is made at run
        time."""
        if alt is not None and a.shape != alt.shape:
            filled = self._filled(a, alt)
            if filled is not None:
                return filled
        if alt is not None and (a.shape != alt.shape or a.dtype != alt.dtype or
                                not np.array_equal(a, alt, equal_nan=a.dtype.kind == "f")):
            change = "the dynamic axes" if a.shape != alt.shape else "the input values (or is random)"
            raise ExportError(
                f"[onnx.export] {what} is a tensor of shape {a.shape} that ember did not trace (made outside "
                f"ember's ops: a comparison, argmax, .numpy(), a new tensor sized from an input, ...) and it "
                f"changes with {change}, so it cannot be a constant of the exported graph")
        return self.const(a)

    def _filled(self, a, alt):
        """Expand(value, shape at run time) for a and alt filled with one value, else None."""
        if a.ndim != alt.ndim or a.dtype != alt.dtype or not a.size or not alt.size:
            return None
        v = a.reshape(-1)[0]
        if not (np.array_equal(a, np.full_like(a, v), equal_nan=True)
                and np.array_equal(alt, np.full_like(alt, v), equal_nan=True)):
            return None
        dims = [p if p == q else self.sizes.value(p, q) for p, q in zip(a.shape, alt.shape)]
        if any(d is None for d in dims):
            return None
        return self.op("Expand", [self.const(np.asarray(v, dtype=a.dtype)), self.sizes.shape(dims)])

    def const(self, a, dtype=None):
        a = np.asarray(a, dtype=dtype)
        name = self.fresh("const")
        self._add_init(name, a)
        return name

    def _add_init(self, name, a):
        if a.dtype.kind == "f" and a.dtype.itemsize == 2 and a.dtype != np.float16:
            raise ExportError(f"[onnx.export] {name} has dtype {a.dtype}; export float32 or float64 models")
        self.initializers.append(numpy_helper.from_array(np.asarray(a, order="C"), name))  # keeps 0-d
        self._init_names.add(name)

    def fresh(self, stem):
        self._count += 1
        return f"{stem}_{self._count}"

    # ---- nodes --------------------------------------------------------------------------
    def start(self, node):
        """Ops emitted from now on come from converting traced node `node`."""
        self._node = node

    def op(self, op_type, inputs, n_out=1, **attrs):
        """Emit one ONNX node; its output name (a list when n_out != 1)."""
        node = self._node
        scope = "/" + node.path.replace(".", "/") if node is not None and node.path else ""
        base = self.fresh(f"{scope}/{op_type}")
        outs = [f"{base}_output_{j}" for j in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=base, **attrs))
        return outs[0] if n_out == 1 else outs

    def ints(self, values):
        """A 1-D int64 initializer (shapes, axes, indices)."""
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1))

    def scalar(self, value, dtype):
        return self.const(np.asarray(value, dtype=dtype))

    def reduce(self, op_type, x, axes, keep):
        """ReduceMean/Max/Min (axes an attribute before opset 18, an input from 18) and ReduceSum (an input)."""
        if axes is None:
            return self.op(op_type, [x], keepdims=int(keep))
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], keepdims=int(keep))
        return self.op(op_type, [x], axes=list(axes), keepdims=int(keep))
