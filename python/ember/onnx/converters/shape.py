"""Reshapes, permutes, expand, indexing, cat, stack and embedding (Gather).

Shapes an op recorded hold the traced sizes; where a size differs between the two traces it
follows a dynamic axis, and is written as what ONNX computes at run time: 0 (copy the input's
dim) or -1 (infer) in a Reshape, 1 in an Expand, an index counted from the end, or a multiple
of the dynamic input sizes read off the inputs (sizes.py).
"""
import numpy as np

from ..graph import ExportError
from . import converter

BIG = np.iinfo(np.int64).max


@converter("ReshapeBackward")
def reshape(g, node):
    g.output(node, g.op("Reshape", [g.input(node, 0), g.sizes.shape(_reshape_target(g, node))]))


def _reshape_target(g, node):
    """The target: literal sizes, 0 (the input's size there), one -1, and sizes read off the inputs."""
    ia, ib = node.inputs[0].shape, node.alt.inputs[0].shape
    oa, ob = node.outputs[0].shape, node.alt.outputs[0].shape
    dims = []
    for i, (a, b) in enumerate(zip(oa, ob)):
        if a == b and a != 0:
            dims.append(a)
        elif i < len(ia) and ia[i] == a and ib[i] == b:
            dims.append(0)
        elif a == b:
            raise ExportError(f"[onnx.export] reshape of {tuple(ia)} to {tuple(oa)} in '{node.path}': a size 0 that "
                              f"is not the input's at the same place does not export")
        else:
            dims.append((a, b))
    dynamic = [i for i, d in enumerate(dims) if isinstance(d, tuple)]
    for i in dynamic[1:] if len(dynamic) > 1 else ():  # one -1 is inferred; the others are computed
        dims[i] = g.sizes.value(*dims[i])
        if dims[i] is None:
            raise ExportError(f"[onnx.export] reshape of {tuple(ia)} to {tuple(oa)} in '{node.path}': size {oa[i]} "
                              f"follows the dynamic axes ({tuple(ib)} to {tuple(ob)} in the second trace) in a way "
                              f"that is not a multiple of them, and another size does too")
    if dynamic:
        dims[dynamic[0]] = -1
    return dims


@converter("PermuteBackward")
def permute(g, node):
    g.output(node, g.op("Transpose", [g.input(node, 0)], perm=[int(a) for a in node.kwargs["axes"]]))


@converter("ExpandBackward")
def expand(g, node):
    ia, ib = node.inputs[0].shape, node.alt.inputs[0].shape
    oa, ob = node.outputs[0].shape, node.alt.outputs[0].shape
    lead = len(oa) - len(ia)
    dims = []
    for i, (a, b) in enumerate(zip(oa, ob)):
        if a == b:
            dims.append(a)
        elif i >= lead and ia[i - lead] == a and ib[i - lead] == b:
            dims.append(1)  # the input's own (dynamic) size
        elif g.sizes.value(a, b) is not None:
            dims.append(g.sizes.value(a, b))
        else:
            raise ExportError(f"[onnx.export] expand of {tuple(ia)} to {tuple(oa)} in '{node.path}': the target size "
                              f"{a} follows the dynamic axes, but not as a multiple of them")
    g.output(node, g.op("Expand", [g.input(node, 0), g.sizes.shape(dims)]))


@converter("CatBackward")
def cat(g, node):
    inputs = [g.input(node, i) for i in range(len(node.inputs))]
    g.output(node, g.op("Concat", inputs, axis=int(node.kwargs["axis"])))


@converter("StackBackward")
def stack(g, node):
    axis = int(node.kwargs["axis"])
    parts = [g.op("Unsqueeze", [g.input(node, i), g.ints([axis])]) for i in range(len(node.inputs))]
    g.output(node, g.op("Concat", parts, axis=axis))


@converter("EmbeddingBackward")
def embedding(g, node):
    idx = g.array(node.kwargs["indices"], node.alt.kwargs["indices"], node, "the indices")
    g.output(node, g.op("Gather", [g.input(node, 0), idx], axis=0))


def _same(a, b, na, nb, node, what):
    """An int index or slice bound seen as a (first trace) and b (second): a literal, or counted from the end."""
    if a == b:
        return int(a)
    if a - na == b - nb:
        return int(a - na)
    raise ExportError(f"[onnx.export] {what} {a} in '{node.path}' changes with the dynamic axes (to {b}), and not "
                      f"as a position counted from the end")


def _key(node, key, ndim):
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        used = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - used) + key[i + 1:]
    used = sum(1 for k in key if k is not None)
    return key + (slice(None),) * (ndim - used)


@converter("IndexBackward")
def index(g, node):
    x = node.inputs[0]
    sa, sb = x.shape, node.alt.inputs[0].shape
    keys = zip(_key(node, node.kwargs["key"], x.ndim), _key(node.alt, node.alt.kwargs["key"], x.ndim))
    slices, ints, arrays, new = [], [], [], []
    dim = pos = 0
    for k, kb in keys:
        if k is None:
            new.append(pos)
            pos += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                slices.append((dim, _slice(k, kb, sa[dim], sb[dim], node)))
            pos += 1
        elif isinstance(k, (int, np.integer)):
            ints.append((dim, _same(k, kb, sa[dim], sb[dim], node, "the index")))
        else:
            if k.dtype.kind == "b":
                raise ExportError(f"[onnx.export] indexing with a bool mask in '{node.path}' makes a data-dependent "
                                  f"shape; use where() or a multiplication by the mask instead")
            arrays.append((dim, k, kb))
            pos += k.ndim
        dim += 1
    if arrays and (len(arrays) > 1 or ints or new):
        raise ExportError(f"[onnx.export] indexing in '{node.path}' mixes an index array with other integer "
                          f"indices or None; only one index array (with slices) exports")
    y = g.input(node, 0)
    if slices:
        d, bounds = zip(*slices)
        starts, ends, steps = zip(*bounds)
        y = g.op("Slice", [y, g.ints(starts), g.ints(ends), g.ints(d), g.ints(steps)])
    for d, i in sorted(ints, reverse=True):
        y = g.op("Gather", [y, g.const(np.asarray(i, dtype=np.int64))], axis=d)
    for d, k, kb in arrays:
        idx = g.array(k, kb, node, "the index array")
        if k.dtype != np.int64:
            idx = g.op("Cast", [idx], to=7)  # INT64
        y = g.op("Gather", [y, idx], axis=d)
    if new:
        y = g.op("Unsqueeze", [y, g.ints(new)])
    g.output(node, y)


def _slice(k, kb, na, nb, node):
    step = 1 if k.step is None else int(k.step)
    if step != (1 if kb.step is None else int(kb.step)):
        raise ExportError(f"[onnx.export] a slice step in '{node.path}' changes with the dynamic axes")
    first, last = (0, BIG) if step > 0 else (BIG, -BIG)
    start = first if k.start is None else _same(k.start, kb.start, na, nb, node, "the slice start")
    stop = last if k.stop is None else _same(k.stop, kb.stop, na, nb, node, "the slice stop")
    return start, stop, step


@converter("Alias")
def alias(g, node):
    """x += y: from here on x is the sum's value."""
    g.output(node, g.input(node, 0))
