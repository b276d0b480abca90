"""Elementwise arithmetic, casts, where, clip and reductions."""
from ..graph import onnx_dtype
from . import converter

BINARY = {"AddBackward": "Add", "SubBackward": "Sub", "MulBackward": "Mul", "DivBackward": "Div",
          "PowBackward": "Pow", "WhereBackward": "Where"}
UNARY = {"NegBackward": "Neg", "AbsBackward": "Abs", "ExpBackward": "Exp", "LogBackward": "Log",
         "SqrtBackward": "Sqrt"}
REDUCE = {"SumBackward": "ReduceSum", "MeanBackward": "ReduceMean"}


@converter(*BINARY)
def elementwise(g, node):
    inputs = [g.input(node, i) for i in range(len(node.inputs))]
    g.output(node, g.op(BINARY[node.op], inputs))


@converter(*UNARY)
def unary(g, node):
    g.output(node, g.op(UNARY[node.op], [g.input(node, 0)]))


@converter("PowScalarBackward")
def pow_scalar(g, node):
    x = node.inputs[0]
    g.output(node, g.op("Pow", [g.input(node, 0), g.scalar(node.kwargs["p"], x.dtype)]))


@converter("CastBackward")
def cast(g, node):
    dtype = node.kwargs["dtype"]
    g.output(node, g.op("Cast", [g.input(node, 0)], to=onnx_dtype(dtype, "a cast")))


@converter("ClipBackward")
def clip(g, node):
    dtype = node.inputs[0].dtype
    lo, hi = node.kwargs["lo"], node.kwargs["hi"]
    bounds = ["" if v is None else g.scalar(v, dtype) for v in (lo, hi)]
    g.output(node, g.op("Clip", [g.input(node, 0)] + (bounds if hi is not None else bounds[:1])))


@converter(*REDUCE, "MaxMinBackward")
def reduce(g, node):
    op_type = REDUCE.get(node.op) or {"max": "ReduceMax", "min": "ReduceMin"}[node.kwargs["mode"]]
    axes = node.kwargs["axes"]
    g.output(node, g.reduce(op_type, g.input(node, 0), None if axes is None else list(axes), node.kwargs["keep"]))


COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual"}


@converter("Compare")
def compare(g, node):
    name = node.kwargs["name"]
    a, b = g.input(node, 0), g.input(node, 1)
    y = g.op("Equal", [a, b]) if name == "ne" else g.op(COMPARE[name], [a, b])
    g.output(node, g.op("Not", [y]) if name == "ne" else y)


@converter("ArgMaxMin")
def argmax(g, node):
    kw, x = node.kwargs, node.inputs[0]
    op_type = "ArgMax" if kw["mode"] == "max" else "ArgMin"
    if kw["axes"] is not None:
        g.output(node, g.op(op_type, [g.input(node, 0)], axis=int(kw["axes"][0]), keepdims=int(kw["keep"])))
        return
    flat = g.op(op_type, [g.op("Reshape", [g.input(node, 0), g.ints([-1])])], axis=0, keepdims=0)
    g.output(node, g.op("Reshape", [flat, g.ints([1] * x.ndim)]) if kw["keep"] else flat)
