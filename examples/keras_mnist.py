"""Keras' "Simple MNIST convnet" tutorial, unchanged but for the import: `from ember import keras`.

    python examples/keras_mnist.py [--epochs 15] [--quick]

Reaches about 99% test accuracy on MNIST. Offline (MNIST cannot be downloaded) it says so and trains on
ember's bundled 8x8 digits, scaled up to 28x28.
"""
import argparse

import numpy as np

from ember import keras
from ember.keras import layers


def load_data():
    """keras.datasets.mnist.load_data(), or the bundled digits as 28x28 uint8 images when MNIST is unreachable."""
    try:
        return keras.datasets.mnist.load_data()
    except (OSError, RuntimeError, ImportError, ValueError) as e:
        print(f"MNIST is not available ({type(e).__name__}: {e}); using ember's bundled 8x8 digits, "
              "scaled up to 28x28, instead")
    from ember.data.datasets import load_digits
    images, labels = load_digits()
    big = np.kron(images, np.ones((3, 3), np.float32))                       # 8x8 -> 24x24
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))                              # -> 28x28, as MNIST's border
    x = (big * 255).astype("uint8")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], labels[order].astype("uint8")
    return (x[:1500], y[:1500]), (x[1500:], y[1500:])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--quick", action="store_true", help="2 epochs on 2,000 images, for tests")
    args = p.parse_args(argv)

    # Model / data parameters
    num_classes = 10
    input_shape = (28, 28, 1)

    # Load the data and split it between train and test sets
    (x_train, y_train), (x_test, y_test) = load_data()
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]

    # Scale images to the [0, 1] range
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    # Make sure images have shape (28, 28, 1)
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    print("x_train shape:", x_train.shape)
    print(x_train.shape[0], "train samples")
    print(x_test.shape[0], "test samples")

    # convert class vectors to binary class matrices
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )

    model.summary()

    batch_size = 128
    epochs = 2 if args.quick else args.epochs

    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", score[0])
    print("Test accuracy:", score[1])
    return score[1]


if __name__ == "__main__":
    main()
