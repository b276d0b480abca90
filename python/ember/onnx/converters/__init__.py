"""The converter table: ember op (a Function's class name) -> fn(graph, node) that emits ONNX nodes
for one traced node and binds each of its outputs (graph.output) to an ONNX value."""
CONVERTERS = {}


def converter(*ops):
    def register(fn):
        for op in ops:
            CONVERTERS[op] = fn
        return fn
    return register


from . import activation, arith, attention, conv, dense, norm, rnn, shape  # noqa: E402  (they register)
