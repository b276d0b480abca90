"""em.save / em.load: every module type's state_dict round-trips (0-d, int64, bool, empty,
non-contiguous, low-precision entries); colliding keys and unstorable values are refused with
the key named; the file gets the umask's mode; a writer killed mid-save leaves the old file or
the new one, whole, and the next save removes its temporary file."""
import inspect
import os
import signal
import subprocess
import sys
import textwrap
import time

import ml_dtypes
import numpy as np
import pytest

import ember as em
from ember import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# constructor arguments of the module types that need some; the others are built with none
MODULES = {
    "AdaptiveAvgPool2d": ((2,), {}), "AvgPool2d": ((2,), {}), "MaxPool2d": ((2,), {}),
    "BatchNorm1d": ((3,), {}), "BatchNorm2d": ((3,), {}), "SyncBatchNorm": ((3,), {}), "Conv2d": ((2, 3, 3), {}),
    "Embedding": ((5, 3), {"padding_idx": 0}), "GRU": ((3, 4), {"num_layers": 2, "bidirectional": True}),
    "GRUCell": ((3, 4), {}), "LSTM": ((3, 4), {"bidirectional": True}), "LSTMCell": ((3, 4), {}),
    "LayerNorm": ((3,), {}), "Linear": ((3, 2), {}), "RNN": ((3, 4), {"num_layers": 2}), "RNNCell": ((3, 4), {}),
    "CrossEntropyLoss": ((), {"weight": em.tensor([1.0, 2.0])}), "NLLLoss": ((), {"weight": em.tensor([1.0, 2.0])}),
    "BCELoss": ((), {"weight": em.tensor([1.0, 2.0])}),
    "BCEWithLogitsLoss": ((), {"weight": em.tensor([1.0, 2.0]), "pos_weight": em.tensor([3.0, 1.0])}),
    "Sequential": ((nn.Linear(2, 2), nn.BatchNorm1d(2)), {}),
    "ModuleList": (([nn.Linear(2, 2), nn.LayerNorm(2)],), {}), "ModuleDict": (({"a": nn.Linear(2, 2)},), {}),
    "MultiheadAttention": ((4, 2), {"kdim": 3, "vdim": 5}),
    "TransformerEncoderLayer": ((4, 2, 8), {}), "TransformerDecoderLayer": ((4, 2, 8), {"bias": False}),
    "TransformerEncoder": ((nn.TransformerEncoderLayer(4, 2, 8), 2), {"norm": nn.LayerNorm(4)}),
    "TransformerDecoder": ((nn.TransformerDecoderLayer(4, 2, 8), 1), {}),
    "Transformer": ((4, 2, 1, 1, 8), {}),
}


def _module_types():
    return sorted(n for n, c in vars(nn).items()
                  if inspect.isclass(c) and issubclass(c, nn.Module) and c is not nn.Module)


def _build(name):
    args, kwargs = MODULES.get(name, ((), {}))
    try:
        return getattr(nn, name)(*args, **kwargs)
    except TypeError as e:
        pytest.fail(f"nn.{name} needs constructor arguments: add them to MODULES in this file ({e})")


def _assert_same_state(got, want):
    assert set(got) == set(want)
    for k, v in want.items():
        v = v.numpy() if isinstance(v, em.Tensor) else np.asarray(v)
        g = got[k].numpy()
        assert (g.shape, g.dtype) == (v.shape, v.dtype), k
        np.testing.assert_array_equal(g, v, err_msg=k)


@pytest.mark.parametrize("name", _module_types())
def test_every_module_state_dict_round_trips(tmp_path, name):
    em.manual_seed(0)
    module = _build(name)
    if "BatchNorm" in name:  # a trained BatchNorm: num_batches_tracked is a 0-d int64 of 1
        module(em.randn((4, 3) + ((2, 2) if name.endswith("2d") else ())))
    sd = module.state_dict()
    em.save(sd, tmp_path / "m.safetensors")
    back = em.load(tmp_path / "m.safetensors")
    _assert_same_state(back, sd)
    fresh = _build(name)
    fresh.load_state_dict(back)
    _assert_same_state(fresh.state_dict(), sd)


def test_batch_norm_checkpoint_restores_its_counter(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    for _ in range(3):
        model(em.randn(5, 3))
    em.save(model.state_dict(), tmp_path / "bn.safetensors")
    back = em.load(tmp_path / "bn.safetensors")
    assert back["1.num_batches_tracked"].shape == ()
    restored = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    restored.load_state_dict(back)
    assert restored.state_dict()["1.num_batches_tracked"].item() == 3


def _odd_entries():
    wide = np.arange(24, dtype=np.float32).reshape(4, 6)
    return {
        "scalar_int": np.array(7, np.int64), "scalar_float": em.tensor(2.5), "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 3), np.float32), "empty_int": em.tensor(np.zeros((2, 0), np.int64)),
        "transposed": wide.T, "strided": wide[:, ::2], "tensor_t": em.tensor(wide).T,
        "big_endian": np.arange(5, dtype=">f4"), "half": np.linspace(0, 1, 4).astype(np.float16),
        "bf16": np.linspace(0, 1, 4).astype(ml_dtypes.bfloat16), "f64": np.array([[1e-300]]),
    }


@pytest.mark.parametrize("nested", [False, True])
def test_odd_entries_round_trip(tmp_path, nested):
    entries = _odd_entries()
    obj = {"model": entries, "step": 3} if nested else entries
    em.save(obj, tmp_path / "odd.safetensors")
    back = em.load(tmp_path / "odd.safetensors")
    if nested:
        assert back["step"] == 3
        back = back["model"]
    want = {k: (v.numpy() if isinstance(v, em.Tensor) else v) for k, v in entries.items()}
    want["big_endian"] = want["big_endian"].astype("<f4")
    _assert_same_state(back, want)
    back["transposed"].numpy()[0, 0] = -1.0  # loaded arrays are writable, not views of the file bytes


@pytest.mark.parametrize("obj, key", [
    ({"a.b": np.zeros(1), "a": {"b": np.ones(1)}}, "a.b"),
    ({1: np.zeros(1), "1": np.ones(1)}, "1"),
    ({"a": [np.zeros(1)], "a.0": np.ones(1)}, "a.0"),
    ({"opt": {"state": {0: {"m": np.zeros(1)}}, "state.0": {"m": np.ones(1)}}}, "opt.state.0.m"),
])
def test_keys_colliding_after_flattening_are_refused(tmp_path, obj, key):
    with pytest.raises(ValueError, match=f"'{key}'"):
        em.save(obj, tmp_path / "c.safetensors")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("obj, exc, key", [
    ({"w": np.zeros(2), "names": np.array(["a", "b"])}, TypeError, "names"),
    ({"w": np.zeros(2), "objs": np.array([1, None], dtype=object)}, TypeError, "objs"),
    ({"nest": {"deep": np.zeros(2, np.complex128)}, "n": 1}, TypeError, "nest.deep"),
    ({"__metadata__": np.zeros(2)}, ValueError, "__metadata__"),
])
def test_values_safetensors_cannot_store_name_the_key(tmp_path, obj, exc, key):
    with pytest.raises(exc, match=f"'{key}'"):
        em.save(obj, tmp_path / "bad.safetensors")
    assert os.listdir(tmp_path) == []


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        em.save({"w": np.zeros(2)}, tmp_path / "missing" / "m.safetensors")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_file_gets_the_umask_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        em.save({"w": np.zeros(2)}, tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "m.safetensors").st_mode & 0o777 == 0o666 & ~umask


def _temps(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith(".ember-") and n.endswith(".tmp"))


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temps_of_the_target_are_removed_live_ones_kept(tmp_path):
    from ember import serialization as ser
    target = tmp_path / "m.safetensors"
    prefix = ser._temp_prefix(str(target))
    other = ser._temp_prefix(str(tmp_path / "other.safetensors"))
    names = {
        "dead": f"{prefix}{ser._HOST}-{_dead_pid()}-0001.tmp",
        "live": f"{prefix}{ser._HOST}-{os.getpid()}-0002.tmp",
        "old_live": f"{prefix}{ser._HOST}-{os.getpid()}-0003.tmp",
        "other_host": f"{prefix}0badc0de-{_dead_pid()}-0004.tmp",
        "other_target": f"{other}{ser._HOST}-{_dead_pid()}-0005.tmp",
    }
    for n in names.values():
        (tmp_path / n).write_bytes(b"partial")
    long_ago = time.time() - ser.STALE_AFTER_S - 60
    os.utime(tmp_path / names["old_live"], (long_ago, long_ago))
    em.save({"w": np.zeros(2)}, target)
    assert _temps(tmp_path) == sorted([names["live"], names["other_host"], names["other_target"]])


_KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import ember as em
    path, ready = sys.argv[1], sys.argv[2]
    if sys.argv[3] == "hang":  # stop between writing the bytes and the rename, then wait for the kill
        def fsync(fd):
            open(ready, "w").close()
            time.sleep(600)
        os.fsync = fsync
        em.save({"w": np.full(1 << 20, 2.0, np.float32)}, path)
    open(ready, "w").close()
    for i in range(3, 10 ** 6):
        em.save({"w": np.full(1 << 20, float(i), np.float32), "i": np.array(i)}, path)
""")


def _start_writer(tmp_path, mode):
    ready = tmp_path / f"ready-{mode}"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(tmp_path / "m.safetensors"), str(ready),
                             mode], env=env)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.01)
    return proc


def _assert_whole(path, allowed):
    w = em.load(path)["w"].numpy()
    assert w.shape == (1 << 20,) and float(w[0]) in allowed and (w == w[0]).all()


def test_sigkill_mid_save_keeps_the_old_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "m.safetensors"
    em.save({"w": np.full(1 << 20, 1.0, np.float32)}, target)
    proc = _start_writer(tmp_path, "hang")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_whole(target, {1.0})
    assert len(_temps(tmp_path)) == 1
    em.save({"w": np.full(1 << 20, 5.0, np.float32)}, target)
    assert _temps(tmp_path) == []
    _assert_whole(target, {5.0})


def test_sigkill_at_any_moment_leaves_a_whole_file(tmp_path):
    target = tmp_path / "m.safetensors"
    em.save({"w": np.full(1 << 20, 1.0, np.float32)}, target)
    rng = np.random.default_rng(0)
    for _ in range(4):
        proc = _start_writer(tmp_path, "loop")
        time.sleep(float(rng.uniform(0.05, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        w = em.load(target)["w"].numpy()
        assert w.shape == (1 << 20,) and (w == w[0]).all()
    em.save({"w": np.zeros(1 << 20, np.float32)}, target)
    assert _temps(tmp_path) == []
