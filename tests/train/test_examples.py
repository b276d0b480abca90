"""The README's main job: the digits MLP trains to >= 95% test accuracy."""
import os
import runpy

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def load(name):
    return runpy.run_path(os.path.join(EXAMPLES, name), run_name="example")


@pytest.mark.parametrize("device", ["cpu", "numpy"])
def test_mlp_digits_reaches_95_percent(device, capsys):
    acc = load("mlp_digits.py")["main"](["--epochs", "12", "--device", device])
    assert acc >= 0.95
    assert "test accuracy" in capsys.readouterr().out
