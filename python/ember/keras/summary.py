"""model.summary() in Keras' table: Layer (type) | Output Shape | Param # (| Connected to, for graphs that are
not a plain chain), then the total, trainable and non-trainable parameter counts with their sizes."""


def memory_size(nbytes):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _connections(model):
    """{layer name: 'input_layer[0][0], ...'} for a functional model's nodes; None for a chain."""
    from .layers.base import InputLayer
    nodes = model._nodes_order
    if nodes is None:
        return None
    chain = all(len(n.inputs) <= 1 for n in nodes) and sum(isinstance(n.layer, InputLayer) for n in nodes) == 1
    if chain:
        return None
    out = {}
    for node in nodes:
        names = [f"{t.node.layer.name}[{t.node.layer._nodes.index(t.node)}][{t.index}]" for t in node.inputs]
        out.setdefault(node.layer.name, ", ".join(names) or "-")
    return out


def _table(rows, widths, right):
    def cells(row, bar):
        return bar + bar.join(f" {c.rjust(w) if i in right else c.ljust(w)} " for i, (c, w) in
                              enumerate(zip(row, widths))) + bar

    def rule(left, mid, end, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + end

    lines = [rule("┏", "┳", "┓", "━"), cells(rows[0], "┃"), rule("┡", "╇", "┩", "━")]
    for i, row in enumerate(rows[1:]):
        if i:
            lines.append(rule("├", "┼", "┤", "─"))
        lines.append(cells(row, "│"))
    lines.append(rule("└", "┴", "┘", "─"))
    return lines


def summary_text(model):
    shapes = model.output_shapes()
    connected = _connections(model)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    rows = [header]
    for layer in model.layers:
        shape = shapes.get(layer.name)
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [f"{layer.name} ({type(layer).__name__})", _shape_text(shape), params]
        if connected:
            row.append(connected.get(layer.name, "-"))
        rows.append(row)
    minimum = [31, 22, 13] if not connected else [20, 17, 10, 17]
    widths = [max([len(r[i]) for r in rows] + [minimum[i]]) for i in range(len(header))]
    weights = model.weights
    trainable = [w for w in weights if w.requires_grad]
    frozen = [w for w in weights if not w.requires_grad]

    def count(ws):
        n, size = sum(w.numel() for w in ws), sum(w.numel() * w.dtype.itemsize for w in ws)
        return f"{n:,} ({memory_size(size)})"

    lines = [f'Model: "{model.name}"'] + _table(rows, widths, right={2})
    lines += [f" Total params: {count(weights)}", f" Trainable params: {count(trainable)}",
              f" Non-trainable params: {count(frozen)}"]
    return "\n".join(lines)
