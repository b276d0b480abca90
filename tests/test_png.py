"""ember.utils.png: what it writes decodes (signature, CRCs, IHDR) to the pixels it was given."""
import numpy as np
import pytest

from ember.utils.png import to_uint8, write_png

from .png_decode import read_png


@pytest.mark.parametrize("shape", [(1, 1), (9, 17), (5, 4, 3)])
def test_round_trip(tmp_path, shape):
    img = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    path = write_png(str(tmp_path / "a.png"), img)
    pixels, (width, height, _, color, *_) = read_png(path)
    assert (width, height) == (shape[1], shape[0]) and color == (2 if len(shape) == 3 else 0)
    np.testing.assert_array_equal(pixels, img)


def test_floats_are_scaled_and_clipped(tmp_path):
    img = np.array([[-0.5, 0.0, 0.5, 1.0, 2.0]])
    pixels, _ = read_png(write_png(str(tmp_path / "f.png"), img))
    np.testing.assert_array_equal(pixels, [[0, 0, 128, 255, 255]])
    assert to_uint8(np.array([[True, False]])).tolist() == [[255, 0]]


@pytest.mark.parametrize("shape", [(0, 3), (3,), (2, 2, 4), (2, 2, 3, 1)])
def test_bad_shapes_raise(tmp_path, shape):
    with pytest.raises(ValueError, match=r"\[write_png\] expected a non-empty"):
        write_png(str(tmp_path / "b.png"), np.zeros(shape))


def test_bad_dtype_raises(tmp_path):
    with pytest.raises(TypeError, match=r"\[write_png\] pixels must be numbers"):
        write_png(str(tmp_path / "c.png"), np.array([["a"]]))
