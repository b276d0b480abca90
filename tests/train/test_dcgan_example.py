"""examples/dcgan.py for one short epoch: it prints both losses and writes a PNG grid that decodes."""
import os
import runpy

import numpy as np
import pytest

from ..devices import require
from ..png_decode import read_png

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


@pytest.mark.parametrize("device", ["cpu", "numpy"])
def test_dcgan_one_epoch_writes_a_png_grid(device, tmp_path, capsys):
    require(device)
    main = runpy.run_path(os.path.join(EXAMPLES, "dcgan.py"), run_name="example")["main"]
    history = main(["--epochs", "1", "--steps", "3", "--batch-size", "16", "--out", str(tmp_path), "--device", device])
    (d_loss, g_loss, path), = history
    assert np.isfinite(d_loss) and np.isfinite(g_loss)
    assert "epoch 1: discriminator loss" in capsys.readouterr().out
    pixels, (width, height, *_) = read_png(path)
    assert (width, height) == (73, 73)  # 8 x 8 digits of 8x8 pixels, 1-pixel borders
    cells = pixels[1:, 1:].reshape(8, 9, 8, 9)[:, :8, :, :8]
    assert cells.std() > 0  # the generator's digits, not a blank image
    assert np.all(pixels[0] == 0)  # the border
