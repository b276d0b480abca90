"""Logistic regression: tell digit 3 from digit 8 (bundled 8x8 digits) with one linear layer,
BCEWithLogitsLoss and SGD; prints the test accuracy.

    python examples/logistic_regression.py [--epochs 30]
"""
import argparse

import numpy as np

import ember as em
from ember import nn
from ember.data.datasets import load_digits, train_test_split


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--device", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    em.manual_seed(0)
    images, labels = load_digits()
    keep = (labels == 3) | (labels == 8)
    x, y = images[keep].reshape(-1, 64), (labels[keep] == 8).astype(np.float32)[:, None]
    x_train, y_train, x_test, y_test = train_test_split(x, y, 0.25, seed=0)
    dev = args.device or em.get_default_device()
    model = nn.Linear(64, 1).to(dev)
    model.compile(em.optim.SGD(model.parameters(), lr=0.5), nn.BCEWithLogitsLoss(), metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5 if args.quick else args.epochs, batch_size=32, verbose=0, seed=0)
    loss, acc = model.evaluate(x_test, y_test)
    print(f"3-vs-8 logistic regression: test accuracy {acc:.4f}, loss {loss:.4f} ({len(x_test)} digits)")
    return acc


if __name__ == "__main__":
    main()
