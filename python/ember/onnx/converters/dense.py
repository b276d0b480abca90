"""linear (Gemm on matrices, else MatMul with the transposed weight) and matmul."""
from . import converter


@converter("LinearBackward")
def linear(g, node):
    x, w = g.input(node, 0), g.input(node, 1)
    bias = [g.input(node, 2)] if len(node.inputs) > 2 else []
    if node.inputs[0].ndim == 2:
        g.output(node, g.op("Gemm", [x, w] + bias, transB=1))
        return
    y = g.op("MatMul", [x, g.op("Transpose", [w], perm=[1, 0])])
    g.output(node, g.op("Add", [y] + bias) if bias else y)


@converter("MatMulBackward")
def matmul(g, node):
    g.output(node, g.op("MatMul", [g.input(node, 0), g.input(node, 1)]))
