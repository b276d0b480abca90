"""fit(precision=...): an MLP on the bundled digits trained with autocast bf16 (and fp16 with
loss scaling) reaches within 1 point of its float32 accuracy."""
import numpy as np
import pytest

import ember as em
from ember import nn


def _accuracy(precision):
    x, y = em.data.datasets.load_digits()
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    n = int(len(x) * 0.8)
    em.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Linear(64, 10))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=3e-3)
    model.fit(x[:n], y[:n], epochs=6, batch_size=64, verbose=0, seed=0, precision=precision)
    assert all(p.dtype == em.float32 for p in model.parameters())
    return model.evaluate(x[n:], y[n:], verbose=0)[1]


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_accuracy_within_a_point(precision):
    base = _accuracy("32")
    assert base > 0.85
    assert _accuracy(precision) >= base - 0.01


def test_bad_precision():
    model = nn.Sequential(nn.Linear(4, 2))
    model.compile(optimizer="sgd", loss="cross_entropy")
    with pytest.raises(ValueError, match=r"^\[fit\] precision must be one of '32', 'bf16', 'fp16', got 'fp8'"):
        model.fit(np.zeros((4, 4), np.float32), np.zeros(4, np.int64), precision="fp8", verbose=0)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cli_precision(capsys, precision):
    from ember.cli import main
    assert main(["train", "--model", "mlp", "--dataset", "digits", "--epochs", "2", "--verbose", "0",
                 "--precision", precision]) == 0
    acc = float(capsys.readouterr().out.split("test accuracy: ")[1].split()[0])
    assert acc > 0.7


def test_cli_refuses_an_unknown_precision(capsys):
    from ember.cli import main
    with pytest.raises(SystemExit):
        main(["train", "--precision", "fp8"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
