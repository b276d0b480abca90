"""keras.datasets.mnist.load_data() on ember's MNIST reader (downloaded once into ember's data folder)."""


def _reader():
    """ember's load_mnist_arrays (in ember.data.mnist, or ember.data.datasets in older trees)."""
    try:
        from ...data.mnist import load_mnist_arrays
    except ImportError:
        from ...data.datasets import load_mnist_arrays
    return load_mnist_arrays


def load_data(path="mnist.npz"):
    """((x_train, y_train), (x_test, y_test)): uint8 images (60000, 28, 28) and (10000, 28, 28), uint8 labels.

    `path` is Keras' cache file name, accepted for its signature; ember keeps its own copy of the files
    (~/.cache/ember/mnist, or $EMBER_DATA/mnist). Offline, with no copy, it raises the reader's error.
    Example:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    """
    return _reader()(root=None, download=True)
