"""Activations and softmax; GELU is the Gelu op from opset 20, its formula before."""
import math

from . import converter

PLAIN = {"ReLUBackward": "Relu", "SigmoidBackward": "Sigmoid", "TanhBackward": "Tanh"}


@converter(*PLAIN)
def plain(g, node):
    g.output(node, g.op(PLAIN[node.op], [g.input(node, 0)]))


@converter("LeakyReLUBackward")
def leaky_relu(g, node):
    g.output(node, g.op("LeakyRelu", [g.input(node, 0)], alpha=float(node.kwargs["params"][0])))


@converter("ELUBackward")
def elu(g, node):
    g.output(node, g.op("Elu", [g.input(node, 0)], alpha=float(node.kwargs["params"][0])))


@converter("SiLUBackward")
def silu(g, node):
    x = g.input(node, 0)
    g.output(node, g.op("Mul", [x, g.op("Sigmoid", [x])]))


@converter("SoftplusBackward")
def softplus(g, node):
    """PyTorch's softplus: log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    x, (beta, threshold) = g.input(node, 0), node.kwargs["params"]
    c = lambda v: g.scalar(float(v), node.inputs[0].dtype)  # noqa: E731
    bx = g.op("Mul", [x, c(beta)])
    soft = g.op("Div", [g.op("Softplus", [bx]), c(beta)])
    g.output(node, g.op("Where", [g.op("Greater", [bx, c(threshold)]), x, soft]))


@converter("HardtanhBackward")
def hardtanh(g, node):
    lo, hi = node.kwargs["params"]
    c = lambda v: g.scalar(float(v), node.inputs[0].dtype)  # noqa: E731
    g.output(node, g.op("Clip", [g.input(node, 0), c(lo), c(hi)]))


@converter("GELUBackward")
def gelu(g, node):
    x, tanh = g.input(node, 0), bool(node.kwargs["params"][0])
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
