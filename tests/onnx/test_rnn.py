"""RNN, LSTM and GRU layers exported as ONNX RNN/LSTM/GRU ops (one per layer and direction)."""
import pytest

import ember as em
from ember import nn

from .common import check_export, initializer_names, randn

CASES = [
    ("one_layer", {}),
    ("two_layers", {"num_layers": 2}),
    ("bidirectional", {"bidirectional": True}),
    ("two_layers_bidirectional_batch_first", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("no_bias", {"bias": False}),
]
KINDS = {"RNN": nn.RNN, "RNN_relu": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k), "LSTM": nn.LSTM,
         "GRU": nn.GRU}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name, kw", CASES, ids=[c[0] for c in CASES])
def test_rnn_layers(kind, name, kw):
    em.manual_seed(0)
    model = KINDS[kind](4, 5, **kw)
    batch_axis = 0 if kw.get("batch_first") else 1
    shape = [6, 6]
    shape[batch_axis] = 3
    other = list(shape)
    other[batch_axis], other[1 - batch_axis] = 2, 9
    proto = check_export(model, (randn(*shape, 4),), input_names=["x"],
                         dynamic_axes={"x": {batch_axis: "batch", 1 - batch_axis: "time"}},
                         others=[(randn(*other, 4, seed=1),)])
    assert initializer_names(proto) >= {n for n, _ in model.named_parameters()}


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_initial_state_as_input(kind):
    em.manual_seed(1)
    model = KINDS[kind](3, 4, num_layers=2)
    x, h = randn(5, 2, 3), randn(2, 2, 4, seed=1)
    if kind == "LSTM":
        class WithState(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = model

            def forward(self, x, h, c):
                return self.lstm(x, (h, c))
        check_export(WithState(), (x, h, randn(2, 2, 4, seed=2)))
    else:
        check_export(model, (x, h))


def test_unbatched_sequence():
    check_export(nn.GRU(3, 4), (randn(5, 3),))


@pytest.mark.parametrize("cell", [nn.RNNCell, nn.LSTMCell, nn.GRUCell,
                                  lambda i, h: nn.RNNCell(i, h, nonlinearity="relu"),
                                  lambda i, h: nn.GRUCell(i, h, bias=False)],
                         ids=["RNNCell", "LSTMCell", "GRUCell", "RNNCell_relu", "GRUCell_no_bias"])
def test_cells_unrolled_over_time(cell):
    """A cell stepped over a short sequence in forward (each step traced, the loop unrolled)."""
    em.manual_seed(2)

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell(3, 4)

        def forward(self, x, h):
            state = (h, h * 0.5) if isinstance(self.cell, nn.LSTMCell) else h
            outs = []
            for t in range(x.shape[0]):
                state = self.cell(x[t], state)
                outs.append(state[0] if isinstance(state, tuple) else state)
            return em.stack(outs)

    check_export(Loop(), (randn(4, 2, 3), randn(2, 4, seed=1)), input_names=["x", "h"],
                 dynamic_axes={"x": [1], "h": [0]}, others=[(randn(4, 5, 3, seed=2), randn(5, 4, seed=3))])
