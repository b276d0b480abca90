"""Activations and softmax; GELU is the Gelu op from opset 20, its formula before."""
import math

from . import converter

PLAIN = {"ReLUBackward": "Relu", "SigmoidBackward": "Sigmoid", "TanhBackward": "Tanh"}


@converter(*PLAIN)
def plain(g, node):
    g.output(node, g.op(PLAIN[node.op], [g.input(node, 0)]))


@converter("LeakyReLUBackward")
def leaky_relu(g, node):
    g.output(node, g.op("LeakyRelu", [g.input(node, 0)], alpha=float(node.kwargs["param"])))


@converter("GELUBackward")
def gelu(g, node):
    x, tanh = g.input(node, 0), bool(node.kwargs["param"])
    if g.opset >= 20:
        g.output(node, g.op("Gelu", [x], approximate="tanh" if tanh else "none"))
        return
    dtype = node.inputs[0].dtype
    c = lambda v: g.scalar(v, dtype)  # noqa: E731
    if tanh:  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        inner = g.op("Add", [x, g.op("Mul", [g.op("Pow", [x, c(3)]), c(0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, c(math.sqrt(2 / math.pi))])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.op("Erf", [g.op("Div", [x, c(math.sqrt(2))])])
    g.output(node, g.op("Mul", [g.op("Mul", [x, c(0.5)]), g.op("Add", [t, c(1)])]))


@converter("SoftmaxBackward", "LogSoftmaxBackward")
def softmax(g, node):
    op_type = "Softmax" if node.op == "SoftmaxBackward" else "LogSoftmax"
    g.output(node, g.op(op_type, [g.input(node, 0)], axis=int(node.kwargs["axis"])))
