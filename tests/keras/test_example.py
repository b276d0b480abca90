"""examples/keras_mnist.py (Keras' MNIST convnet tutorial) runs in its quick mode; offline it falls back to
the bundled digits and says so."""
import os
import runpy

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "keras_mnist.py")


def test_keras_mnist_offline_fallback(monkeypatch, capsys):
    from ember.keras.datasets import mnist

    def offline(root=None, download=True):
        raise RuntimeError("[load_mnist_arrays] no mirror could give train-images-idx3-ubyte.gz")
    monkeypatch.setattr(mnist, "_reader", lambda: offline)
    accuracy = runpy.run_path(EXAMPLE, run_name="example")["main"](["--quick"])
    out = capsys.readouterr().out
    assert "MNIST is not available" in out and "bundled 8x8 digits" in out
    assert "Test accuracy:" in out and 'Model: "sequential' in out and "Epoch 2/2" in out
    assert accuracy > 0.3  # two epochs on 1,350 digits: well above chance (0.1)
