"""An autoencoder on the bundled 8x8 digits: 64-32-8-32-64 with MSE and Adam; prints the
reconstruction error and optionally plots originals above reconstructions.

    python examples/autoencoder.py [--epochs 40] [--plot reconstructions.png]
"""
import argparse

import numpy as np

import ember as em
from ember import nn
from ember.data.datasets import load_digits, train_test_split


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--device", default=None)
    p.add_argument("--plot", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    em.manual_seed(0)
    images, labels = load_digits()
    x = images.reshape(len(images), -1)
    x_train, _, x_test, _ = train_test_split(x, labels, 0.2, seed=0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8), nn.ReLU(),   # encoder
                          nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid())  # decoder
    model.to(args.device or em.get_default_device())
    model.compile(optimizer="adam", loss="mse", lr=3e-3)
    before = model.evaluate(x_test, x_test)[0]
    model.fit(x_train, x_train, epochs=3 if args.quick else args.epochs, batch_size=32, verbose=0, seed=0)
    after = model.evaluate(x_test, x_test)[0]
    print(f"reconstruction error (test MSE per pixel): {before:.4f} before training, {after:.4f} after")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        rec = model.predict(x_test[:8])
        fig, axes = plt.subplots(2, 8, figsize=(8, 2))
        for i in range(8):
            for row, img in ((0, x_test[i]), (1, rec[i])):
                axes[row, i].imshow(np.asarray(img).reshape(8, 8), cmap="gray")
                axes[row, i].axis("off")
        fig.savefig(args.plot, dpi=100)
        print(f"plot: {args.plot}")
    return before, after


if __name__ == "__main__":
    main()
