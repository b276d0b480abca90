"""batch_norm (BatchNormalization; with batch statistics, its formula) and layer_norm
(LayerNormalization). The running statistics are the module's buffers, named by state_dict."""
import math

import numpy as np

from ..graph import host
from . import converter


@converter("BatchNormBackward")
def batch_norm(g, node):
    kw, x = node.kwargs, node.inputs[0]
    C = x.shape[1]
    k = 1
    scale = bias = None
    if kw["has_weight"]:
        scale, k = g.input(node, k), k + 1
    if kw["has_bias"]:
        bias = g.input(node, k)
    if kw["training"]:
        g.output(node, _batch_stats(g, node, scale, bias))
        return
    scale = scale or g.const(np.ones(C, dtype=x.dtype))
    bias = bias or g.const(np.zeros(C, dtype=x.dtype))
    mean, var = (_statistic(g, node, key) for key in ("mean", "var"))
    g.output(node, g.op("BatchNormalization", [g.input(node, 0), scale, bias, mean, var], epsilon=kw["eps"]))


def _statistic(g, node, key):
    """running_mean / running_var: the module's buffer holding the values batch_norm copied, by name."""
    a = host(node.kwargs[key])
    buffers = [b for _, b in getattr(node.module, "named_buffers", lambda: ())()] + [p for _, p in g.params.values()]
    for b in buffers:
        if b.shape == a.shape and b.dtype == a.dtype and np.array_equal(host(b._data), a, equal_nan=True):
            return g.value(b, None, f"the {key} of {node.op}")
    return g.constant_of(a, host(node.alt.kwargs[key]), f"the running {key} of {node.op} in '{node.path}'")


def _batch_stats(g, node, scale, bias):
    """(x - mean) / sqrt(var + eps) * w + b with the statistics of this batch (track_running_stats=False)."""
    x, dtype, nd = g.input(node, 0), node.inputs[0].dtype, node.inputs[0].ndim
    axes = [0] + list(range(2, nd))
    d = g.op("Sub", [x, g.reduce("ReduceMean", x, axes, True)])
    var = g.reduce("ReduceMean", g.op("Mul", [d, d]), axes, True)
    y = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.scalar(node.kwargs["eps"], dtype)])])])
    per_channel = g.ints([-1] + [1] * (nd - 2))
    if scale is not None:
        y = g.op("Mul", [y, g.op("Reshape", [scale, per_channel])])
    if bias is not None:
        y = g.op("Add", [y, g.op("Reshape", [bias, per_channel])])
    return y


@converter("LayerNormBackward")
def layer_norm(g, node):
    kw, x = node.kwargs, node.inputs[0]
    if kw["has_weight"] or kw["has_bias"]:
        k = node.inputs[1].ndim
    else:  # the fewest trailing dims holding `cols` values
        k = next(k for k in range(1, x.ndim + 1) if math.prod(x.shape[x.ndim - k:]) == kw["cols"])
    scale = g.input(node, 1) if kw["has_weight"] else g.const(np.ones(x.shape[x.ndim - k:], dtype=x.dtype))
    bias = [g.input(node, len(node.inputs) - 1)] if kw["has_bias"] else []
    g.output(node, g.op("LayerNormalization", [g.input(node, 0), scale] + bias, axis=-k, epsilon=kw["eps"]))
