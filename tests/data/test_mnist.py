"""MNIST download and reading against a local HTTP server on 127.0.0.1 (never the internet): small
IDX .gz files with their MD5s passed in; a corrupt file (checksum mismatch: an error, no file left),
a cut connection and a partial file from an earlier run (both resumed with HTTP Range), a dead
mirror (the next one is used), the offline messages; the MNIST dataset's items as torchvision's."""
import gzip
import hashlib
import http.server
import os
import socket
import threading

import numpy as np
import pytest

import ember as em
from ember.data import DataLoader
from ember.data import mnist as mn
from ember.data.datasets import MNIST, load_mnist_arrays

NAMES = [n for n, _ in mn.RESOURCES]


def _idx(array):
    head = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return head + array.tobytes()


def _files():
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6, dtype=np.uint8),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3, dtype=np.uint8)}
    blobs = {n: gzip.compress(_idx(a), mtime=0) + b"\0" * 3000 for n, a in arrays.items()}  # padded: cuts have room
    return arrays, blobs


class _Server:
    """Serves `blobs` under /mnist/ with Range support; `cut` names files whose first answer stops halfway."""

    def __init__(self, blobs, cut=()):
        self.blobs, self.cut, self.requests = dict(blobs), set(cut), []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append((name, self.headers.get("Range")))
                if name not in server.blobs:
                    self.send_error(404)
                    return
                blob, start = server.blobs[name], 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(blob) - start))
                self.end_headers()
                body = blob[start:]
                if name in server.cut:
                    server.cut.discard(name)
                    body = body[:len(body) // 2]
                    self.close_connection = True
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served():
    arrays, blobs = _files()
    checksums = {n: hashlib.md5(b).hexdigest() for n, b in blobs.items()}
    servers = []

    def start(blobs=blobs, cut=()):
        servers.append(_Server(blobs, cut))
        return servers[-1]

    yield arrays, blobs, checksums, start
    for s in servers:
        s.close()


def _dead_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/mnist/"


def _check_arrays(got, arrays):
    (x_train, y_train), (x_test, y_test) = got
    for a, name in [(x_train, "train-images"), (y_train, "train-labels"), (x_test, "t10k-images"),
                    (y_test, "t10k-labels")]:
        want = arrays[f"{name}-idx{3 if 'images' in name else 1}-ubyte.gz"]
        assert a.dtype == np.uint8
        np.testing.assert_array_equal(a, want)


def test_download_then_cached(tmp_path, served):
    arrays, blobs, checksums, start = served
    server = start()
    got = load_mnist_arrays(tmp_path, mirrors=[server.url], checksums=checksums)
    _check_arrays(got, arrays)
    assert sorted(os.listdir(tmp_path)) == sorted(NAMES)
    assert sorted(n for n, _ in server.requests) == sorted(NAMES)
    _check_arrays(load_mnist_arrays(tmp_path, mirrors=[server.url], checksums=checksums), arrays)
    assert len(server.requests) == 4  # the second call read the files it had


def test_the_standard_checksums_reject_other_files(tmp_path, served):
    _, _, _, start = served
    with pytest.raises(RuntimeError, match="checksum mismatch.*f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        load_mnist_arrays(tmp_path, mirrors=[start().url])
    assert os.listdir(tmp_path) == []


def test_corrupt_file_is_refused_and_removed(tmp_path, served):
    arrays, blobs, checksums, start = served
    bad = dict(blobs)
    bad["t10k-images-idx3-ubyte.gz"] = blobs["t10k-images-idx3-ubyte.gz"][:-1] + b"\1"
    server = start(bad)
    with pytest.raises(RuntimeError, match=r"(?s)\[load_mnist_arrays\].*t10k-images-idx3-ubyte.gz.*checksum mismatch"):
        load_mnist_arrays(tmp_path, mirrors=[server.url], checksums=checksums)
    left = os.listdir(tmp_path)
    assert not any(n.startswith("t10k-images") for n in left) and not any(n.endswith(".part") for n in left)


def test_cut_connection_is_resumed(tmp_path, served):
    arrays, _, checksums, start = served
    server = start(cut={"train-images-idx3-ubyte.gz"})
    _check_arrays(load_mnist_arrays(tmp_path, mirrors=[server.url], checksums=checksums), arrays)
    asks = [r for n, r in server.requests if n == "train-images-idx3-ubyte.gz"]
    assert len(asks) == 2 and asks[0] is None and asks[1].startswith("bytes=") and int(asks[1][6:-1]) > 0


def test_partial_file_of_an_earlier_run_is_resumed(tmp_path, served):
    arrays, blobs, checksums, start = served
    name = "train-labels-idx1-ubyte.gz"
    (tmp_path / (name + ".part")).write_bytes(blobs[name][:1000])
    server = start()
    _check_arrays(load_mnist_arrays(tmp_path, mirrors=[server.url], checksums=checksums), arrays)
    assert (name, "bytes=1000-") in server.requests
    assert sorted(os.listdir(tmp_path)) == sorted(NAMES)


def test_a_dead_mirror_is_skipped(tmp_path, served):
    arrays, _, checksums, start = served
    server = start()
    _check_arrays(load_mnist_arrays(tmp_path, mirrors=[_dead_url(), server.url], checksums=checksums), arrays)


def test_offline_messages_name_the_folder_and_the_files(tmp_path):
    with pytest.raises(RuntimeError) as e:
        load_mnist_arrays(tmp_path / "m", mirrors=[_dead_url()])
    text = str(e.value)
    assert "offline" in text and str(tmp_path / "m") in text and all(n in text for n in NAMES)
    with pytest.raises(FileNotFoundError) as e:
        load_mnist_arrays(tmp_path / "m", download=False)
    assert str(tmp_path / "m") in str(e.value) and all(n in str(e.value) for n in NAMES)
    with pytest.raises(FileNotFoundError, match=r"\[MNIST\].*download=True"):
        MNIST(tmp_path)


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBER_DATA", str(tmp_path))
    assert mn.default_root() == str(tmp_path / "mnist")
    monkeypatch.delenv("EMBER_DATA")
    assert mn.default_root() == os.path.join(os.path.expanduser("~"), ".cache", "ember", "mnist")


def test_mnist_dataset_items(tmp_path, served, monkeypatch):
    arrays, _, checksums, start = served
    monkeypatch.setattr(MNIST, "mirrors", (start().url,))
    monkeypatch.setattr(MNIST, "resources", tuple((n, checksums[n]) for n in NAMES))
    train = MNIST(tmp_path, train=True, download=True)
    assert sorted(os.listdir(tmp_path / "MNIST" / "raw")) == sorted(NAMES)
    assert len(train) == 6 and train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    img, label = train[2]
    assert isinstance(img, em.Tensor) and img.shape == (1, 28, 28) and img.dtype == np.float32
    np.testing.assert_allclose(img.numpy()[0], arrays["train-images-idx3-ubyte.gz"][2] / 255.0, rtol=1e-6)
    assert type(label) is int and label == arrays["train-labels-idx1-ubyte.gz"][2]
    test = MNIST(tmp_path, train=False, transform=lambda a: a.sum(), target_transform=lambda t: t + 100)
    assert len(test) == 3 and test[-1] == (int(arrays["t10k-images-idx3-ubyte.gz"][2].sum()),
                                           int(arrays["t10k-labels-idx1-ubyte.gz"][2]) + 100)
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.dtype == np.int64
    with pytest.raises(IndexError, match=r"\[MNIST\] index 6"):
        train[6]
