"""One direction of one recurrent layer (ember's RNNLayerBackward) as one ONNX RNN, LSTM or GRU op.

The gate blocks are reordered at run time by a Gather on the named weights: ember (PyTorch)
keeps LSTM gates i, f, g, o and ONNX i, o, f, c; GRU r, z, n and ONNX z, r, h, with
linear_before_reset=1 for PyTorch's b_hn inside r * (...). An all-zero initial state that the
model made itself is left out (ONNX's default), so the batch size can change."""
import numpy as np

from . import converter

ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn_tanh": (0,), "rnn_relu": (0,)}
OP = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}


@converter("RNNLayerBackward")
def rnn_layer(g, node):
    kw = node.kwargs
    mode, lstm = kw["mode"], kw["mode"] == "lstm"
    k = 3 if lstm else 2  # x, h0, [c0,] then the weights
    hidden = node.inputs[k + 1].shape[1]
    perm = g.ints(np.concatenate([np.arange(b * hidden, (b + 1) * hidden) for b in ORDER[mode]]))
    first = g.ints([0])

    def gates(i):
        return g.op("Gather", [g.input(node, i), perm], axis=0)

    def state(i):
        return "" if g.zero_constant(node, i) else g.op("Unsqueeze", [g.input(node, i), first])

    w, r = (g.op("Unsqueeze", [gates(i), first]) for i in (k, k + 1))
    b = g.op("Unsqueeze", [g.op("Concat", [gates(k + 2), gates(k + 3)], axis=0), first]) if kw["has_bias"] else ""
    inputs = [g.input(node, 0), w, r, b, "", state(1)] + ([state(2)] if lstm else [])
    while inputs[-1] == "":
        inputs.pop()
    attrs = {"hidden_size": hidden, "direction": "reverse" if kw["reverse"] else "forward"}
    if mode == "gru":
        attrs["linear_before_reset"] = 1
    if mode == "rnn_relu":
        attrs["activations"] = ["Relu"]
    outs = g.op(OP[mode], inputs, n_out=3 if lstm else 1, **attrs)
    y = outs[0] if lstm else outs
    g.output(node, g.op("Squeeze", [y, g.ints([1])]))  # (T, 1, N, H) -> (T, N, H)
    if lstm:
        g.output(node, g.op("Squeeze", [outs[2], first]), 1)  # c_n (1, N, H) -> (N, H)


@converter("RNNCellBackward")
def rnn_cell(g, node):
    """One step of RNNCell / LSTMCell / GRUCell from the two projections gx, gh ember records: the
    cell's formula, elementwise (PyTorch's gate orders)."""
    kw = node.kwargs
    mode, k = kw["mode"], 4 if kw["has_bias"] else 2
    hidden = node.inputs[k].shape[1]
    gx, gh = g.input(node, 0), g.input(node, 1)
    if kw["has_bias"]:
        gx, gh = g.op("Add", [gx, g.input(node, 2)]), g.op("Add", [gh, g.input(node, 3)])
    h = g.input(node, k)
    if mode in ("rnn_tanh", "rnn_relu"):
        g.output(node, g.op("Tanh" if mode == "rnn_tanh" else "Relu", [g.op("Add", [gx, gh])]))
    elif mode == "lstm":
        i, f, c_in, o = _split(g, g.op("Add", [gx, gh]), hidden, 4)
        c = g.op("Add", [g.op("Mul", [g.op("Sigmoid", [f]), g.input(node, k + 1)]),
                         g.op("Mul", [g.op("Sigmoid", [i]), g.op("Tanh", [c_in])])])
        g.output(node, g.op("Mul", [g.op("Sigmoid", [o]), g.op("Tanh", [c])]), 0)
        g.output(node, c, 1)
    else:  # r, z, n = sigma(x_r + h_r), sigma(x_z + h_z), tanh(x_n + r * h_n); h' = n + z * (h - n)
        xr, xz, xn = _split(g, gx, hidden, 3)
        hr, hz, hn = _split(g, gh, hidden, 3)
        r, z = (g.op("Sigmoid", [g.op("Add", [a, b])]) for a, b in ((xr, hr), (xz, hz)))
        n = g.op("Tanh", [g.op("Add", [xn, g.op("Mul", [r, hn])])])
        g.output(node, g.op("Add", [n, g.op("Mul", [z, g.op("Sub", [h, n])])]))


def _split(g, x, hidden, parts):
    return g.op("Split", [x, g.ints([hidden] * parts)], n_out=parts, axis=1)
