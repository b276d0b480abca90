"""ember.onnx.export: a model traced on example inputs, written as an ONNX file (torch.onnx.export's
arguments).

The model runs twice in eval mode with every op recorded (trace.py): once on `args`, once on
the same values rolled by one place and, along each dynamic axis, 2n + 1 long instead of n (not
n + 1: a pooling's floor division could map both to one size and hide the axis). The two records
must agree op for op; where they differ (a reshape's target, an index, an output's size) the
converters learn which sizes follow a dynamic axis, and a constant the model made outside
ember's ops must be the same in both, else the export refuses rather than freeze it. Then each
recorded op that the outputs depend on goes through its converter (converters/), parameters and
buffers become initializers named by their state_dict names, and onnx.checker checks the model.
"""
import numpy as np
import onnx
from onnx import helper

from ..tensor import Tensor
from .converters import CONVERTERS
from .graph import ExportError, Graph, host, onnx_dtype
from .trace import Tracer

OPSETS = range(17, min(21, onnx.defs.onnx_opset_version()) + 1)  # 17 to 21, as far as this onnx knows


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None, opset_version=17):
    """Trace model(*args) and write it to f (a path or a binary file object) as an ONNX model.

    Args:
        model: an ember nn.Module (or a callable of tensors). It runs in eval mode (restored after).
        args: a tensor, or a tuple of tensors (a trailing dict holds keyword arguments); the tensors
            become the graph's inputs, in order.
        input_names, output_names: names of the graph's inputs and (flattened) outputs; missing ones
            are "input"/"output" (one) or "input_<i>"/"output_<i>".
        dynamic_axes: {name: [axis, ...]} or {name: {axis: "dim_name"}}: those dims are symbolic, so the
            exported model runs at other sizes there (a batch size, a sequence length).
        opset_version: the ONNX opset, 17 to 21 (the installed onnx may know fewer).
    Returns:
        the onnx.ModelProto that was written.
    Raises:
        ValueError (ember.onnx.ExportError) for an op without a converter, naming the op and its module,
        or for a model that cannot be traced faithfully.
    Example:
        ember.onnx.export(model, em.randn(2, 3, 28, 28), "cnn.onnx", input_names=["x"],
                          output_names=["logits"], dynamic_axes={"x": [0], "logits": [0]})
    """
    if opset_version not in OPSETS:
        raise ValueError(f"[onnx.export] opset_version must be in {OPSETS.start}..{OPSETS.stop - 1}, got "
                         f"{opset_version!r}")
    if dynamic_axes is not None and not isinstance(dynamic_axes, dict):
        raise TypeError(f"[onnx.export] dynamic_axes must be a dict, got {type(dynamic_axes).__name__}")
    args, kwargs = _split_args(args)
    inputs = _input_tensors(args, kwargs)
    in_names = _names(input_names, len(inputs), "input")
    axes = _dynamic_axes(dynamic_axes, in_names, inputs)
    first, outs_a, outs_b = _trace_twice(model, args, kwargs, inputs, [axes.get(n, {}) for n in in_names])
    out_names = _names(output_names, len(outs_a), "output")
    for name in set(dynamic_axes or {}) - set(in_names) - set(out_names):
        raise ValueError(f"[onnx.export] dynamic_axes names '{name}', which is not an input or output name "
                         f"(inputs {in_names}, outputs {out_names})")
    out_axes = _dynamic_axes({k: v for k, v in (dynamic_axes or {}).items() if k in out_names}, out_names, outs_a)
    graph = Graph(opset_version, _params(model))
    for t, name in zip(inputs, in_names):
        graph.bind(t, name)
        for ax in axes.get(name, {}):
            graph.sizes.add(name, ax, t.shape[ax], 2 * t.shape[ax] + 1)  # the second trace's size (_alt_args)
    _convert(graph, first, outs_a)
    proto = _model(graph, inputs, in_names, axes, outs_a, outs_b, out_names, out_axes)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save_model(proto, f)
    return proto


# ---- arguments ---------------------------------------------------------------------------------
def _split_args(args):
    if isinstance(args, Tensor):
        return (args,), {}
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"[onnx.export] args must be a Tensor or a tuple of Tensors, got {type(args).__name__}")
    args = tuple(args)
    if args and isinstance(args[-1], dict):
        return args[:-1], dict(args[-1])
    return args, {}


def _input_tensors(args, kwargs):
    tensors = []
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Tensor):
            if any(a is t for t in tensors):
                raise ValueError("[onnx.export] the same tensor is passed twice in args; pass a copy for the "
                                 "second input")
            tensors.append(a)
        elif not (a is None or isinstance(a, (bool, int, float, str))):
            raise TypeError(f"[onnx.export] args may hold Tensors (and None, bool, int, float, str), got "
                            f"{type(a).__name__}")
    return tensors


def _names(given, n, stem):
    given = list(given or [])
    if len(given) > n:
        raise ValueError(f"[onnx.export] {len(given)} {stem} names {given} for {n} {stem}s")
    default = [stem] if n == 1 else [f"{stem}_{i}" for i in range(n)]
    names = given + default[len(given):]
    if len(set(names)) != n:
        raise ValueError(f"[onnx.export] {stem} names must be distinct, got {names}")
    return names


def _dynamic_axes(dynamic_axes, names, tensors):
    """{name: {axis: dim_param}} for the names given here (others are checked by the caller)."""
    out = {}
    for name, spec in (dynamic_axes or {}).items():
        if name not in names:
            continue
        t = tensors[names.index(name)]
        if isinstance(spec, dict):
            pairs = [(int(k), str(v)) for k, v in spec.items()]
        elif isinstance(spec, (list, tuple)):
            pairs = [(int(k), f"{name}_dynamic_axes_{i + 1}") for i, k in enumerate(spec)]
        else:
            raise TypeError(f"[onnx.export] dynamic_axes['{name}'] must be a list of axes or a dict "
                            f"{{axis: name}}, got {type(spec).__name__}")
        dims = {}
        for k, v in pairs:
            if not -t.ndim <= k < t.ndim:
                raise ValueError(f"[onnx.export] dynamic axis {k} of '{name}' is out of range for its shape "
                                 f"{tuple(t.shape)}")
            dims[k % t.ndim] = v
        out[name] = dims
    return out


def _alt_args(args, kwargs, inputs, axes):
    """The second trace's inputs: each tensor's values rolled by one place, 2n + 1 long on its dynamic axes
    (the values repeated, so indices stay in range)."""
    swap = {}
    for t, dims in zip(inputs, axes):
        a = host(t._data)
        a = np.roll(a.reshape(-1), 1).reshape(a.shape)
        for ax in sorted(dims):
            n = a.shape[ax]
            if n == 0:
                raise ValueError(f"[onnx.export] dynamic axis {ax} of an input of shape {tuple(t.shape)} has size 0")
            a = np.take(a, np.arange(2 * n + 1) % n, axis=ax)
        swap[id(t)] = Tensor._wrap(t._backend.from_host(np.ascontiguousarray(a)), t._backend)
    pick = lambda a: swap.get(id(a), a) if isinstance(a, Tensor) else a  # noqa: E731
    return tuple(pick(a) for a in args), {k: pick(v) for k, v in kwargs.items()}


def _params(model):
    named = list(model.named_parameters()) if hasattr(model, "named_parameters") else []
    named += list(model.named_buffers()) if hasattr(model, "named_buffers") else []
    params = {}
    for name, p in named:
        params.setdefault(id(p), (name, p))
    return params


# ---- tracing -----------------------------------------------------------------------------------
def _trace_twice(model, args, kwargs, inputs, axes):
    """The first trace's nodes (each paired with the second's) and both traces' flattened outputs."""
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    if hasattr(model, "eval"):
        model.eval()
    try:
        first, out_a = _trace(model, args, kwargs)
        alt_args, alt_kwargs = _alt_args(args, kwargs, inputs, axes)
        try:
            second, out_b = _trace(model, alt_args, alt_kwargs)
        except Exception as e:
            raise ExportError(f"[onnx.export] the model failed on the second trace (the inputs' values rolled, sizes "
                              f"n -> 2n + 1 along the dynamic axes), so its graph cannot be checked: {e}") from e
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    outs_a, outs_b = _flat(out_a), _flat(out_b)
    _pair(first, second, outs_a, outs_b)
    return first, outs_a, outs_b


def _trace(model, args, kwargs):
    tracer = Tracer()
    out = tracer.run(model, args, kwargs)
    return tracer.nodes, out


def _flat(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flat(o)]
    if out is None:
        return []
    raise TypeError(f"[onnx.export] the model returned a {type(out).__name__}; return tensors (or tuples of them)")


def _pair(first, second, outs_a, outs_b):
    if len(first) != len(second) or any(a.op != b.op for a, b in zip(first, second)):
        k = next((i for i, (a, b) in enumerate(zip(first, second)) if a.op != b.op), min(len(first), len(second)))
        at = [nodes[k] if k < len(nodes) else "nothing" for nodes in (first, second)]
        what = f"op {k} is {at[0]}, then {at[1]}"
        raise ExportError(f"[onnx.export] the model ran different ops on other input values or sizes ({what}); "
                          f"a traced graph cannot hold control flow that depends on the data")
    if len(outs_a) != len(outs_b):
        raise ExportError(f"[onnx.export] the model returned {len(outs_a)} tensors, then {len(outs_b)} on other "
                          f"inputs")
    for a, b in zip(first, second):
        a.alt = b


# ---- conversion --------------------------------------------------------------------------------
def _producers(nodes):
    """id(tensor) and id(its array) -> the indices of the nodes that made it (more than one after x += ...)."""
    prod = {}
    for k, node in enumerate(nodes):
        for out in node.outputs:
            prod.setdefault(id(out), []).append(k)
            prod.setdefault(id(out._data), []).append(k)
    return prod


def _needed(nodes, outputs):
    """Indices of the nodes the outputs depend on (the others are never converted)."""
    prod = _producers(nodes)
    need, stack = set(), [(t, len(nodes)) for t in outputs]
    while stack:
        t, before = stack.pop()
        made = prod.get(id(t)) or prod.get(id(getattr(t, "_data", None))) or ()
        k = max((i for i in made if i < before), default=None)  # the last write before this use
        if k is None or k in need:
            continue
        need.add(k)
        stack += [(x, k) for x in nodes[k].inputs + kwarg_arrays(nodes[k])]
    return need


def kwarg_arrays(node):
    """The arrays among a node's keyword arguments (an index key's too), and the tensors they alias."""
    found = []
    for v in node.kwargs.values():
        for a in (v if isinstance(v, tuple) else (v,)):
            if isinstance(a, np.ndarray) or hasattr(a, "__cuda_array_interface__"):
                found.append(a)
                alias = node.aliases.get(id(a))
                if alias is not None and isinstance(alias[1], Tensor):
                    found.append(alias[1])
    return found


def _folds(graph, node):
    """Whether every input of node is a constant: then so are its outputs (taken from the trace)."""
    if any(graph.known(t) for t in node.inputs):
        return False
    return not any(id(a) in graph.by_data or (isinstance(a, Tensor) and graph.known(a)) for a in kwarg_arrays(node))


def _convert(graph, nodes, outputs):
    need = _needed(nodes, outputs)
    for k, node in enumerate(nodes):
        if k not in need or _folds(graph, node):
            continue
        convert = CONVERTERS.get(node.op)
        if convert is None:
            module = f" in module '{node.path}' ({type(node.module).__name__})" if node.module is not None else ""
            raise ExportError(f"[onnx.export] no ONNX converter for ember op {node.op}{module}; ops that export: "
                              f"{', '.join(sorted(CONVERTERS))}")
        graph.start(node)
        convert(graph, node)
        for j, out in enumerate(node.outputs):
            if not graph.known(out):
                graph.unavailable(out, f"output {j} of {node.op} in '{node.path}' has no ONNX equivalent")
    graph.start(None)


def _value_info(name, t, dims, what):
    shape = [dims.get(i, n) for i, n in enumerate(t.shape)]
    return helper.make_tensor_value_info(name, onnx_dtype(t.dtype, what), shape)


def _model(graph, inputs, in_names, axes, outs_a, outs_b, out_names, out_axes):
    ins = [_value_info(n, t, axes.get(n, {}), f"input '{n}'") for t, n in zip(inputs, in_names)]
    outs = []
    for t, alt, name in zip(outs_a, outs_b, out_names):
        dims = {i: f"{name}_dynamic_axes_{i + 1}" for i, (p, q) in enumerate(zip(t.shape, alt.shape)) if p != q}
        dims.update(out_axes.get(name, {}))
        value = graph.value(t, alt, f"output '{name}'")
        graph.nodes.append(helper.make_node("Identity", [value], [name], name=f"/output/{name}"))
        outs.append(_value_info(name, t, dims, f"output '{name}'"))
    g = helper.make_graph(graph.nodes, "ember", ins, outs, graph.initializers)
    opset = [helper.make_opsetid("", graph.opset)]
    proto = helper.make_model(g, opset_imports=opset, producer_name="ember")
    proto.ir_version = helper.find_min_ir_version_for(opset)
    return proto
