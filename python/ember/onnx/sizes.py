"""Sizes that follow the dynamic axes, computed at run time.

A size seen as a in the first trace and b in the second is c times a product of at most two
dynamic input axes (n in the first trace, 2n + 1 in the second) when one such c fits both:
N, T, 4 * N, N * T. The graph then reads those axes off the inputs (Shape) and multiplies.
Other sizes (T // 2, T - 1) are not expressed this way; the converters refuse them.
"""
from itertools import combinations_with_replacement

import numpy as np


class Sizes:
    def __init__(self, graph):
        self.graph = graph
        self.axes = []      # (input name, axis, size in the first trace, size in the second)
        self._read = {}     # (input name, axis) -> the 1-D int64 value holding that size

    def add(self, name, axis, first, second):
        self.axes.append((name, axis, first, second))

    def expression(self, a, b):
        """(c, axes) with a == c * prod(first sizes) and b == c * prod(second sizes), or None."""
        for k in (1, 2):
            for group in combinations_with_replacement(self.axes, k):
                pa, pb = np.prod([g[2] for g in group]), np.prod([g[3] for g in group])
                if pa and a % pa == 0 and pb and b % pb == 0 and a // pa == b // pb:
                    return int(a // pa), group
        return None

    def value(self, a, b):
        """A 1-D int64 ONNX value holding the size (a, b) at run time, or None if it has no expression."""
        found = self.expression(a, b)
        if found is None:
            return None
        c, group = found
        g = self.graph
        out = None
        for name, axis, _, _ in group:
            size = self._read.get((name, axis))
            if size is None:
                size = self._read[(name, axis)] = g.op("Shape", [name], start=axis, end=axis + 1)
            out = size if out is None else g.op("Mul", [out, size])
        return out if c == 1 else g.op("Mul", [out, g.ints([c])])

    def shape(self, dims):
        """A 1-D int64 ONNX value from dims: ints, or names of 1-D values (from value())."""
        if all(isinstance(d, (int, np.integer)) for d in dims):
            return self.graph.ints(dims)
        parts = [d if isinstance(d, str) else self.graph.ints([d]) for d in dims]
        return self.graph.op("Concat", parts, axis=0)
