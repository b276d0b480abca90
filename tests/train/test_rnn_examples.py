"""The recurrent examples: the row-LSTM reaches >= 95% on the digits; the sine forecaster's
loss falls in quick mode."""
import os
import runpy

from ..devices import require

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def load(name):
    return runpy.run_path(os.path.join(EXAMPLES, name), run_name="example")


def test_lstm_digits_reaches_95_percent(capsys):
    require("cpu")
    acc = load("lstm_digits.py")["main"](["--device", "cpu"])
    assert acc >= 0.95
    assert "test accuracy" in capsys.readouterr().out


def test_lstm_digits_quick_runs_on_numpy(capsys):
    acc = load("lstm_digits.py")["main"](["--device", "numpy", "--quick", "--hidden", "16"])
    assert acc > 0.3  # three epochs: well above chance (0.1)


def test_lstm_sequence_quick_loss_falls(capsys):
    curve = load("lstm_sequence.py")["main"](["--quick"])
    assert curve[-1] < 0.5 * curve[0]
    assert "final test mse" in capsys.readouterr().out
