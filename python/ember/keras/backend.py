"""keras.backend: the few session helpers Keras code calls (clear_session, image_data_format, floatx, epsilon)."""
from .layers import base


def clear_session():
    """Restart Keras' layer naming ('dense', 'dense_1', ...), as keras.backend.clear_session()."""
    base._COUNTS.clear()


def image_data_format():
    return "channels_last"


def floatx():
    return "float32"


def epsilon():
    return 1e-7


def backend():
    return "ember"
