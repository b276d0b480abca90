"""nn.utils.rnn (PackedSequence, pad_sequence, pack_padded_sequence, pad_packed_sequence,
pack_sequence, unpad_sequence, unpack_sequence) and nn.RNN / LSTM / GRU on packed input, against
PyTorch in float64: values, shapes, indices, every gradient (weights copied by state_dict), and
torch's errors."""
import numpy as np
import pytest

import ember as em
from ember.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence,
                                unpack_sequence, unpad_sequence)

from ..devices import DEVICES

torch = pytest.importorskip("torch")
R = torch.nn.utils.rnn
pytestmark = pytest.mark.torch
HOST = ["numpy", "cpu"]
LENGTHS = {"mixed": [3, 6, 1, 3, 6], "sorted": [6, 4, 4, 2], "equal": [4, 4, 4]}


def _pair(a, device, requires_grad=True):
    """The same float64 data as an ember tensor on device and a torch tensor, both leaves."""
    return (em.tensor(a, dtype=em.float64, device=device, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _backward_both(outs, touts):
    """Backward of sum(out * w) for the same random w, so every gradient can be compared."""
    rng = np.random.default_rng(7)
    loss, tloss = 0, 0
    for o, t in zip(outs, touts):
        w = rng.standard_normal(tuple(t.shape))
        loss = loss + (o * em.tensor(w, dtype=o.dtype, device=o.device)).sum()
        tloss = tloss + (t * torch.from_numpy(w)).sum()
    loss.backward()
    tloss.backward()


def _close(a, t, what):
    np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("device", HOST)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(side, batch_first, device):
    rng = np.random.default_rng(0)
    seqs = [_pair(rng.standard_normal((n, 2, 3)), device) for n in (3, 0, 5, 1)]
    out = pad_sequence([s for s, _ in seqs], batch_first=batch_first, padding_value=-2.5, padding_side=side)
    tout = R.pad_sequence([t for _, t in seqs], batch_first=batch_first, padding_value=-2.5, padding_side=side)
    assert out.shape == tuple(tout.shape)
    _close(out, tout, "padded")
    _backward_both([out], [tout])
    for i, (s, t) in enumerate(seqs):
        _close(s.grad, t.grad, f"grad of sequence {i}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", list(LENGTHS), ids=list(LENGTHS))
def test_pack_and_pad_round_trip_match_torch(lengths, batch_first, device):
    lens = LENGTHS[lengths]
    shape = (len(lens), 7, 3) if batch_first else (7, len(lens), 3)
    x, tx = _pair(np.random.default_rng(1).standard_normal(shape), device)
    sort = lengths == "mixed"
    p = pack_padded_sequence(x, lens, batch_first=batch_first, enforce_sorted=not sort)
    tp = R.pack_padded_sequence(tx, lens, batch_first=batch_first, enforce_sorted=not sort)
    assert isinstance(p, PackedSequence) and isinstance(p, tuple)
    _close(p.data, tp.data, "packed data")
    np.testing.assert_array_equal(p.batch_sizes.numpy(), tp.batch_sizes.numpy())
    for a, b in ((p.sorted_indices, tp.sorted_indices), (p.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            assert a.dtype == em.int64
    y, ylens = pad_packed_sequence(p, batch_first=batch_first, padding_value=0.5, total_length=8)
    ty, tylens = R.pad_packed_sequence(tp, batch_first=batch_first, padding_value=0.5, total_length=8)
    assert y.shape == tuple(ty.shape)
    _close(y, ty, "padded back")
    np.testing.assert_array_equal(ylens.numpy(), tylens.numpy())
    assert ylens.dtype == em.int64
    _backward_both([y, p.data * 2.0], [ty, tp.data * 2.0])
    _close(x.grad, tx.grad, "input grad")


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_matches_torch(enforce_sorted):
    rng = np.random.default_rng(2)
    n = (4, 3, 1) if enforce_sorted else (2, 5, 1, 5)
    seqs = [_pair(rng.standard_normal((k, 2)), "cpu") for k in n]
    p = pack_sequence([s for s, _ in seqs], enforce_sorted=enforce_sorted)
    tp = R.pack_sequence([t for _, t in seqs], enforce_sorted=enforce_sorted)
    _close(p.data, tp.data, "packed")
    np.testing.assert_array_equal(p.batch_sizes.numpy(), tp.batch_sizes.numpy())
    _backward_both([p.data], [tp.data])
    for s, t in seqs:
        _close(s.grad, t.grad, "grad")


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_and_unpack_give_the_sequences_back(batch_first):
    rng = np.random.default_rng(5)
    seqs = [_pair(rng.standard_normal((k, 2)), "cpu") for k in (2, 4, 1)]
    padded = pad_sequence([s for s, _ in seqs], batch_first=batch_first)
    tpadded = R.pad_sequence([t for _, t in seqs], batch_first=batch_first)
    got = unpad_sequence(padded, [2, 4, 1], batch_first=batch_first)
    want = R.unpad_sequence(tpadded, torch.tensor([2, 4, 1]), batch_first=batch_first)
    got += unpack_sequence(pack_sequence([s for s, _ in seqs], enforce_sorted=False))
    want += R.unpack_sequence(R.pack_sequence([t for _, t in seqs], enforce_sorted=False))
    assert [tuple(g.shape) for g in got] == [tuple(w.shape) for w in want]
    for g, w in zip(got, want):
        _close(g, w, "sequence")
    _backward_both(got, want)
    for s, t in seqs:
        _close(s.grad, t.grad, "grad")


def _layer_pair(cls, config, device):
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(3, 4, **config).double()
    e = getattr(em.nn, cls)(3, 4, **config, dtype=em.float64)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return t, e.to(device)


CONFIGS = [dict(), dict(num_layers=2, bidirectional=True), dict(num_layers=2, nonlinearity="relu", bias=False)]
CONFIG_IDS = ["1layer", "2bi", "2relu_nobias"]


def _rnn_case(cls, config, device, lengths, with_hx, batch_first=False):
    """(ember outputs, torch outputs, ember leaves, torch leaves) of one packed forward."""
    if cls != "RNN":
        config = {k: v for k, v in config.items() if k != "nonlinearity"}
    t, e = _layer_pair(cls, dict(config, batch_first=batch_first), device)
    lens = LENGTHS[lengths]
    rng = np.random.default_rng(3)
    shape = (len(lens), 6, 3) if batch_first else (6, len(lens), 3)
    x, tx = _pair(rng.standard_normal(shape), device)
    leaves, tleaves = [x], [tx]
    sort = lengths == "mixed"
    p = pack_padded_sequence(x, lens, batch_first=batch_first, enforce_sorted=not sort)
    tp = R.pack_padded_sequence(tx, lens, batch_first=batch_first, enforce_sorted=not sort)
    hx, thx = None, None
    if with_hx:
        state = (config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1), len(lens), 4)
        pairs = [_pair(rng.standard_normal(state), device) for _ in range(2 if cls == "LSTM" else 1)]
        hx, thx = (tuple(a for a, _ in pairs), tuple(b for _, b in pairs)) if cls == "LSTM" else pairs[0]
        leaves += [a for a, _ in pairs]
        tleaves += [b for _, b in pairs]
    (out, h), (tout, th) = e(p, hx), t(tp, thx)
    return (out, h), (tout, th), (e, t), (leaves, tleaves)


@pytest.mark.parametrize("device", HOST)
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("lengths", ["mixed", "sorted"])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_layer_on_packed_input_matches_torch(cls, config, lengths, with_hx, device):
    (out, h), (tout, th), (e, t), (leaves, tleaves) = _rnn_case(cls, config, device, lengths, with_hx)
    assert isinstance(out, PackedSequence)
    for a, b in zip(out[1:], tout[1:]):
        np.testing.assert_array_equal(None if a is None else a.numpy(), None if b is None else b.numpy())
    states, tstates = (list(h), list(th)) if cls == "LSTM" else ([h], [th])
    _close(out.data, tout.data, "output")
    for s, ts in zip(states, tstates):
        assert s.shape == tuple(ts.shape)
        _close(s, ts, "final state")
    _backward_both([out.data, *states], [tout.data, *tstates])
    for i, (a, b) in enumerate(zip(leaves, tleaves)):
        _close(a.grad, b.grad, f"grad of input {i} (x, h_0, c_0)")
    tp = dict(t.named_parameters())
    for n, p in e.named_parameters():
        _close(p.grad, tp[n].grad, f"grad of {n}")


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_packed_batch_first_on_cuda_emu(cls):
    """The grouped runs through the emulated CUDA kernels (a small case: the emulator is slow)."""
    pytest.importorskip("ember._cuda_emu")
    (out, h), (tout, th), (e, t), (leaves, tleaves) = _rnn_case(cls, CONFIGS[1], "cuda-emu", "mixed", True, True)
    h, th = (h[0], th[0]) if cls == "LSTM" else (h, th)
    _close(out.data, tout.data, "output")
    _close(h, th, "h_n")
    _backward_both([out.data, h], [tout.data, th])
    _close(leaves[0].grad, tleaves[0].grad, "input grad")


def test_padded_output_equals_each_sequence_run_alone():
    """The packed answer for sequence i is the layer run on sequence i alone (no padding error)."""
    _, e = _layer_pair("GRU", dict(num_layers=2, bidirectional=True), "cpu")
    rng = np.random.default_rng(4)
    seqs = [em.tensor(rng.standard_normal((n, 3)), dtype=em.float64) for n in (2, 5, 3)]
    out, h = e(pack_sequence(seqs, enforce_sorted=False))
    y, lens = pad_packed_sequence(out)
    for i, s in enumerate(seqs):
        alone, h_alone = e(s)
        np.testing.assert_allclose(y.numpy()[:lens.numpy()[i], i], alone.numpy(), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(h.numpy()[:, i], h_alone.numpy(), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda x: pack_padded_sequence(x, [3, 4, 2]), "sorted in decreasing order"),
    (lambda x: pack_padded_sequence(x, [3, 0, 2], enforce_sorted=False), "greater than 0"),
    (lambda x: pack_padded_sequence(x, [6, 3, 2]), "longer than"),
    (lambda x: pack_padded_sequence(x, [3, 2]), r"len\(lengths\)"),
    (lambda x: pack_padded_sequence(x, [[3, 2, 1]]), "1-D"),
    (lambda x: pack_padded_sequence(x, [3.0, 2.0, 1.0]), "ints"),
    (lambda x: pad_packed_sequence(pack_padded_sequence(x, [3, 2, 2]), total_length=2), "total_length"),
    (lambda x: pad_packed_sequence(x), "PackedSequence"),
    (lambda x: pad_sequence([x[0], x[0, :, :1]]), "trailing shape"),
    (lambda x: pad_sequence([x[0]], padding_side="middle"), "padding_side"),
    (lambda x: pad_sequence([]), "empty"),
    (lambda x: unpad_sequence(x, [3, 6, 1]), "do not fit"),
    (lambda x: pad_packed_sequence(PackedSequence(x[0], em.tensor([2, 2]))), "sum to the 3 rows"),
    (lambda x: em.nn.GRU(3, 4)(PackedSequence(x[0], em.tensor([1, 2]))), "non-increasing"),
    (lambda x: PackedSequence(x[0], em.tensor([3]), em.tensor([0, 0, 2])), "permutation"),
    (lambda x: em.nn.GRU(3, 4)(pack_padded_sequence(x[:, :, :2], [3, 2, 2])), "input_size=3"),
    (lambda x: em.nn.GRU(2, 4)(pack_padded_sequence(x[:, :, :2], [3, 2, 2]), em.zeros(1, 2, 4)), "hx of shape"),
    (lambda x: em.nn.LSTM(2, 4)(pack_padded_sequence(x[:, :, :2], [3, 2, 2]), em.zeros(1, 3, 4)), "pair"),
])
def test_bad_input_raises_as_torch_does(call, match):
    """The cases torch rejects (it raises RuntimeError for most; ember's rule is ValueError / TypeError)."""
    x = em.tensor(np.ones((5, 3, 3)))
    with pytest.raises((ValueError, TypeError), match=match) as info:
        call(x)
    assert str(info.value).startswith("[")


def test_imports_stay_where_torch_has_them():
    from ember.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector  # noqa: F401
    assert em.nn.utils.rnn.pad_sequence is pad_sequence
    assert em.nn.utils.rnn.PackedSequence._fields == R.PackedSequence._fields
