"""nn.MultiheadAttention, nn.TransformerEncoder(Layer), nn.TransformerDecoder(Layer) and
nn.Transformer against PyTorch with weights copied by state_dict: outputs, attention weights and
the gradient of every input and parameter, on every device, in train (dropout 0) and eval mode,
for batch_first, norm_first, relu/gelu/callable, bool and float masks, key padding, causal masks,
kdim/vdim and need_weights with and without head averaging; PyTorch's state_dict names and shapes;
bad arguments."""
import copy

import numpy as np
import pytest

import ember as em

from ..devices import DEVICES

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

TOL = {"rtol": 1e-7, "atol": 1e-9}
E, H, L, S, B, FF = 8, 2, 5, 6, 3, 12


def _rng(seed=0):
    return np.random.default_rng(seed)


def _pair(torch_mod, em_mod, device, train):
    """em_mod with torch_mod's weights, on device, both in train or eval mode."""
    em_mod.load_state_dict({k: v.detach().numpy() for k, v in torch_mod.state_dict().items()})
    torch_mod.train(train)
    em_mod.train(train)
    return em_mod.to(device)


def _inputs(arrays, device):
    """The same leaf tensors for torch and ember; a repeated array is passed as the same object, so
    self-attention takes the path where query is key is value."""
    tt, et, seen = [], [], {}
    for a in arrays:
        if id(a) not in seen:
            seen[id(a)] = (torch.tensor(a, requires_grad=True), em.tensor(a, dtype=a.dtype, device=device,
                                                                       requires_grad=True))
        t, e = seen[id(a)]
        tt.append(t)
        et.append(e)
    return tt, et


def _masks(masks, device):
    """Mask keyword arguments (arrays) as torch tensors and as ember tensors on device; other
    arguments (is_causal) as they are."""
    def arr(m):
        return isinstance(m, np.ndarray)
    return ({k: torch.tensor(m) if arr(m) else m for k, m in masks.items()},
            {k: em.tensor(m, dtype=m.dtype, device=device) if arr(m) else m for k, m in masks.items()})


def _compare(tmod, emod, t_outs, e_outs, t_in, e_in):
    """Outputs equal; then a random weighting of the outputs is backpropagated (a plain sum would
    give LayerNorm's inputs a zero gradient) and every input's and parameter's gradient equal."""
    t_outs = [o for o in t_outs if o is not None]
    e_outs = [o for o in e_outs if o is not None]
    assert len(t_outs) == len(e_outs)
    g = _rng(7)
    weights = [g.standard_normal(tuple(o.shape)) for o in t_outs]
    for t, e in zip(t_outs, e_outs):
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.numpy(), t.detach().numpy(), **TOL, err_msg="output")
    sum((t * torch.from_numpy(w)).sum() for t, w in zip(t_outs, weights)).backward()
    sum((e * em.tensor(w, dtype=e.dtype, device=e.device)).sum() for e, w in zip(e_outs, weights)).backward()
    for i, (t, e) in enumerate(zip(t_in, e_in)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TOL, err_msg=f"grad of input {i}")
    pe = dict(emod.named_parameters())
    assert set(pe) == {n for n, _ in tmod.named_parameters()}
    for n, p in tmod.named_parameters():
        np.testing.assert_allclose(pe[n].grad.numpy(), p.grad.numpy(), **TOL, err_msg=f"grad of {n}")


def _seq(length, batch, dim, batch_first, seed):
    shape = (batch, length, dim) if batch_first else (length, batch, dim)
    return _rng(seed).standard_normal(shape)


def _causal(n):
    return np.triu(np.full((n, n), -np.inf), 1)


def _padding(batch, n, float_mask=False):
    """Key padding: the last keys of every batch row but the first are masked out (no row loses every key)."""
    pad = np.zeros((batch, n), bool)
    for b in range(1, batch):
        pad[b, n - b:] = True
    return np.where(pad, -np.inf, 0.0) if float_mask else pad


def _bool_attn(lq, lk):
    """A bool attn_mask (True = masked) that leaves every query at least one key."""
    m = _rng(3).random((lq, lk)) < 0.4
    m[:, 0] = False
    return m


def _float_attn(lq, lk, batch_heads=None):
    shape = (lq, lk) if batch_heads is None else (batch_heads, lq, lk)
    return _rng(4).standard_normal(shape)


# ---- MultiheadAttention ---------------------------------------------------------------------

MHA_MASKS = {
    "none": lambda: {},
    "kpm_bool": lambda: {"key_padding_mask": _padding(B, S)},
    "kpm_float": lambda: {"key_padding_mask": _padding(B, S, float_mask=True)},
    "attn_bool": lambda: {"attn_mask": _bool_attn(L, S)},
    "attn_float3d": lambda: {"attn_mask": _float_attn(L, S, B * H)},
    "attn_and_kpm": lambda: {"attn_mask": _float_attn(L, S), "key_padding_mask": _padding(B, S, True)},
}


def _mha_pair(device, train=True, **kw):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(E, H, **kw).double()
    return t, _pair(t, em.nn.MultiheadAttention(E, H, **kw, dtype=em.float64), device, train)


def _run_mha(t, e, device, arrays, masks, **kw):
    t_in, e_in = _inputs(arrays, device)
    tm, emk = _masks(masks, device)
    t_out = t(*t_in, **tm, **kw)
    e_out = e(*e_in, **emk, **kw)
    if kw.get("need_weights", True) is False:
        assert e_out[1] is None
    _compare(t, e, t_out, e_out, t_in, e_in)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mask", list(MHA_MASKS))
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)],
                         ids=["weights_avg", "weights_per_head", "fused"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_mha_cross_attention_matches_torch(device, mask, need_weights, average, batch_first):
    t, e = _mha_pair(device, batch_first=batch_first)
    q, kv = _seq(L, B, E, batch_first, 1), _seq(S, B, E, batch_first, 2)
    _run_mha(t, e, device, [q, kv, kv], MHA_MASKS[mask](), need_weights=need_weights,
             average_attn_weights=average)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_mha_self_attention_causal_matches_torch(device, need_weights, train):
    """One tensor as query, key and value (the packed projection) with the causal hint; in eval
    mode a nonzero dropout does nothing, as in torch."""
    t, e = _mha_pair(device, train=train, dropout=0.0 if train else 0.5, batch_first=True)
    x = _seq(L, B, E, True, 1)
    _run_mha(t, e, device, [x, x, x], {"attn_mask": _causal(L)}, need_weights=need_weights, is_causal=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_kdim_vdim_matches_torch(device, need_weights):
    t, e = _mha_pair(device, kdim=5, vdim=3)
    assert e.in_proj_weight is None
    arrays = [_seq(L, B, E, False, 1), _seq(S, B, 5, False, 2), _seq(S, B, 3, False, 3)]
    _run_mha(t, e, device, arrays, {"key_padding_mask": _padding(B, S)}, need_weights=need_weights)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched_and_no_bias_match_torch(device, need_weights):
    t, e = _mha_pair(device, bias=False)
    arrays = [_rng(1).standard_normal((L, E)), _rng(2).standard_normal((S, E)), _rng(3).standard_normal((S, E))]
    masks = {"key_padding_mask": np.where(np.arange(S) >= S - 2, -np.inf, 0.0), "attn_mask": _float_attn(L, S, H)}
    _run_mha(t, e, device, arrays, masks, need_weights=need_weights, average_attn_weights=False)


def test_mha_float32_matches_torch():
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(E, H, batch_first=True)
    e = _pair(t, em.nn.MultiheadAttention(E, H, batch_first=True), "cpu" if em.backends.is_available("cpu")
              else "numpy", True)
    x = _seq(L, B, E, True, 1).astype(np.float32)
    t_in, e_in = _inputs([x, x, x], e.out_proj.weight.device)
    for need_weights in (True, False):
        to, tw = t(*t_in, need_weights=need_weights)
        eo, ew = e(*e_in, need_weights=need_weights)
        np.testing.assert_allclose(eo.numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-5)
        assert eo.dtype == em.float32 and (ew is None) == (tw is None)


# ---- encoder / decoder layers ------------------------------------------------------------------

def _layer_kw(batch_first, norm_first, activation):
    return dict(dim_feedforward=FF, dropout=0.0, activation=activation, batch_first=batch_first,
                norm_first=norm_first)


ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "callable": (torch.nn.functional.silu, lambda x: x * em.nn.functional.sigmoid(x))}

ENC_MASKS = {
    "none": lambda n: {},
    "causal": lambda n: {"src_mask": _causal(n), "is_causal": True},
    "attn_bool": lambda n: {"src_mask": _bool_attn(n, n)},
    "kpm": lambda n: {"src_key_padding_mask": _padding(B, n)},
    "causal_and_kpm": lambda n: {"src_mask": _causal(n), "src_key_padding_mask": _padding(B, n, True)},
}


def _check_encoder_layer(device, masks, activation, norm_first, batch_first):
    torch.manual_seed(0)
    ta, ea = ACTIVATIONS[activation]
    t = torch.nn.TransformerEncoderLayer(E, H, **_layer_kw(batch_first, norm_first, ta)).double()
    e = em.nn.TransformerEncoderLayer(E, H, **_layer_kw(batch_first, norm_first, ea), dtype=em.float64)
    e = _pair(t, e, device, True)
    t_in, e_in = _inputs([_seq(S, B, E, batch_first, 1)], device)
    tm, emk = _masks(masks, device)
    _compare(t, e, [t(*t_in, **tm)], [e(*e_in, **emk)], t_in, e_in)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mask", list(ENC_MASKS))
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_encoder_layer_masks_match_torch(device, mask, norm_first, batch_first):
    _check_encoder_layer(device, ENC_MASKS[mask](S), "relu", norm_first, batch_first)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ["gelu", "callable"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_encoder_layer_activations_match_torch(device, activation, norm_first):
    _check_encoder_layer(device, ENC_MASKS["causal_and_kpm"](S), activation, norm_first, True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_encoder_stack_matches_torch(device, train, norm_first):
    """Two deep-copied layers and a final norm; the causal mask is detected from its values."""
    torch.manual_seed(0)
    kw = _layer_kw(True, norm_first, "gelu")
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, **kw), 2, torch.nn.LayerNorm(E),
                                    enable_nested_tensor=False).double()
    e = em.nn.TransformerEncoder(em.nn.TransformerEncoderLayer(E, H, **kw), 2, em.nn.LayerNorm(E)).double()
    e = _pair(t, e, device, train)
    t_in, e_in = _inputs([_seq(S, B, E, True, 1)], device)
    tm, emk = _masks({"mask": _causal(S), "src_key_padding_mask": _padding(B, S, True)}, device)
    _compare(t, e, [t(*t_in, **tm)], [e(*e_in, **emk)], t_in, e_in)


DEC_MASKS = {
    "none": lambda: {},
    "causal": lambda: {"tgt_mask": _causal(L), "tgt_is_causal": True},
    "all": lambda: {"tgt_mask": _causal(L), "memory_mask": _bool_attn(L, S),
                    "tgt_key_padding_mask": _padding(B, L, True), "memory_key_padding_mask": _padding(B, S)},
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mask", list(DEC_MASKS))
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_decoder_layer_matches_torch(device, mask, norm_first, batch_first):
    torch.manual_seed(0)
    kw = _layer_kw(batch_first, norm_first, "relu")
    t = torch.nn.TransformerDecoderLayer(E, H, **kw).double()
    e = _pair(t, em.nn.TransformerDecoderLayer(E, H, **kw, dtype=em.float64), device, True)
    t_in, e_in = _inputs([_seq(L, B, E, batch_first, 1), _seq(S, B, E, batch_first, 2)], device)
    tm, emk = _masks(DEC_MASKS[mask](), device)
    _compare(t, e, [t(*t_in, **tm)], [e(*e_in, **emk)], t_in, e_in)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_transformer_matches_torch(device, train, batch_first):
    torch.manual_seed(0)
    kw = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
              batch_first=batch_first)
    t = torch.nn.Transformer(**kw).double()
    e = _pair(t, em.nn.Transformer(**kw, dtype=em.float64), device, train)
    t_in, e_in = _inputs([_seq(S, B, E, batch_first, 1), _seq(L, B, E, batch_first, 2)], device)
    masks = {"tgt_mask": em.nn.Transformer.generate_square_subsequent_mask(L).numpy().astype(np.float64),
             "src_key_padding_mask": _padding(B, S), "memory_key_padding_mask": _padding(B, S)}
    tm, emk = _masks(masks, device)
    _compare(t, e, [t(*t_in, **tm)], [e(*e_in, **emk)], t_in, e_in)


# ---- names, shapes, construction ---------------------------------------------------------------

STATE_DICT_CASES = {
    "mha": lambda nn: nn.MultiheadAttention(E, H),
    "mha_kdim_vdim": lambda nn: nn.MultiheadAttention(E, H, kdim=5, vdim=3),
    "mha_no_bias": lambda nn: nn.MultiheadAttention(E, H, bias=False),
    "encoder": lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 2, nn.LayerNorm(E)),
    "decoder_no_bias": lambda nn: nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF, bias=False), 2),
    "transformer": lambda nn: nn.Transformer(E, H, 1, 2, FF),
}


@pytest.mark.parametrize("case", list(STATE_DICT_CASES))
def test_state_dict_names_and_shapes_equal_torch(case):
    t = STATE_DICT_CASES[case](torch.nn).state_dict()
    e = STATE_DICT_CASES[case](em.nn).state_dict()
    assert list(e) == list(t)
    assert {k: tuple(v.shape) for k, v in e.items()} == {k: tuple(v.shape) for k, v in t.items()}


def test_init_follows_torch():
    """in_proj xavier-uniform with zero biases; Transformer xavier-initialises every matrix."""
    mha = em.nn.MultiheadAttention(64, 4)
    w = mha.in_proj_weight.numpy()
    bound = np.sqrt(6 / (64 + 3 * 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not mha.in_proj_bias.numpy().any() and not mha.out_proj.bias.numpy().any()
    lin = em.nn.Transformer(16, 2, 1, 1, 32).encoder.layers[0].linear1.weight.numpy()
    assert np.abs(lin).max() > 0.9 * np.sqrt(6 / (16 + 32))


def test_encoder_layers_are_independent_copies():
    layer = em.nn.TransformerEncoderLayer(E, H, FF)
    enc = em.nn.TransformerEncoder(layer, 2)
    a, b = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    np.testing.assert_array_equal(a.numpy(), layer.linear1.weight.numpy())
    a.data = a.numpy() * 0
    assert b.numpy().any() and layer.linear1.weight.numpy().any()
    assert enc.layers[0].self_attn is not enc.layers[1].self_attn
    e2 = copy.deepcopy(enc)
    assert e2.layers[0].linear1.weight.device == a.device


@pytest.mark.parametrize("size", [1, 4])
def test_generate_square_subsequent_mask_equals_torch(size):
    m = em.nn.Transformer.generate_square_subsequent_mask(size)
    t = torch.nn.Transformer.generate_square_subsequent_mask(size)
    assert m.dtype == em.float32 and tuple(m.shape) == (size, size)
    np.testing.assert_array_equal(m.numpy(), t.numpy())


@pytest.mark.parametrize("kwargs,match", [
    (dict(embed_dim=6, num_heads=4), "multiple of num_heads"),
    (dict(embed_dim=8, num_heads=2, add_bias_kv=True), "add_bias_kv"),
    (dict(embed_dim=8, num_heads=2, dropout=1.0), "dropout"),
])
def test_mha_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        em.nn.MultiheadAttention(**kwargs)


def test_mha_bad_inputs():
    mha = em.nn.MultiheadAttention(E, H)
    x, y = em.randn(L, B, E), em.randn(S, B, E)
    with pytest.raises(ValueError, match="feature sizes"):
        mha(x, em.randn(S, B, E + 1), y)
    with pytest.raises(ValueError, match="batch sizes"):
        mha(x, em.randn(S, B + 1, E), em.randn(S, B + 1, E))
    with pytest.raises(ValueError, match="2-D"):
        mha(em.randn(E), y, y)
    with pytest.raises(ValueError, match=r"attn_mask must be \(5, 6\)"):
        mha(x, y, y, attn_mask=np.zeros((S, L)))
    with pytest.raises(ValueError, match=r"key_padding_mask must be \(3, 6\)"):
        mha(x, y, y, key_padding_mask=np.zeros((B, L), bool), need_weights=False)
    with pytest.raises(TypeError, match="bool and floating"):
        mha(x, y, y, attn_mask=np.zeros((L, S), np.int64))
    with pytest.raises(ValueError, match="is_causal needs attn_mask"):
        mha(x, x, x, is_causal=True)


def test_transformer_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        em.nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(TypeError, match="activation"):
        em.nn.TransformerDecoderLayer(E, H, activation=3)
    with pytest.raises(ValueError, match="num_layers"):
        em.nn.TransformerEncoder(em.nn.TransformerEncoderLayer(E, H, FF), 0)
    model = em.nn.Transformer(E, H, 1, 1, FF)
    with pytest.raises(ValueError, match="batch sizes"):
        model(em.randn(S, B, E), em.randn(L, B + 1, E))
    with pytest.raises(ValueError, match="d_model"):
        model(em.randn(S, B, E), em.randn(L, B, E + 2))
    with pytest.raises(ValueError, match="positive size"):
        em.nn.Transformer.generate_square_subsequent_mask(0)


@pytest.mark.parametrize("device", ["numpy", "cpu"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_dropout_in_training_only_and_seeded(device, need_weights):
    """Training mode drops attention weights (returned weights: zeros, the rest scaled by 1 / (1 - p));
    em.manual_seed repeats the draw; eval mode is deterministic and drops nothing."""
    mha = em.nn.MultiheadAttention(E, H, dropout=0.5, dtype=em.float64).to(device)
    x = em.tensor(_seq(L, B, E, False, 1), dtype=em.float64, device=device)

    def run():
        em.manual_seed(5)
        out, w = mha(x, x, x, need_weights=need_weights, average_attn_weights=False)
        return out.numpy(), None if w is None else w.numpy()

    (a, wa), (b, wb) = run(), run()
    np.testing.assert_array_equal(a, b)
    if need_weights:
        np.testing.assert_array_equal(wa, wb)
    mha.eval()
    (c, wc), (d, _) = run(), run()
    np.testing.assert_array_equal(c, d)
    assert np.abs(a - c).max() > 1e-3
    if need_weights:
        kept = wa != 0
        assert 0.2 < kept.mean() < 0.8
        np.testing.assert_allclose(wa[kept], 2 * wc[kept], rtol=1e-12)


@pytest.mark.parametrize("mask,expected", [(_causal(S), True), (_float_attn(S, S), False)], ids=["causal", "other"])
def test_encoder_detects_the_causal_mask(mask, expected, monkeypatch):
    """Given the square causal mask and is_causal=None, the layers run the fused kernel's causal
    path (no mask read), as torch's _detect_is_causal_mask decides."""
    seen = []
    sdpa = em.nn.functional.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
        seen.append((is_causal, attn_mask is None))
        return sdpa(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale)

    monkeypatch.setattr(em.nn.functional, "scaled_dot_product_attention", spy)
    enc = em.nn.TransformerEncoder(em.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0), 2)
    enc(em.randn(S, B, E), mask=em.tensor(mask))
    assert seen == [(expected, expected)] * 2


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
def test_mha_self_attention_projects_once(batch_first, unbatched, monkeypatch):
    """One tensor as query, key and value takes one packed in-projection (then out_proj): two
    products; distinct key and value take four."""
    calls = []
    linear = em.nn.functional.linear
    monkeypatch.setattr(em.nn.functional, "linear", lambda *a: calls.append(1) or linear(*a))
    mha = em.nn.MultiheadAttention(E, H, batch_first=batch_first)
    x = em.randn(L, E) if unbatched else em.randn(B, L, E)
    mha(x, x, x)
    assert len(calls) == 2
    mha(x, x, em.randn(*x.shape))
    assert len(calls) == 6
