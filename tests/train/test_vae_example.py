"""examples/vae.py: a short run (--steps) lowers the loss and the reconstruction error."""
import os
import runpy

import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "vae.py")


@pytest.mark.parametrize("device", ["cpu", "numpy"])
def test_vae_loss_falls_in_a_few_steps(device, capsys):
    out = runpy.run_path(EXAMPLE, run_name="example")["main"](["--steps", "40", "--device", device])
    first, last = out["losses"][0], out["losses"][-1]
    assert len(out["losses"]) == 2  # 40 steps: one epoch of 23 batches and part of the next
    assert last < 0.9 * first
    assert out["after"] < out["before"]
    printed = capsys.readouterr().out
    assert "epoch   2" in printed and "reconstruction error" in printed
