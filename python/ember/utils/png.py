"""A tiny PNG writer (zlib + struct, no dependency): 8-bit grayscale or RGB images, for the examples'
generated samples.

    from ember.utils.png import write_png
    write_png("digits.png", grid)      # grid: (H, W) or (H, W, 3), uint8 or floats in [0, 1]
"""
import struct
import zlib

import numpy as np

__all__ = ["write_png", "to_uint8"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def to_uint8(image):
    """uint8 pixels of image: unchanged if uint8, else floats in [0, 1] scaled (and clipped) to [0, 255]."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind not in "fiub":
        raise TypeError(f"[write_png] pixels must be numbers, got dtype {a.dtype}")
    return np.rint(np.clip(a.astype(np.float64), 0.0, 1.0) * 255).astype(np.uint8)


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, image):
    """Writes image ((H, W) grayscale or (H, W, 3) RGB; uint8, or floats in [0, 1]) to path as a PNG.

    Returns:
        path.
    """
    a = to_uint8(image)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"[write_png] expected a non-empty (H, W) or (H, W, 3) image, got shape {a.shape}")
    height, width = a.shape[:2]
    color = 0 if a.ndim == 2 else 2  # grayscale, truecolor
    rows = np.ascontiguousarray(a).reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)  # filter type 0 (none) per row
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
                + _chunk(b"IEND", b""))
    return path
