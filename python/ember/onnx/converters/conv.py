"""conv2d (Conv), conv_transpose2d (ConvTranspose), max_pool2d (MaxPool), avg_pool2d (AveragePool).

ember records the top/left padding and the output size; the bottom/right padding is what makes
that output size (padding='same' pads one more at the bottom/right, as PyTorch)."""
from . import converter


def _pair(v):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _far_pads(size, out, kernel, stride, dilation, near):
    """Bottom/right padding: the near padding if that gives the output size, else the least that does."""
    far = []
    for n, o, k, s, d, p in zip(size, out, kernel, stride, dilation, near):
        span = d * (k - 1) + 1
        far.append(p if (n + 2 * p - span) // s + 1 == o else (o - 1) * s + span - n - p)
    return far


@converter("Conv2dBackward")
def conv2d(g, node):
    kw, x, w = node.kwargs, node.inputs[0], node.inputs[1]
    stride, near, dil = _pair(kw["stride"]), _pair(kw["padding"]), _pair(kw["dilation"])
    out = node.outputs[0].shape[2:]
    far = _far_pads(x.shape[2:], out, w.shape[2:], stride, dil, near)
    inputs = [g.input(node, i) for i in range(len(node.inputs))]
    g.output(node, g.op("Conv", inputs, kernel_shape=list(w.shape[2:]), strides=list(stride),
                        pads=list(near) + far, dilations=list(dil), group=int(kw["groups"])))


@converter("ConvTranspose2dBackward")
def conv_transpose2d(g, node):
    """weight (C_in, C_out / groups, kH, kW), as PyTorch's; output_padding is what the output size needs."""
    kw, x, w = node.kwargs, node.inputs[0], node.inputs[1]
    stride, pad, dil = _pair(kw.get("stride", 1)), _pair(kw.get("padding", 0)), _pair(kw.get("dilation", 1))
    out = node.outputs[0].shape
    groups = kw.get("groups", out[1] // w.shape[1])
    extra = [o - ((n - 1) * s - 2 * p + d * (k - 1) + 1)
             for o, n, s, p, d, k in zip(out[2:], x.shape[2:], stride, pad, dil, w.shape[2:])]
    inputs = [g.input(node, i) for i in range(len(node.inputs))]
    g.output(node, g.op("ConvTranspose", inputs, kernel_shape=list(w.shape[2:]), strides=list(stride),
                        pads=list(pad) * 2, dilations=list(dil), group=int(groups), output_padding=extra))


def _extra(node, kernel, stride, pad, dil):
    """Padding past the bottom/right padding that makes the floor formula give the recorded output size
    (PyTorch's ceil_mode, whose last window must start inside the input or its padding; ONNX's own
    ceil_mode lacks that rule, so the graph uses floor mode and this padding, never counted)."""
    x, out = node.inputs[0], tuple(node.kwargs["out_size"])
    return [max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
            for n, o, k, s, p, d in zip(x.shape[2:], out, kernel, stride, pad, dil)]


@converter("MaxPool2dBackward")
def max_pool2d(g, node):
    kw = node.kwargs
    k, s, p, d = (_pair(kw[a]) for a in ("kernel", "stride", "padding", "dilation"))
    far = [a + b for a, b in zip(p, _extra(node, k, s, p, d))]
    g.output(node, g.op("MaxPool", [g.input(node, 0)], kernel_shape=list(k), strides=list(s), pads=list(p) + far,
                        dilations=list(d)))


@converter("AvgPool2dBackward")
def avg_pool2d(g, node):
    """count_include_pad counts the padding but not the extra windows' overhang (PyTorch's divisor): the
    padding is then made explicit and the pool counts only what it is given."""
    kw = node.kwargs
    k, s, p = (_pair(kw[a]) for a in ("kernel", "stride", "padding"))
    extra = _extra(node, k, s, p, (1, 1))
    x = g.input(node, 0)
    if kw["count_include_pad"] and any(extra) and any(p):
        x = g.op("Pad", [x, g.ints([0, 0, p[0], p[1], 0, 0, p[0], p[1]])])
        p = (0, 0)
    include = int(kw["count_include_pad"] and not any(extra))
    far = [a + b for a, b in zip(p, extra)]
    g.output(node, g.op("AveragePool", [x], kernel_shape=list(k), strides=list(s), pads=list(p) + far,
                        count_include_pad=include))
