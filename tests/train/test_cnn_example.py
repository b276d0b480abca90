"""examples/cnn_digits.py: the full run reaches >= 97% on cpu; quick mode runs on numpy too."""
import os
import runpy

from ..devices import require

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def run(argv):
    return runpy.run_path(os.path.join(EXAMPLES, "cnn_digits.py"), run_name="example")["main"](argv)


def test_cnn_digits_reaches_97_percent_on_cpu(capsys):
    require("cpu")
    assert run(["--device", "cpu"]) >= 0.97
    assert "test accuracy" in capsys.readouterr().out


def test_cnn_digits_quick_on_numpy(capsys):
    assert run(["--device", "numpy", "--quick"]) > 0.5  # two epochs: well above chance (0.1)
    assert "test accuracy" in capsys.readouterr().out
