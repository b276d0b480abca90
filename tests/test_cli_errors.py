"""`ember train` with a bad argument prints one line naming it and exits with status 2 before
any training, without a traceback; read_idx / load_mnist name the file on garbage, empty or
overflowing IDX files."""
import os
import subprocess
import sys

import numpy as np
import pytest

from ember.data.datasets import load_mnist, read_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _idx(array, code=0x08):
    head = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _mnist(folder, broken=None, blob=b""):
    """The four MNIST files (2 training, 2 test images) in folder; `broken` names one to replace by blob."""
    folder.mkdir(exist_ok=True)
    for split in ("train", "t10k"):
        files = {f"{split}-images-idx3-ubyte": _idx(np.zeros((2, 4, 4), np.uint8)),
                 f"{split}-labels-idx1-ubyte": _idx(np.array([0, 1], np.uint8))}
        for name, data in files.items():
            (folder / name).write_bytes(blob if name == broken else data)
    return folder


def _overflow_to_zero():
    """An IDX header whose dimensions' product is 2**64 (0 in int64) with no items after it."""
    dims = (2**16, 2**16, 2**16, 2**16)
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def _run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    return subprocess.run([sys.executable, "-m", "ember.cli", "train", "--verbose", "0", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


BAD_IDX = {
    "empty": b"",
    "garbage": b"this is not an IDX file at all",
    "short_header": bytes([0, 0, 0x08, 3, 0, 0]),
    "overflow": _overflow_to_zero(),
    "bad_type": bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 7]),
}


def _cases(tmp_path):
    return {
        "missing_mnist": (["--dataset", f"mnist:{tmp_path / 'nowhere'}"], "--dataset", "nowhere"),
        "missing_file": (["--dataset", f"mnist:{tmp_path / 'empty_dir'}"], "--dataset", "train-images"),
        "unknown_dataset": (["--dataset", "cifar"], "--dataset", "cifar"),
        "epochs": (["--epochs", "-1"], "--epochs", "-1"),
        "epochs_zero": (["--epochs", "0"], "--epochs", "0"),
        "batch_size": (["--batch-size", "0"], "--batch-size", "0"),
        "lr": (["--lr", "-0.5"], "--lr", "-0.5"),
        "lr_inf": (["--lr", "inf"], "--lr", "inf"),
        "device": (["--device", "tpu"], "--device", "tpu"),
        "seed": (["--seed", "-1"], "--seed", "-1"),
        "save_missing_folder": (["--save", str(tmp_path / "no" / "w.safetensors")], "--save", "does not exist"),
        "save_is_folder": (["--save", str(tmp_path)], "--save", "folder"),
        "plot_missing_folder": (["--plot", str(tmp_path / "no" / "c.png")], "--plot", "does not exist"),
        **{f"idx_{k}": (["--dataset", f"mnist:{tmp_path / k}"], "--dataset", "labels-idx1-ubyte")
           for k in BAD_IDX},
    }


@pytest.mark.parametrize("case", ["missing_mnist", "missing_file", "unknown_dataset", "epochs", "epochs_zero",
                                  "batch_size", "lr", "lr_inf", "device", "seed", "save_missing_folder",
                                  "save_is_folder", "plot_missing_folder", *(f"idx_{k}" for k in BAD_IDX)])
def test_bad_argument_is_one_line_and_status_2_before_training(tmp_path, case):
    (tmp_path / "empty_dir").mkdir()
    for k, blob in BAD_IDX.items():
        _mnist(tmp_path / k, "t10k-labels-idx1-ubyte", blob)
    args, flag, detail = _cases(tmp_path)[case]
    r = _run(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ember train: error: argument " + flag) and detail in last, last
    assert "test accuracy" not in r.stdout and " on " not in r.stdout  # stopped before training


def test_unavailable_device_is_refused_before_training(tmp_path):
    from ember.backends import DEVICES, is_available
    missing = [d for d in DEVICES if not is_available(d)]
    if not missing:
        pytest.skip("every device is available here")
    r = _run("--device", missing[0], cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"argument --device: '{missing[0]}' is not available" in r.stderr.strip().splitlines()[-1]


def test_plot_format_matplotlib_cannot_write_is_refused(tmp_path):
    pytest.importorskip("matplotlib")
    r = _run("--plot", str(tmp_path / "curves.notanimage"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "argument --plot: cannot write a 'notanimage' image" in r.stderr.strip().splitlines()[-1]


def test_good_mnist_folder_still_trains(tmp_path):
    r = _run("--dataset", f"mnist:{_mnist(tmp_path / 'ok')}", "--epochs", "1", "--save",
             str(tmp_path / "w.safetensors"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout and (tmp_path / "w.safetensors").exists()


@pytest.mark.parametrize("kind", sorted(BAD_IDX))
def test_read_idx_names_the_file(tmp_path, kind):
    f = tmp_path / f"{kind}.idx"
    f.write_bytes(BAD_IDX[kind])
    with pytest.raises(ValueError, match=f"{kind}.idx"):
        read_idx(f)


def test_header_whose_product_wraps_is_refused(tmp_path):
    f = tmp_path / "wrap.idx"
    f.write_bytes(_overflow_to_zero())
    assert int(np.prod([2**16] * 4, dtype=np.int64)) == 0  # the product a fixed-width check would see
    with pytest.raises(ValueError, match="wrap.idx.*truncated"):
        read_idx(f)


def test_idx_folder_given_as_file_is_named(tmp_path):
    (tmp_path / "d.idx").mkdir()
    with pytest.raises(ValueError, match="d.idx.*directory"):
        read_idx(tmp_path / "d.idx")


def test_negative_or_float_labels_are_named(tmp_path):
    folder = _mnist(tmp_path / "m", "train-labels-idx1-ubyte", _idx(np.array([0, -3], np.int8), 0x09))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*non-negative"):
        load_mnist(folder)
    folder = _mnist(tmp_path / "f", "t10k-labels-idx1-ubyte", _idx(np.array([0.5, 1.0], np.float32), 0x0D))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.*integer"):
        load_mnist(folder)
