"""An independent PNG reader for the tests (8-bit grayscale / RGB, filter type 0 as ember writes):
checks the signature, every chunk's CRC and the IHDR, and returns the pixels."""
import struct
import zlib

import numpy as np


def read_png(path):
    """(pixels (H, W) or (H, W, 3) uint8, IHDR fields (width, height, depth, color, ...))."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind}"
        chunks.append((kind, body))
        pos += 12 + n
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    ihdr = struct.unpack(">IIBBBBB", chunks[0][1])
    width, height, depth, color = ihdr[:4]
    assert depth == 8 and color in (0, 2)
    raw = np.frombuffer(zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT")), np.uint8)
    rows = raw.reshape(height, -1)
    assert np.all(rows[:, 0] == 0), "a row filter other than none"
    pixels = rows[:, 1:]
    return (pixels.reshape(height, width, 3) if color == 2 else pixels.reshape(height, width)), ihdr
