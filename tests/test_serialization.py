"""em.save / em.load: every module type's state_dict round-trips (0-d, int64, bool, empty,
non-contiguous, low-precision entries); colliding keys and unstorable values are refused with
the key named; the file gets the umask's mode; a writer killed mid-save leaves the old file or
the new one, whole, and the next save removes its temporary file."""
import inspect
import json
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
    "ConvTranspose2d": ((3, 2, 3), {"stride": 2, "groups": 1}),
    "Upsample": ((), {"scale_factor": 2}), "UpsamplingBilinear2d": ((), {"scale_factor": 2}),
    "UpsamplingNearest2d": ((), {"size": 4}),
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
        g = got[k].numpy() if isinstance(got[k], em.Tensor) else got[k]
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
    for k, v in entries.items():  # tensors come back as tensors, arrays as arrays (as torch.load)
        assert type(back[k]) is type(v), k
    want = {k: (v.numpy() if isinstance(v, em.Tensor) else v) for k, v in entries.items()}
    want["big_endian"] = want["big_endian"].astype("<f4")
    _assert_same_state(back, want)
    back["transposed"][0, 0] = -1.0
    back["tensor_t"].numpy()[0, 0] = -1.0  # loaded arrays are writable, not views of the file bytes


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
    w = np.asarray(em.load(path)["w"])
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
        w = np.asarray(em.load(target)["w"])
        assert w.shape == (1 << 20,) and (w == w[0]).all()
    em.save({"w": np.zeros(1 << 20, np.float32)}, target)
    assert _temps(tmp_path) == []


# ---- nests of any supported type, file objects, map_location, refusals, old files -----------------------

def _nest():
    return {
        "model": {"w": em.randn(3, 2), "b": em.zeros(2)},
        "optimizer": {"state": {0: {"step": 4, "exp_avg": np.ones(3, np.float32)}, 1: {}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False}]},
        "epoch": 7, "loss": float("nan"), "best": float("inf"), "name": "run-1", "note": None,
        "scalars": (np.float32(1.5), np.int64(-3), np.bool_(True)),
        "list": [em.tensor(2.0), [], (), {}, [em.tensor([True, False])]],
        -1: "negative int key", 10 ** 30: "an int wider than int64",
    }


def _same(got, want, where="obj"):
    """Types exactly as saved (tuple stays tuple, int keys int, arrays arrays); values equal."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            _same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, (em.Tensor, np.ndarray, np.generic)):
        g, w = (np.asarray(x.numpy() if isinstance(x, em.Tensor) else x) for x in (got, want))
        assert (g.shape, g.dtype) == (w.shape, w.dtype), where
        np.testing.assert_array_equal(g, w, err_msg=where)
    elif isinstance(want, float) and want != want:
        assert got != got, where
    else:
        assert got == want, where


@pytest.mark.parametrize("obj", [
    _nest(), em.randn(2, 3), em.tensor(5), em.tensor(np.zeros((0, 4), np.int64)), np.arange(6).reshape(2, 3).T,
    [em.ones(2), "x", 3], (em.ones(1), (None, 2.5)), {}, {"w": em.randn(2, requires_grad=True)}, 3, "text", None,
], ids=["nest", "tensor", "0d", "empty_int", "array_T", "list", "tuple", "empty_dict", "requires_grad", "int",
        "str", "none"])
def test_any_nest_round_trips_with_its_types(tmp_path, obj):
    em.save(obj, tmp_path / "n.safetensors")
    back = em.load(tmp_path / "n.safetensors")
    _same(back, obj)
    for t in (back,) if isinstance(back, em.Tensor) else ():
        assert t.device == "cpu"


def test_requires_grad_and_tensor_types_are_kept(tmp_path):
    obj = {"w": em.randn(2, requires_grad=True), "b": em.zeros(2), "a": np.zeros(2)}
    em.save(obj, tmp_path / "g.safetensors")
    back = em.load(tmp_path / "g.safetensors")
    assert back["w"].requires_grad and not back["b"].requires_grad and isinstance(back["a"], np.ndarray)


def test_structure_matches_torch_load(tmp_path):
    torch = pytest.importorskip("torch")
    import io
    def to_torch(o):
        if isinstance(o, dict):
            return {k: to_torch(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return type(o)(to_torch(v) for v in o)
        return torch.from_numpy(o.numpy()) if isinstance(o, em.Tensor) else o

    mine = _nest()
    buf = io.BytesIO()
    torch.save(to_torch(mine), buf)
    buf.seek(0)
    ref = torch.load(buf, weights_only=False)
    em.save(mine, tmp_path / "t.safetensors")
    back = em.load(tmp_path / "t.safetensors")

    def skeleton(o):
        if isinstance(o, dict):
            return {(type(k).__name__, k): skeleton(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return (type(o).__name__, [skeleton(v) for v in o])
        return "tensor" if isinstance(o, (em.Tensor, torch.Tensor)) else type(o).__name__

    assert skeleton(back) == skeleton(ref)


def test_file_objects(tmp_path):
    import io
    obj = _nest()
    buf = io.BytesIO()
    em.save(obj, buf)
    _same(em.load(io.BytesIO(buf.getvalue())), obj)
    with open(tmp_path / "f.safetensors", "wb") as f:
        em.save(obj, f)
    with open(tmp_path / "f.safetensors", "rb") as f:
        _same(em.load(f), obj)
    assert (tmp_path / "f.safetensors").read_bytes() == buf.getvalue()
    with open(tmp_path / "f.safetensors", "r", encoding="latin-1") as f, pytest.raises(TypeError, match="binary"):
        em.load(f)
    with open(tmp_path / "text.safetensors", "w") as f, pytest.raises(TypeError, match=r"\[save\].*binary"):
        em.save(obj, f)
    with pytest.raises(TypeError, match=r"\[save\].*path"):
        em.save(obj, 3)
    with pytest.raises(TypeError, match=r"\[load\].*path"):
        em.load(object())


def test_a_failed_save_writes_nothing_to_a_file_object():
    import io
    buf = io.BytesIO()
    with pytest.raises(TypeError, match="'bad'"):
        em.save({"ok": np.zeros(2), "bad": np.array(["s"])}, buf)
    assert buf.getvalue() == b""


@pytest.mark.parametrize("device", ["numpy", "cpu", "cuda-emu"])
def test_map_location_moves_tensors_only(tmp_path, device):
    em.save({"w": em.ones(2), "a": np.ones(2)}, tmp_path / "m.safetensors")
    em.save({"w": em.ones(2)}, tmp_path / "flat.safetensors")
    back = em.load(tmp_path / "m.safetensors", map_location=device)
    assert back["w"].device == device and isinstance(back["a"], np.ndarray)
    assert em.load(tmp_path / "flat.safetensors", map_location=device)["w"].device == device


def test_bad_map_location_is_refused(tmp_path):
    em.save({"w": em.ones(2)}, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match=r"\[load\] map_location='tpu'"):
        em.load(tmp_path / "m.safetensors", map_location="tpu")
    with pytest.raises(TypeError, match=r"\[load\] map_location"):
        em.load(tmp_path / "m.safetensors", map_location=lambda storage, loc: storage)
    with pytest.raises(TypeError, match=r"\[load\] map_location"):
        em.load(tmp_path / "m.safetensors", map_location={"cuda": "cpu"})


@pytest.mark.parametrize("obj, what", [
    (nn.Linear(2, 2), "Linear"), ({"model": nn.Linear(2, 2)}, "Linear"),
    (None, "SGD"), ({"fn": len}, "builtin_function_or_method"), ({"s": {1, 2}}, "set"),
])
def test_objects_are_refused_pointing_at_state_dict(tmp_path, obj, what):
    if obj is None:
        obj = em.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"\[save\].*" + what):
        em.save(obj, tmp_path / "o.safetensors")
    if what in ("Linear", "SGD"):
        with pytest.raises(TypeError, match=r"state_dict\(\)"):
            em.save(obj, tmp_path / "o.safetensors")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("cut", [0, 5, 8, 40, -1])
def test_truncated_file_names_the_file(tmp_path, cut):
    import io
    em.save(_nest(), tmp_path / "whole.safetensors")
    blob = (tmp_path / "whole.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(blob[:cut])
    with pytest.raises(ValueError, match=r"\[load\] '.*cut.safetensors'"):
        em.load(tmp_path / "cut.safetensors")
    f = io.BytesIO(blob[:cut])
    f.name = "in-memory.safetensors"
    with pytest.raises(ValueError, match="in-memory.safetensors"):
        em.load(f)


def _with_structure(structure, arrays):
    from safetensors.numpy import save as dumps
    return dumps(arrays, metadata={"ember.structure": json.dumps(structure)})


def test_corrupt_structure_names_the_file(tmp_path):
    f = tmp_path / "s.safetensors"
    for structure in ('{"__dict__": [["w", {"__array__": "missing"}]]}', "{not json", '{"__dict__": 3}',
                      '{"__dict__": [["w", 1, 2]]}', '{"__dict__": [[["unhashable"], 1]]}',
                      "[" * 100000 + "]" * 100000):
        from safetensors.numpy import save as dumps
        f.write_bytes(dumps({"w": np.zeros(1)}, metadata={"ember.structure": structure}))
        with pytest.raises(ValueError, match="s.safetensors.*corrupt"):
            em.load(f)


def test_files_of_the_previous_writer_still_load(tmp_path):
    # The earlier writer tagged every array {"__array__": key} and loaded it as a tensor, and wrote flat
    # {str: array} dicts as plain safetensors.
    structure = {"__dict__": [["state", {"__dict__": [[0, {"__dict__": [["m", {"__array__": "state.0.m"}],
                                                                     ["step", 2]]}]]}],
                              ["groups", [{"__dict__": [["betas", {"__tuple__": [0.9, 0.99]}]]}]]]}
    (tmp_path / "old.safetensors").write_bytes(_with_structure(structure, {"state.0.m": np.arange(3.0)}))
    back = em.load(tmp_path / "old.safetensors")
    assert isinstance(back["state"][0]["m"], em.Tensor) and back["state"][0]["step"] == 2
    assert back["groups"][0]["betas"] == (0.9, 0.99)
    from safetensors.numpy import save_file
    save_file({"w": np.ones(2, np.float32)}, str(tmp_path / "plain.safetensors"))
    assert isinstance(em.load(tmp_path / "plain.safetensors")["w"], em.Tensor)


def test_plain_state_dicts_stay_plain_safetensors(tmp_path):
    from safetensors.numpy import load_file
    sd = nn.Linear(3, 2).state_dict()
    em.save(sd, tmp_path / "p.safetensors")
    raw = load_file(str(tmp_path / "p.safetensors"))
    assert set(raw) == set(sd)
    from ember.serialization import _metadata
    assert _metadata((tmp_path / "p.safetensors").read_bytes()) is None
