"""The seeds' MLP (784-128-64-10, Adam) trained with Keras-style compile/fit: on MNIST when
--mnist DIR holds the IDX files, else on the bundled 8x8 digits (64-128-64-10).

    python examples/mlp_keras.py [--mnist ~/data/mnist] [--epochs 10]
"""
import argparse

import ember as em
from ember import nn
from ember.data.datasets import load_digits, load_mnist, train_test_split


def load(mnist):
    if mnist:
        return load_mnist(mnist)
    images, labels = load_digits()
    return train_test_split(images, labels, 0.2, seed=0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default=None, help="a directory with the four MNIST IDX files")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--device", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    em.manual_seed(0)
    x_train, y_train, x_test, y_test = load(args.mnist)
    features = x_train[0].size
    model = nn.Sequential(nn.Flatten(), nn.Linear(features, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 10)).to(args.device or em.get_default_device())
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=1e-3)
    model.summary(input_shape=x_train.shape[1:])
    model.fit(x_train, y_train, epochs=2 if args.quick else args.epochs, batch_size=64, validation_split=0.1,
              verbose=0 if args.quick else 1, seed=0)
    loss, acc = model.evaluate(x_test, y_test)
    print(f"test accuracy: {acc:.4f} (loss {loss:.4f})")
    return acc


if __name__ == "__main__":
    main()
