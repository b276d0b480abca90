"""Every example runs in its quick mode and prints its result; the `ember train` CLI."""
import os
import runpy

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def run(name, argv, monkeypatch):
    monkeypatch.syspath_prepend(EXAMPLES)  # mlp_loop.py imports mlp_keras.py, as `python examples/x.py` allows
    return runpy.run_path(os.path.join(EXAMPLES, name), run_name="example")["main"](argv)


def test_linear_regression(monkeypatch, capsys):
    w, b = run("linear_regression.py", [], monkeypatch)
    assert abs(w - 3) < 0.1 and abs(b - 2) < 0.1
    assert "fitted y =" in capsys.readouterr().out


def test_logistic_regression(monkeypatch, capsys):
    assert run("logistic_regression.py", ["--quick"], monkeypatch) > 0.85
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["mlp_keras.py", "mlp_loop.py"])
def test_mlp_both_styles(name, monkeypatch, capsys):
    assert run(name, ["--quick"], monkeypatch) > 0.5  # two epochs: well above chance (0.1)
    assert "test accuracy" in capsys.readouterr().out


def test_autoencoder(monkeypatch, capsys):
    before, after = run("autoencoder.py", ["--quick"], monkeypatch)
    assert after < before
    assert "reconstruction error" in capsys.readouterr().out


def test_gan(monkeypatch, capsys):
    run("gan.py", ["--quick"], monkeypatch)
    out = capsys.readouterr().out
    assert "discriminator loss" in out and "generated mean" in out


def test_cli_trains_the_digits_mlp(capsys, tmp_path):
    from ember.cli import main
    assert main(["train", "--model", "mlp", "--dataset", "digits", "--epochs", "3", "--verbose", "0",
                 "--save", str(tmp_path / "w.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and (tmp_path / "w.safetensors").exists()


def test_cli_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from ember.cli import main
    main(["train", "--epochs", "2", "--verbose", "0", "--plot", str(tmp_path / "curves.png")])
    assert (tmp_path / "curves.png").stat().st_size > 0


@pytest.mark.parametrize("model", ["cnn", "lstm"])
def test_cli_trains_cnn_and_lstm_on_digits(model, capsys, tmp_path):
    import re
    from ember.cli import main
    assert main(["train", "--model", model, "--dataset", "digits", "--epochs", "2", "--verbose", "0",
                 "--save", str(tmp_path / "w.safetensors")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{model} on digits:")
    m = re.search(r"^test accuracy: (\d\.\d{4}) \(loss [\d.]+\) after 2 epochs in ", out, re.M)
    assert m, out
    assert float(m.group(1)) > 0.2  # two epochs at lr 1e-3: well above chance (0.1)
    assert (tmp_path / "w.safetensors").exists()


def test_cli_cnn_and_lstm_shapes_for_mnist_sized_images():
    import numpy as np
    import ember as em
    from ember.cli import _model
    dev = em.get_default_device()
    x = em.tensor(np.zeros((2, 28, 28), np.float32), device=dev)
    assert tuple(_model("cnn", (28, 28), 10).to(dev)(x.reshape(2, 1, 28, 28)).shape) == (2, 10)
    assert tuple(_model("lstm", (28, 28), 10).to(dev)(x).shape) == (2, 10)


def test_cli_errors():
    from ember.cli import main
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "cifar"])
    assert e.value.code == 2
