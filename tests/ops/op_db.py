"""The op database: every op with sample inputs and an independent NumPy reference.

Generic tests (test_parity.py, test_gradcheck.py) run each entry on every available
device against the `numpy` device, check the `numpy` device against `ref`, compare with
PyTorch where it is installed, and gradcheck in float64. Adding an op = one entry here.
"""
import math
from dataclasses import dataclass, field

import numpy as np

import ember as em

ELEMENTWISE, REDUCTION = "elementwise", "reduction"  # DESIGN §7 tolerances


@dataclass
class Sample:
    args: list                     # numpy arrays (float -> differentiable tensors, int -> labels) or scalars
    kwargs: dict = field(default_factory=dict)
    transpose: bool = False        # pass float args of ndim >= 2 as non-contiguous transposed views
    gradcheck: bool = True         # small enough for finite differences

    def __repr__(self):
        shapes = [getattr(a, "shape", a) for a in self.args]
        return f"Sample({shapes}, {self.kwargs}{', T' if self.transpose else ''})"


@dataclass
class OpInfo:
    name: str
    fn: callable                    # ember tensors -> tensor
    ref: callable                   # numpy float64 arrays -> array (plain formula, no ember code)
    samples: callable               # rng -> list[Sample]
    kind: str = ELEMENTWISE
    grad: bool = True
    torch_fn: callable = None       # torch tensors -> tensor, for the PyTorch parity test

    def __repr__(self):
        return self.name


def _r(rng, *shape, low=None):
    a = rng.standard_normal(shape)
    return np.abs(a) + low if low is not None else a


def unary_samples(low=None, big=False):
    def make(rng):
        s = [Sample([_r(rng, 3, 5, low=low)]), Sample([_r(rng, 1, low=low)]), Sample([_r(rng, 7, low=low)]),
             Sample([_r(rng, 4, 6, low=low)], transpose=True), Sample([_r(rng, 0, 3, low=low)]),
             Sample([_r(rng, 2, 3, 4, low=low)])]
        if big:
            s.append(Sample([_r(rng, 33, 65, low=low)], gradcheck=False))
        return s
    return make


def binary_samples(rng_low=None):
    def make(rng):
        shapes = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (5, 2)), ((3, 4), ()),
                  ((0, 4), (4,))]
        s = [Sample([_r(rng, *a, low=rng_low), _r(rng, *b, low=rng_low)]) for a, b in shapes]
        s.append(Sample([_r(rng, 4, 3, low=rng_low), _r(rng, 4, 3, low=rng_low)], transpose=True))
        return s
    return make


def reduce_samples(rng):
    s = []
    for shape, kw in [((3, 4), {}), ((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": (0, 2)}),
                      ((2, 3, 4), {"axis": -1, "keepdims": True}), ((5,), {"dim": 0, "keepdim": True}),
                      ((4, 3), {"dim": 0})]:
        s.append(Sample([_r(rng, *shape)], kw))
    s.append(Sample([_r(rng, 3, 5)], {"dim": 0}, transpose=True))
    return s


def _axes(kw):
    d = kw.get("dim", kw.get("axis"))
    return d, bool(kw.get("keepdim", kw.get("keepdims", False)))


def np_reduce(f):
    def ref(x, **kw):
        d, keep = _axes(kw)
        return f(x, axis=d, keepdims=keep)
    return ref


def matmul_samples(rng):
    shapes = [((4, 5), (5, 3)), ((1, 1), (1, 1)), ((7,), (7,)), ((3,), (3, 4)), ((4, 3), (3,)),
              ((2, 4, 5), (5, 3)), ((4, 5), (2, 5, 3)), ((2, 1, 4, 5), (3, 5, 2)), ((2, 3, 4), (2, 4, 6)),
              ((17, 33), (33, 65)), ((0, 5), (5, 3)), ((3, 0), (0, 2))]
    s = [Sample([_r(rng, *a), _r(rng, *b)], gradcheck=max(np.prod(a), np.prod(b)) <= 64) for a, b in shapes]
    s.append(Sample([_r(rng, 5, 4), _r(rng, 4, 3)], transpose=True))
    s.append(Sample([_r(rng, 2, 6, 5), _r(rng, 2, 5, 4)], transpose=True))
    return s


def softmax_samples(rng):
    return [Sample([_r(rng, 3, 5)], {"dim": -1}), Sample([_r(rng, 3, 5)], {"dim": 0}),
            Sample([_r(rng, 2, 3, 4)], {"dim": 1}), Sample([_r(rng, 6)], {"dim": 0}),
            Sample([_r(rng, 4, 1)], {"dim": 1}), Sample([_r(rng, 5, 3)], {"dim": 1}, transpose=True),
            Sample([_r(rng, 64, 100) * 30], {"dim": -1}, gradcheck=False)]


def np_log_softmax(x, dim=None, axis=None):
    ax = dim if dim is not None else axis
    m = x.max(axis=ax, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=ax, keepdims=True))


def ce_samples(rng):
    out = []
    for n, c in [(4, 3), (1, 1), (7, 10), (0, 3)]:
        out.append(Sample([_r(rng, n, c), rng.integers(0, c, n)]))
    out.append(Sample([_r(rng, 5, 4), rng.integers(0, 4, 5)], {"reduction": "sum"}))
    out.append(Sample([_r(rng, 5, 4), rng.integers(0, 4, 5)], {"reduction": "none"}))
    out.append(Sample([_r(rng, 2, 3, 4), rng.integers(0, 3, (2, 4))]))
    out.append(Sample([_r(rng, 128, 100), rng.integers(0, 100, 128)], gradcheck=False))
    return out


def np_cross_entropy(x, labels, reduction="mean"):
    if x.ndim > 2:
        x, labels = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]), labels.reshape(-1)
    loss = -np_log_softmax(x, dim=-1)[np.arange(len(labels)), labels]
    return {"mean": loss.mean() if loss.size else np.nan, "sum": loss.sum(), "none": loss}[reduction]


def index_samples(rng):
    x = _r(rng, 5, 4)
    return [Sample([x], {"key": (slice(1, 4), 2)}), Sample([x], {"key": (np.array([0, 2, 2]),)}),
            Sample([x], {"key": (x[:, 0] > 0,)}), Sample([x], {"key": (slice(None, None, -2), None)}),
            Sample([x], {"key": (Ellipsis, np.array([3, 0]))}), Sample([x], {"key": (-1,)})]


def _ge(kw):
    return {"approximate": kw.get("approximate", "none")}


def _torch_axes(kw):
    d, keep = _axes(kw)
    return ({} if d is None else {"dim": d}), keep


def _t_reduce(name):
    def f(x, **kw):
        dims, keep = _torch_axes(kw)
        if name in ("max", "min") and dims:
            d = dims["dim"]
            if isinstance(d, tuple):
                return getattr(x, "amax" if name == "max" else "amin")(dim=d, keepdim=keep)
            return getattr(x, name)(dim=d, keepdim=keep).values
        return getattr(x, name)(**dims, keepdim=keep) if dims else getattr(x, name)()
    return f


def _t_getitem(a, key):
    import torch
    if any(isinstance(k, slice) and (k.step or 1) < 0 for k in key):
        return None  # torch has no negative steps
    return a[tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)]


def _sig(x):
    return 1 / (1 + np.exp(-x))


erf = np.vectorize(math.erf, otypes=[float])

OPS = [
    # ---- elementwise arithmetic (glue) --------------------------------------------
    OpInfo("add", lambda a, b: a + b, np.add, binary_samples(), torch_fn=lambda a, b: a + b),
    OpInfo("sub", lambda a, b: a - b, np.subtract, binary_samples(), torch_fn=lambda a, b: a - b),
    OpInfo("mul", lambda a, b: a * b, np.multiply, binary_samples(), torch_fn=lambda a, b: a * b),
    OpInfo("div", lambda a, b: a / b, np.divide, binary_samples(rng_low=0.5), torch_fn=lambda a, b: a / b),
    OpInfo("pow", lambda a, b: a ** b, np.power, binary_samples(rng_low=0.5), torch_fn=lambda a, b: a ** b),
    OpInfo("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, unary_samples(), torch_fn=lambda a: a ** 3),
    OpInfo("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, unary_samples(), torch_fn=lambda a: 2.5 - a),
    OpInfo("neg", lambda a: -a, np.negative, unary_samples(), torch_fn=lambda a: -a),
    OpInfo("abs", lambda a: abs(a), np.abs, unary_samples(), torch_fn=lambda a: abs(a)),
    OpInfo("exp", lambda a: a.exp(), np.exp, unary_samples(), torch_fn=lambda a: a.exp()),
    OpInfo("log", lambda a: a.log(), np.log, unary_samples(low=0.1), torch_fn=lambda a: a.log()),
    OpInfo("sqrt", lambda a: a.sqrt(), np.sqrt, unary_samples(low=0.1), torch_fn=lambda a: a.sqrt()),
    OpInfo("clip", lambda a: a.clip(-0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), unary_samples(),
           torch_fn=lambda a: a.clamp(-0.5, 0.7)),
    OpInfo("where", lambda a, b: em.where(a > b, a, b), lambda a, b: np.where(a > b, a, b), binary_samples(),
           torch_fn=lambda a, b: __import__("torch").where(a > b, a, b)),
    # ---- reductions -------------------------------------------------------------
    OpInfo("sum", lambda a, **kw: a.sum(**kw), np_reduce(np.sum), reduce_samples, REDUCTION,
           torch_fn=_t_reduce("sum")),
    OpInfo("mean", lambda a, **kw: a.mean(**kw), np_reduce(np.mean), reduce_samples, REDUCTION,
           torch_fn=_t_reduce("mean")),
    OpInfo("max", lambda a, **kw: a.max(**kw), np_reduce(np.max), reduce_samples, REDUCTION,
           torch_fn=_t_reduce("max")),
    OpInfo("min", lambda a, **kw: a.min(**kw), np_reduce(np.min), reduce_samples, REDUCTION,
           torch_fn=_t_reduce("min")),
    OpInfo("var", lambda a, **kw: a.var(**kw), np_reduce(lambda x, axis, keepdims: np.var(x, axis, ddof=1,
                                                                                            keepdims=keepdims)),
           reduce_samples, REDUCTION, torch_fn=_t_reduce("var")),
    OpInfo("argmax", lambda a, **kw: a.argmax(**kw),
           lambda x, **kw: np.argmax(x, axis=kw.get("dim"), keepdims=bool(kw.get("keepdim"))),
           lambda rng: [Sample([_r(rng, 3, 4)]), Sample([_r(rng, 3, 4)], {"dim": 1}),
                        Sample([_r(rng, 3, 4)], {"dim": 0, "keepdim": True})], grad=False),
    # ---- views and data movement ------------------------------------------------
    OpInfo("reshape", lambda a: a.reshape(-1, 2), lambda a: a.reshape(-1, 2),
           lambda rng: [Sample([_r(rng, 3, 4)]), Sample([_r(rng, 4, 3)], transpose=True), Sample([_r(rng, 2, 2, 2)])],
           torch_fn=lambda a: a.reshape(-1, 2)),
    OpInfo("permute", lambda a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1),
           lambda rng: [Sample([_r(rng, 2, 3, 4)])], torch_fn=lambda a: a.permute(2, 0, 1)),
    OpInfo("T", lambda a: a.T, lambda a: a.T, lambda rng: [Sample([_r(rng, 2, 3)]), Sample([_r(rng, 2, 3, 4)])]),
    OpInfo("flatten", lambda a: a.flatten(1), lambda a: a.reshape(a.shape[0], -1),
           lambda rng: [Sample([_r(rng, 2, 3, 4)]), Sample([_r(rng, 3, 2)], transpose=True)],
           torch_fn=lambda a: a.flatten(1)),
    OpInfo("squeeze_unsqueeze", lambda a: a.unsqueeze(0).squeeze(2), lambda a: a[None].squeeze(2),
           lambda rng: [Sample([_r(rng, 3, 1, 4)])], torch_fn=lambda a: a.unsqueeze(0).squeeze(2)),
    OpInfo("expand", lambda a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
           lambda rng: [Sample([_r(rng, 3, 1)])], torch_fn=lambda a: a.expand(2, 3, 4)),
    OpInfo("getitem", lambda a, key: a[key], lambda a, key: a[key], index_samples, torch_fn=_t_getitem),
    OpInfo("cat", lambda a, b: em.cat([a, b], dim=1), lambda a, b: np.concatenate([a, b], axis=1),
           lambda rng: [Sample([_r(rng, 2, 3), _r(rng, 2, 1)]), Sample([_r(rng, 2, 0), _r(rng, 2, 2)])],
           torch_fn=lambda a, b: __import__("torch").cat([a, b], dim=1)),
    OpInfo("stack", lambda a, b: em.stack([a, b], axis=1), lambda a, b: np.stack([a, b], axis=1),
           lambda rng: [Sample([_r(rng, 2, 3), _r(rng, 2, 3)])],
           torch_fn=lambda a, b: __import__("torch").stack([a, b], dim=1)),
    # ---- heavy ops: kernels on cpu / cuda / cuda-emu -----------------------------------
    OpInfo("matmul", lambda a, b: a @ b, np.matmul, matmul_samples, REDUCTION, torch_fn=lambda a, b: a @ b),
    OpInfo("linear", lambda x, w, b: em.nn.functional.linear(x, w, b), lambda x, w, b: x @ w.T + b,
           lambda rng: [Sample([_r(rng, 4, 5), _r(rng, 3, 5), _r(rng, 3)]),
                        Sample([_r(rng, 2, 4, 5), _r(rng, 3, 5), _r(rng, 3)])], REDUCTION,
           torch_fn=lambda x, w, b: __import__("torch").nn.functional.linear(x, w, b)),
    OpInfo("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), unary_samples(big=True),
           torch_fn=lambda a: a.relu()),
    OpInfo("leaky_relu", lambda a: em.nn.functional.leaky_relu(a, 0.2), lambda a: np.where(a > 0, a, 0.2 * a),
           unary_samples(big=True), torch_fn=lambda a: __import__("torch").nn.functional.leaky_relu(a, 0.2)),
    OpInfo("sigmoid", lambda a: a.sigmoid(), _sig, unary_samples(big=True), torch_fn=lambda a: a.sigmoid()),
    OpInfo("tanh", lambda a: a.tanh(), np.tanh, unary_samples(big=True), torch_fn=lambda a: a.tanh()),
    OpInfo("gelu", lambda a: em.nn.functional.gelu(a), lambda a: 0.5 * a * (1 + erf(a / math.sqrt(2))),
           unary_samples(big=True), torch_fn=lambda a: __import__("torch").nn.functional.gelu(a)),
    OpInfo("gelu_tanh", lambda a: em.nn.functional.gelu(a, approximate="tanh"),
           lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))),
           unary_samples(big=True),
           torch_fn=lambda a: __import__("torch").nn.functional.gelu(a, approximate="tanh")),
    OpInfo("softmax", lambda a, **kw: em.nn.functional.softmax(a, **kw),
           lambda x, dim: np.exp(np_log_softmax(x, dim)), softmax_samples, REDUCTION,
           torch_fn=lambda a, dim: a.softmax(dim=dim)),
    OpInfo("log_softmax", lambda a, **kw: em.nn.functional.log_softmax(a, **kw), np_log_softmax, softmax_samples,
           REDUCTION, torch_fn=lambda a, dim: a.log_softmax(dim=dim)),
    OpInfo("cross_entropy", lambda x, y, **kw: em.nn.functional.cross_entropy(x, y, **kw), np_cross_entropy,
           ce_samples, REDUCTION,
           torch_fn=lambda x, y, **kw: __import__("torch").nn.functional.cross_entropy(x, y, **kw)),
    OpInfo("mse_loss", lambda a, b: em.nn.functional.mse_loss(a, b), lambda a, b: ((a - b) ** 2).mean(),
           lambda rng: [Sample([_r(rng, 4, 3), _r(rng, 4, 3)])], REDUCTION,
           torch_fn=lambda a, b: __import__("torch").nn.functional.mse_loss(a, b)),
]


# ---- losses: weight, ignore_index, label_smoothing, probabilities, BCE, smooth L1 ----
_CLASS_W = np.array([0.5, 2.0, 1.0, 1.5])   # class weights for 4 classes


def _t():
    return __import__("torch")


def _w_like(x, w):
    return em.tensor(w, dtype=x.dtype, device=x.device)


def np_weighted_ce(x, y, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, log_input=False):
    """PyTorch's cross_entropy / nll_loss for class indices, written out per element."""
    if x.ndim > 2:
        x, y = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]), y.reshape(-1)
    c = x.shape[1]
    logp = x if log_input else np_log_softmax(x, dim=-1)
    w = np.ones(c) if weight is None else weight
    loss, denom = np.zeros(len(y)), 0.0
    for i, t in enumerate(y):
        if t == ignore_index:
            continue
        loss[i] = -(1 - label_smoothing) * w[t] * logp[i, t] - label_smoothing / c * (w * logp[i]).sum()
        denom += w[t]
    return {"mean": loss.sum() / denom if denom else np.nan, "sum": loss.sum(), "none": loss}[reduction]


def weighted_ce_samples(rng):
    y = rng.integers(0, 4, 7)
    y[[1, 4]] = -100
    return [Sample([_r(rng, 7, 4), y]), Sample([_r(rng, 7, 4), y], {"reduction": "sum"}),
            Sample([_r(rng, 7, 4), y], {"reduction": "none"}),
            Sample([_r(rng, 7, 4), rng.integers(0, 4, 7)], {"ignore_index": 2, "label_smoothing": 0.2}),
            Sample([_r(rng, 5, 4), rng.integers(0, 4, 5)], {"label_smoothing": 0.1}, transpose=True),
            Sample([_r(rng, 2, 4, 3), rng.integers(0, 4, (2, 3))], {"label_smoothing": 0.3}),
            Sample([_r(rng, 64, 4), rng.integers(0, 4, 64)], gradcheck=False)]


def smoothing_ce_samples(rng):
    return [Sample([_r(rng, 5, 4), rng.integers(0, 4, 5)], {"label_smoothing": 0.25}),
            Sample([_r(rng, 5, 4), rng.integers(0, 4, 5)], {"label_smoothing": 0.1, "reduction": "none"}),
            Sample([_r(rng, 6, 3), np.array([0, -100, 2, 1, -100, 0])], {}),
            Sample([_r(rng, 6, 3), np.array([0, -100, 2, 1, -100, 0])], {"reduction": "sum"}),
            Sample([_r(rng, 2, 3), np.array([-100, -100])], {"reduction": "sum"})]


def _probs(rng, *shape, axis=1):
    p = np.exp(_r(rng, *shape))
    return p / p.sum(axis=axis, keepdims=True)


def prob_ce_samples(rng):
    return [Sample([_r(rng, 5, 4), _probs(rng, 5, 4)]), Sample([_r(rng, 5, 4), _probs(rng, 5, 4)],
                                                                {"reduction": "none"}),
            Sample([_r(rng, 5, 4), _probs(rng, 5, 4)], {"label_smoothing": 0.2, "reduction": "sum"}),
            Sample([_r(rng, 2, 4, 3), _probs(rng, 2, 4, 3)]),
            Sample([_r(rng, 4, 5), _probs(rng, 4, 5, axis=0)], transpose=True)]


def np_prob_ce(x, p, reduction="mean", label_smoothing=0.0, weight=None):
    c = x.shape[1]
    p = p * (1 - label_smoothing) + label_smoothing / c
    w = np.ones(c) if weight is None else weight
    loss = -(np_log_softmax(x, dim=1) * p * w.reshape((1, c) + (1,) * (x.ndim - 2))).sum(axis=1)
    return {"mean": loss.sum() / loss.size, "sum": loss.sum(), "none": loss}[reduction]


def _unit(rng, *shape):
    return 0.05 + 0.9 * rng.random(shape)


def bce_samples(rng):
    return [Sample([_unit(rng, 4, 3), _unit(rng, 4, 3)]), Sample([_unit(rng, 7), _unit(rng, 7)], {"reduction": "sum"}),
            Sample([_unit(rng, 2, 3, 2), _unit(rng, 2, 3, 2)], {"reduction": "none"}),
            Sample([_unit(rng, 3, 4), _unit(rng, 3, 4)], transpose=True),
            Sample([_unit(rng, 33, 65), _unit(rng, 33, 65)], gradcheck=False)]


def np_bce(x, y, reduction="mean", weight=None):
    loss = -(y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log(1 - x), -100))
    loss = loss if weight is None else loss * weight
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def bce_logits_samples(rng):
    return [Sample([_r(rng, 4, 3) * 4, _unit(rng, 4, 3)]),
            Sample([_r(rng, 4, 3) * 30, _unit(rng, 4, 3)], {"reduction": "sum"}),
            Sample([_r(rng, 2, 5, 3), _unit(rng, 2, 5, 3)], {"reduction": "none"}),
            Sample([_r(rng, 3, 4), _unit(rng, 3, 4)], transpose=True)]


_POS_W = np.array([1.0, 3.0, 0.5])


def np_bce_logits(x, y, reduction="mean", pos_weight=None):
    """Written with log(sigmoid) from the exact log1p forms (independent of ember's formula)."""
    log_sig = -np.logaddexp(0, -x)       # log sigmoid(x)
    log_1m_sig = -np.logaddexp(0, x)     # log (1 - sigmoid(x))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * y * log_sig + (1 - y) * log_1m_sig)
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def smooth_samples(rng):
    return [Sample([_r(rng, 4, 5) * 2, _r(rng, 4, 5)]), Sample([_r(rng, 7) * 2, _r(rng, 7)], {"reduction": "sum"}),
            Sample([_r(rng, 3, 4) * 2, _r(rng, 3, 4)], {"reduction": "none"}, transpose=True)]


def np_smooth_l1(x, y, reduction="mean", beta=1.0):
    d = np.abs(x - y)
    loss = np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta)
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def np_huber(x, y, reduction="mean", delta=1.0):
    d = np.abs(x - y)
    loss = np.where(d < delta, 0.5 * d ** 2, delta * (d - 0.5 * delta))
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


OPS += [
    OpInfo("cross_entropy_weighted",
           lambda x, y, **kw: em.nn.functional.cross_entropy(x, y, weight=_w_like(x, _CLASS_W), **kw),
           lambda x, y, **kw: np_weighted_ce(x, y, _CLASS_W, **kw), weighted_ce_samples, REDUCTION,
           torch_fn=lambda x, y, **kw: _t().nn.functional.cross_entropy(x, y, weight=_t().from_numpy(_CLASS_W),
                                                                         **kw)),
    OpInfo("cross_entropy_smoothing_ignore", lambda x, y, **kw: em.nn.functional.cross_entropy(x, y, **kw),
           np_weighted_ce, smoothing_ce_samples, REDUCTION,
           torch_fn=lambda x, y, **kw: _t().nn.functional.cross_entropy(x, y, **kw)),
    OpInfo("cross_entropy_probs", lambda x, p, **kw: em.nn.functional.cross_entropy(x, p, **kw), np_prob_ce,
           prob_ce_samples, REDUCTION, torch_fn=lambda x, p, **kw: _t().nn.functional.cross_entropy(x, p, **kw)),
    OpInfo("nll_loss", lambda x, y, **kw: em.nn.functional.nll_loss(x, y, weight=_w_like(x, _CLASS_W), **kw),
           lambda x, y, **kw: np_weighted_ce(x, y, _CLASS_W, log_input=True, **kw),
           lambda rng: [s for s in weighted_ce_samples(rng) if "label_smoothing" not in s.kwargs], REDUCTION,
           torch_fn=lambda x, y, **kw: _t().nn.functional.nll_loss(x, y, weight=_t().from_numpy(_CLASS_W), **kw)),
    OpInfo("binary_cross_entropy", lambda x, y, **kw: em.nn.functional.binary_cross_entropy(x, y, **kw), np_bce,
           bce_samples, REDUCTION, torch_fn=lambda x, y, **kw: _t().nn.functional.binary_cross_entropy(x, y, **kw)),
    OpInfo("bce_with_logits", lambda x, y, **kw: em.nn.functional.binary_cross_entropy_with_logits(x, y, **kw),
           np_bce_logits, bce_logits_samples, REDUCTION,
           torch_fn=lambda x, y, **kw: _t().nn.functional.binary_cross_entropy_with_logits(x, y, **kw)),
    OpInfo("bce_with_logits_pos_weight",
           lambda x, y, **kw: em.nn.functional.binary_cross_entropy_with_logits(
               x, y, pos_weight=_w_like(x, _POS_W), **kw),
           lambda x, y, **kw: np_bce_logits(x, y, pos_weight=_POS_W, **kw),
           lambda rng: [s for s in bce_logits_samples(rng) if s.args[0].shape[-1] == 3 and not s.transpose],
           REDUCTION, torch_fn=lambda x, y, **kw: _t().nn.functional.binary_cross_entropy_with_logits(
               x, y, pos_weight=_t().from_numpy(_POS_W), **kw)),
    OpInfo("smooth_l1_loss", lambda x, y, **kw: em.nn.functional.smooth_l1_loss(x, y, beta=0.5, **kw),
           lambda x, y, **kw: np_smooth_l1(x, y, beta=0.5, **kw), smooth_samples, REDUCTION,
           torch_fn=lambda x, y, **kw: _t().nn.functional.smooth_l1_loss(x, y, beta=0.5, **kw)),
    OpInfo("huber_loss", lambda x, y, **kw: em.nn.functional.huber_loss(x, y, delta=1.5, **kw),
           lambda x, y, **kw: np_huber(x, y, delta=1.5, **kw), smooth_samples, REDUCTION,
           torch_fn=lambda x, y, **kw: _t().nn.functional.huber_loss(x, y, delta=1.5, **kw)),
]


# ---- layer_norm, embedding, recurrent cells and layers ---------------------
def np_layer_norm(x, w, b, ndim=1):
    axes = tuple(range(x.ndim - ndim, x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    return y * (1 if w is None else w) + (0 if b is None else b)


def layer_norm_samples(rng):
    return [Sample([_r(rng, 3, 5), _r(rng, 5), _r(rng, 5)]), Sample([_r(rng, 1, 1), _r(rng, 1), _r(rng, 1)]),
            Sample([_r(rng, 2, 3, 4), _r(rng, 3, 4), _r(rng, 3, 4)], {"ndim": 2}),
            Sample([_r(rng, 6, 4), _r(rng, 4), _r(rng, 4)], transpose=True),
            Sample([_r(rng, 5, 7), None, None]), Sample([_r(rng, 4, 6), _r(rng, 6), None]),
            Sample([_r(rng, 0, 3), _r(rng, 3), _r(rng, 3)], gradcheck=False),
            Sample([_r(rng, 19, 70) * 3 + 5, _r(rng, 70), _r(rng, 70)], gradcheck=False)]


def embedding_samples(rng):
    return [Sample([_r(rng, 7, 3), rng.integers(0, 7, (2, 4))]), Sample([_r(rng, 7, 3), rng.integers(0, 7, 5)]),
            Sample([_r(rng, 5, 4), np.array([[1, 2, 1], [2, 0, 1]])], {"padding_idx": 1}, gradcheck=False),
            Sample([_r(rng, 5, 4), np.array([3, 4, 4])], {"padding_idx": -1}, gradcheck=False),
            Sample([_r(rng, 1, 1), np.zeros(3, np.int64)]),
            Sample([_r(rng, 6, 2), np.zeros(0, np.int64)], gradcheck=False),
            Sample([_r(rng, 50, 37), rng.integers(0, 50, (9, 11))], gradcheck=False)]


_RNN_G = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def np_cell(mode, x, h, c, wi, wh, bi, bh):
    """One step, written out per gate: (h', c')."""
    gx = x @ wi.T + (0 if bi is None else bi)
    gh = h @ wh.T + (0 if bh is None else bh)
    hs = h.shape[1]
    if mode == "rnn_tanh":
        return np.tanh(gx + gh), None
    if mode == "rnn_relu":
        return np.maximum(gx + gh, 0), None
    a = gx + gh
    part = lambda v, k: v[:, k * hs:(k + 1) * hs]  # noqa: E731
    if mode == "lstm":
        c2 = _sig(part(a, 1)) * c + _sig(part(a, 0)) * np.tanh(part(a, 2))
        return _sig(part(a, 3)) * np.tanh(c2), c2
    r, z = _sig(part(a, 0)), _sig(part(a, 1))
    n = np.tanh(part(gx, 2) + r * part(gh, 2))
    return (1 - z) * n + z * h, None


def cell_samples(mode):
    g = _RNN_G[mode]

    def make(rng):
        out = []
        for n, i, hs, kw in [(3, 5, 4, {}), (1, 1, 1, {}), (2, 3, 3, {"bias": False}), (5, 6, 17, {"big": 1})]:
            args = [_r(rng, n, i), _r(rng, n, hs)] + ([_r(rng, n, hs)] if mode == "lstm" else [])
            args += [_r(rng, g * hs, i) * 0.5, _r(rng, g * hs, hs) * 0.5]
            args += [None, None] if kw.get("bias") is False else [_r(rng, g * hs), _r(rng, g * hs)]
            out.append(Sample(args, gradcheck="big" not in kw))
        return out
    return make


def cell_op(mode):
    lstm = mode == "lstm"

    def fn(*a):
        from ember.ops.rnn import rnn_cell
        if lstm:
            x, h, c, wi, wh, bi, bh = a
            h2, c2 = rnn_cell(mode, x, h, c, wi, wh, bi, bh)
            return em.cat([h2, c2], dim=1)
        x, h, wi, wh, bi, bh = a
        return rnn_cell(mode, x, h, None, wi, wh, bi, bh)

    def ref(*a):
        if lstm:
            return np.concatenate(np_cell(mode, *a), axis=1)
        x, h, wi, wh, bi, bh = a
        return np_cell(mode, x, h, None, wi, wh, bi, bh)[0]

    def torch_fn(*a):
        torch = _t()
        if lstm:
            x, h, c, wi, wh, bi, bh = a
            return torch.cat(torch.lstm_cell(x, (h, c), wi, wh, bi, bh), dim=1)
        x, h, wi, wh, bi, bh = a
        return getattr(torch, mode + "_cell" if mode != "gru" else "gru_cell")(x, h, wi, wh, bi, bh)
    return OpInfo(mode + "_cell", fn, ref, cell_samples(mode), REDUCTION, torch_fn=torch_fn)


def layer_samples(mode):
    g = _RNN_G[mode]

    def make(rng):
        out = []
        for t, n, i, hs, kw, big in [(3, 2, 3, 2, {}, False), (1, 1, 1, 1, {}, False),
                                     (3, 2, 2, 3, {"reverse": True}, False), (2, 2, 3, 2, {"bias": False}, False),
                                     (6, 3, 5, 17, {}, True), (5, 4, 3, 9, {"reverse": True}, True)]:
            args = [_r(rng, t, n, i), _r(rng, n, hs)] + ([_r(rng, n, hs)] if mode == "lstm" else [])
            args += [_r(rng, g * hs, i) * 0.5, _r(rng, g * hs, hs) * 0.5]
            nobias = kw.pop("bias", True) is False
            args += [None, None] if nobias else [_r(rng, g * hs), _r(rng, g * hs)]
            out.append(Sample(args, kw, gradcheck=not big))
        return out
    return make


def layer_op(mode):
    lstm = mode == "lstm"

    def split(a):
        return (a[0], a[1], a[2], *a[3:]) if lstm else (a[0], a[1], None, *a[2:])

    def fn(*a, reverse=False):
        from ember.ops.rnn import rnn_layer
        x, h0, c0, wi, wh, bi, bh = split(a)
        y, hn, cn = rnn_layer(mode, x, h0, c0, wi, wh, bi, bh, reverse=reverse)
        return em.cat([y, hn.unsqueeze(0)] + ([cn.unsqueeze(0)] if lstm else []), dim=0)

    def ref(*a, reverse=False):
        x, h, c, wi, wh, bi, bh = split(a)
        ys = [None] * len(x)
        for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
            h, c = np_cell(mode, x[t], h, c, wi, wh, bi, bh)
            ys[t] = h
        return np.concatenate([np.stack(ys), h[None]] + ([c[None]] if lstm else []), axis=0)

    def torch_fn(*a, reverse=False):
        if reverse:
            return None  # torch has no one-direction reversed layer; covered by bidirectional layer tests
        torch = _t()
        x, h0, c0, wi, wh, bi, bh = split(a)
        params = (wi, wh) if bi is None else (wi, wh, bi, bh)
        hx = (h0[None], c0[None]) if lstm else h0[None]
        out = getattr(torch, mode)(x, hx, params, bi is not None, 1, 0.0, False, False, False)
        return torch.cat([out[0]] + list(out[1:]), dim=0)
    return OpInfo(mode + "_layer", fn, ref, layer_samples(mode), REDUCTION, torch_fn=torch_fn)


OPS += [
    OpInfo("layer_norm",
           lambda x, w, b, ndim=1: em.nn.functional.layer_norm(x, x.shape[x.ndim - ndim:], w, b), np_layer_norm,
           layer_norm_samples, REDUCTION,
           torch_fn=lambda x, w, b, ndim=1: _t().nn.functional.layer_norm(x, x.shape[x.ndim - ndim:], w, b)),
    OpInfo("embedding", lambda w, idx, **kw: em.nn.functional.embedding(idx, w, **kw), lambda w, idx, **kw: w[idx],
           embedding_samples, torch_fn=lambda w, idx, **kw: _t().nn.functional.embedding(idx, w, **kw)),
] + [cell_op(m) for m in _RNN_G] + [layer_op(m) for m in _RNN_G]


# ---- convolution, pooling, batch_norm, dropout ---------------------------------
def _F():
    return em.nn.functional


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Output by output: pad, cut each window, dot with the filters of its group."""
    st = (stride, stride) if isinstance(stride, int) else stride
    dl = (dilation, dilation) if isinstance(dilation, int) else dilation
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    if padding == "same":
        th, tw = dl[0] * (R - 1), dl[1] * (S - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    else:
        p = (0, 0) if padding == "valid" else (padding, padding) if isinstance(padding, int) else padding
        pads = ((p[0], p[0]), (p[1], p[1]))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    P = (xp.shape[2] - dl[0] * (R - 1) - 1) // st[0] + 1
    Q = (xp.shape[3] - dl[1] * (S - 1) - 1) // st[1] + 1
    Kg = K // groups
    y = np.zeros((N, K, P, Q))
    for k in range(K):
        g = k // Kg
        for p in range(P):
            for q in range(Q):
                win = xp[:, g * Cg:(g + 1) * Cg, p * st[0]:p * st[0] + dl[0] * (R - 1) + 1:dl[0],
                         q * st[1]:q * st[1] + dl[1] * (S - 1) + 1:dl[1]]
                y[:, k, p, q] = (win * w[k]).sum(axis=(1, 2, 3)) + (0 if b is None else b[k])
    return y


def conv2d_samples(rng):
    return [Sample([_r(rng, 2, 3, 5, 6), _r(rng, 4, 3, 3, 3), _r(rng, 4)]),
            Sample([_r(rng, 1, 2, 7, 5), _r(rng, 3, 2, 3, 2), _r(rng, 3)], {"stride": 2, "padding": 1}),
            Sample([_r(rng, 2, 4, 6, 6), _r(rng, 4, 2, 3, 3), _r(rng, 4)], {"groups": 2, "dilation": 2, "padding": 2}),
            Sample([_r(rng, 2, 3, 5, 5), _r(rng, 3, 1, 3, 3), _r(rng, 3)], {"groups": 3, "padding": "same"}),
            Sample([_r(rng, 1, 2, 6, 5), _r(rng, 3, 2, 2, 2)], {"padding": "same"}),
            Sample([_r(rng, 2, 3, 6, 7), _r(rng, 2, 3, 2, 3), _r(rng, 2)], {"stride": (1, 2), "padding": "valid"}),
            Sample([_r(rng, 2, 3, 4, 4), _r(rng, 5, 3, 1, 1), _r(rng, 5)]),
            Sample([_r(rng, 2, 3, 3, 4), _r(rng, 4, 3, 2, 1), _r(rng, 4)], {"padding": (2, 1)}),  # windows all padding
            Sample([_r(rng, 2, 2, 5, 4), _r(rng, 3, 2, 3, 2), _r(rng, 3)], {"padding": (1, 0)}, transpose=True),
            Sample([_r(rng, 3, 8, 13, 11), _r(rng, 16, 8, 3, 3), _r(rng, 16)], {"padding": 1, "stride": (2, 1)},
                   gradcheck=False),
            # cuda: 64-row tiles (more than 32 filters / channels), reductions split over blocks
            Sample([_r(rng, 2, 36, 5, 4), _r(rng, 40, 36, 3, 3), _r(rng, 40)], {"padding": 1}, gradcheck=False),
            # cuda: 32-row tiles in float32 too (17 to 32 filters / channels), split, stride and dilation
            Sample([_r(rng, 2, 20, 5, 6), _r(rng, 24, 20, 3, 2), _r(rng, 24)],
                   {"stride": 2, "padding": 1, "dilation": (1, 2)}, gradcheck=False),
            Sample([_r(rng, 0, 2, 4, 4), _r(rng, 3, 2, 3, 3), _r(rng, 3)])]


def _conv(x, w, b=None, **kw):
    return _F().conv2d(x, w, b, **kw)


def _t_conv(x, w, b=None, **kw):
    import warnings
    with warnings.catch_warnings():  # torch warns that even kernels with 'same' copy the input
        warnings.simplefilter("ignore", UserWarning)
        return _t().nn.functional.conv2d(x, w, b, **kw)


def _pool_geom(kw):
    k = kw["kernel_size"]
    k = (k, k) if isinstance(k, int) else k
    s = kw.get("stride") or k
    s = (s, s) if isinstance(s, int) else s
    p = kw.get("padding", 0)
    p = (p, p) if isinstance(p, int) else p
    d = kw.get("dilation", 1)
    d = (d, d) if isinstance(d, int) else d
    return k, s, p, d


def _pool_out(n, k, s, p, d, ceil_mode):
    out = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1 if ceil_mode else (n + 2 * p - d * (k - 1) - 1) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def np_max_pool2d(x, **kw):
    (k, s, p, d), ceil = _pool_geom(kw), kw.get("ceil_mode", False)
    H, W = x.shape[2:]
    P, Q = _pool_out(H, k[0], s[0], p[0], d[0], ceil), _pool_out(W, k[1], s[1], p[1], d[1], ceil)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0] + s[0]), (p[1], p[1] + s[1])), constant_values=-np.inf)
    y = np.empty(x.shape[:2] + (P, Q))
    for i in range(P):
        for j in range(Q):
            y[:, :, i, j] = xp[:, :, i * s[0]:i * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                               j * s[1]:j * s[1] + d[1] * (k[1] - 1) + 1:d[1]].max(axis=(2, 3))
    return y


def np_avg_pool2d(x, **kw):
    (k, s, p, _), ceil = _pool_geom(kw), kw.get("ceil_mode", False)
    include = kw.get("count_include_pad", True)
    H, W = x.shape[2:]
    P, Q = _pool_out(H, k[0], s[0], p[0], 1, ceil), _pool_out(W, k[1], s[1], p[1], 1, ceil)
    y = np.empty(x.shape[:2] + (P, Q))
    for i in range(P):
        for j in range(Q):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            area = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / (area if include else (h1 - h0) * (w1 - w0))
    return y


def max_pool_samples(rng):
    return [Sample([_r(rng, 2, 3, 6, 7)], {"kernel_size": 2}),
            Sample([_r(rng, 1, 2, 7, 7)], {"kernel_size": 3, "stride": 2, "padding": 1}),
            Sample([_r(rng, 2, 2, 5, 6)], {"kernel_size": (2, 3), "stride": (1, 2), "ceil_mode": True}),
            Sample([_r(rng, 1, 2, 7, 6)], {"kernel_size": 2, "dilation": 2, "stride": 1}),
            Sample([_r(rng, 1, 2, 5, 7)], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
            Sample([_r(rng, 2, 2, 6, 5)], {"kernel_size": 2}, transpose=True),
            Sample([_r(rng, 4, 8, 28, 28)], {"kernel_size": 2}, gradcheck=False)]


def avg_pool_samples(rng):
    return [Sample([_r(rng, 2, 3, 6, 7)], {"kernel_size": 2}),
            Sample([_r(rng, 1, 2, 7, 7)], {"kernel_size": 3, "stride": 2, "padding": 1}),
            Sample([_r(rng, 1, 2, 7, 7)], {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
            Sample([_r(rng, 2, 2, 5, 6)], {"kernel_size": (2, 3), "stride": (1, 2), "ceil_mode": True}),
            Sample([_r(rng, 1, 2, 5, 7)], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                           "count_include_pad": False}),
            Sample([_r(rng, 2, 2, 6, 5)], {"kernel_size": 2}, transpose=True),
            Sample([_r(rng, 4, 8, 28, 28)], {"kernel_size": 2}, gradcheck=False)]


def np_adaptive_avg(x, output_size):
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    H, W = x.shape[2:]
    y = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, h1 = (i * H) // oh, -(-((i + 1) * H) // oh)
            w0, w1 = (j * W) // ow, -(-((j + 1) * W) // ow)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def _bn_stats(c):
    return np.linspace(-0.5, 0.5, c), np.linspace(0.5, 1.5, c)


def np_batch_norm(x, w=None, b=None, training=True, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        m, v = x.mean(axis=axes), x.var(axis=axes)
    else:
        m, v = _bn_stats(x.shape[1])
    y = (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + eps)
    return y * (1 if w is None else w.reshape(shape)) + (0 if b is None else b.reshape(shape))


def _bn(x, w=None, b=None, training=True, eps=1e-5):
    rm = rv = None
    if not training:
        m, v = _bn_stats(x.shape[1])
        rm, rv = (em.tensor(a, dtype=x.dtype, device=x.device) for a in (m, v))
    return _F().batch_norm(x, rm, rv, w, b, training=training, eps=eps)


def _t_bn(x, w=None, b=None, training=True, eps=1e-5):
    rm = rv = None
    if not training:
        rm, rv = (_t().from_numpy(a) for a in _bn_stats(x.shape[1]))
    return _t().nn.functional.batch_norm(x, rm, rv, w, b, training=training, eps=eps)


def bn_samples(rng):
    out = []
    for training in (True, False):
        kw = {"training": training}
        out += [Sample([_r(rng, 4, 3), _r(rng, 3), _r(rng, 3)], kw),
                Sample([_r(rng, 3, 2, 5), _r(rng, 2), _r(rng, 2)], kw),
                Sample([_r(rng, 2, 3, 4, 5) * 3 + 2, _r(rng, 3), _r(rng, 3)], kw),
                Sample([_r(rng, 5, 4, 3), _r(rng, 4), _r(rng, 4)], kw, transpose=True)]
    out.append(Sample([_r(rng, 16, 8, 7, 9), _r(rng, 8), _r(rng, 8)], {"eps": 1e-3}, gradcheck=False))
    return out


def _dropout(x, p):
    em.manual_seed(7)
    return _F().dropout(x, p)


def np_dropout(x, p):
    keep = np.random.default_rng(7).random(x.shape) >= p
    return np.where(keep, x / (1 - p), 0.0) if p < 1 else np.zeros_like(x)


def dropout_samples(rng):
    return [Sample([_r(rng, 4, 5)], {"p": 0.5}), Sample([_r(rng, 2, 3, 4)], {"p": 0.2}),
            Sample([_r(rng, 7)], {"p": 1.0}), Sample([_r(rng, 3, 4)], {"p": 0.3}, transpose=True),
            Sample([_r(rng, 33, 65)], {"p": 0.5}, gradcheck=False)]


OPS += [
    OpInfo("conv2d", _conv, np_conv2d, conv2d_samples, REDUCTION, torch_fn=_t_conv),
    OpInfo("max_pool2d", lambda x, **kw: _F().max_pool2d(x, **kw), np_max_pool2d, max_pool_samples,
           torch_fn=lambda x, **kw: _t().nn.functional.max_pool2d(x, **kw)),
    OpInfo("avg_pool2d", lambda x, **kw: _F().avg_pool2d(x, **kw), np_avg_pool2d, avg_pool_samples, REDUCTION,
           torch_fn=lambda x, **kw: _t().nn.functional.avg_pool2d(x, **kw)),
    OpInfo("adaptive_avg_pool2d", lambda x, **kw: _F().adaptive_avg_pool2d(x, **kw), np_adaptive_avg,
           lambda rng: [Sample([_r(rng, 2, 3, 5, 7)], {"output_size": 1}),
                        Sample([_r(rng, 2, 3, 4, 6)], {"output_size": 2}),
                        Sample([_r(rng, 1, 2, 5, 7)], {"output_size": (2, 3)}),
                        Sample([_r(rng, 2, 2, 4, 5)], {"output_size": 1}, transpose=True)], REDUCTION,
           torch_fn=lambda x, **kw: _t().nn.functional.adaptive_avg_pool2d(x, **kw)),
    OpInfo("batch_norm", _bn, np_batch_norm, bn_samples, REDUCTION, torch_fn=_t_bn),
    OpInfo("batch_norm_no_affine", lambda x, **kw: _bn(x, **kw), lambda x, **kw: np_batch_norm(x, **kw),
           lambda rng: [s for s in (Sample([s.args[0]], s.kwargs, s.transpose, s.gradcheck) for s in bn_samples(rng))],
           REDUCTION, torch_fn=lambda x, **kw: _t_bn(x, **kw)),
    OpInfo("dropout", _dropout, np_dropout, dropout_samples),
]



# ---- cast: a round trip through bfloat16 / float16 (the low dtype is not float64-gradcheckable;
# tests/ops/test_cast.py checks the bits and the gradients) -----------------------------------------
def _round_trip(low):
    import ml_dtypes
    dt = np.dtype(ml_dtypes.bfloat16) if low == "bfloat16" else np.dtype(np.float16)
    return (lambda x: x.to(dt).to(x.dtype), lambda x: x.astype(dt).astype(x.dtype),
            lambda x: x.to(getattr(_t(), low)).to(x.dtype))


OPS += [OpInfo(f"cast_{low}", *_round_trip(low)[:2], unary_samples(big=True), grad=False,
               torch_fn=_round_trip(low)[2]) for low in ("bfloat16", "float16")]


# ---- attention: softmax(q k^T scale + mask) v over any leading dims ------------------------------
def np_sdpa(q, k, v, mask=None, is_causal=False):
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    if is_causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ v


def sdpa_samples(rng):
    pad = np.ones((2, 1, 1, 6), dtype=bool)
    pad[1, 0, 0, 4:] = False
    return [Sample([_r(rng, 5, 3), _r(rng, 5, 3), _r(rng, 5, 3)]),
            Sample([_r(rng, 2, 3, 5, 4), _r(rng, 2, 3, 6, 4), _r(rng, 2, 3, 6, 2)]),
            Sample([_r(rng, 2, 2, 7, 3), _r(rng, 2, 2, 7, 3), _r(rng, 2, 2, 7, 3)], {"is_causal": True}),
            Sample([_r(rng, 2, 1, 3, 4), _r(rng, 2, 1, 6, 4), _r(rng, 2, 1, 6, 4), pad]),
            Sample([_r(rng, 1, 2, 4, 5), _r(rng, 1, 2, 4, 5), _r(rng, 1, 2, 4, 5)], transpose=True)]


def _t_sdpa(q, k, v, mask=None, **kw):
    return _t().nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)


OPS += [
    OpInfo("scaled_dot_product_attention",
           lambda q, k, v, mask=None, **kw: _F().scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw),
           np_sdpa, sdpa_samples, REDUCTION, torch_fn=_t_sdpa),
]


# ---- activations: elu, silu, softplus, hardtanh, relu6 (and in place); interpolate ----------------
def _sigmoid64(a):
    return 0.5 * (1 + np.tanh(a / 2))


def _inplace(f):
    """f applied in place to a copy (a * 1), so the leaf itself is not written."""
    return lambda a, **kw: f(a * 1, inplace=True, **kw)


def _interp_axis(n_in, n_out, mode, align, scale):
    """(n_out, n_in) interpolation matrix of one axis by PyTorch's rules, output index by index."""
    a = np.zeros((n_out, n_in))
    for o in range(n_out):
        if n_out == n_in:
            a[o, o] = 1.0
        elif mode == "nearest":
            r = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
            a[o, o // 2 if n_out == 2 * n_in else min(int(math.floor(np.float32(o) * r)), n_in - 1)] = 1.0
        else:
            if align:
                src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
            else:
                src = max((1.0 / scale if scale else n_in / n_out) * (o + 0.5) - 0.5, 0.0)
            i = min(int(math.floor(src)), n_in - 1)
            lam = min(max(src - i, 0.0), 1.0)
            a[o, i] += 1 - lam
            a[o, min(i + 1, n_in - 1)] += lam
    return a


def np_interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                   recompute_scale_factor=None):
    H, W = x.shape[2:]
    if size is not None:
        out, scales = ((size, size) if isinstance(size, int) else tuple(size)), (None, None)
    else:
        scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
        out = (int(H * scales[0]), int(W * scales[1]))
        if recompute_scale_factor:
            scales = (None, None)
    ah = _interp_axis(H, out[0], mode, align_corners, scales[0])
    aw = _interp_axis(W, out[1], mode, align_corners, scales[1])
    return ah @ x @ aw.T


def interpolate_samples(rng):
    nearest, bilinear = {"mode": "nearest"}, {"mode": "bilinear"}
    return [Sample([_r(rng, 2, 3, 5, 4)], {"scale_factor": 2}),
            Sample([_r(rng, 1, 2, 5, 7)], {"size": (8, 3), **nearest}),
            Sample([_r(rng, 2, 2, 4, 6)], {"scale_factor": (1.5, 0.7)}),
            Sample([_r(rng, 1, 2, 7, 5)], {"scale_factor": 1.3, "recompute_scale_factor": True}),
            Sample([_r(rng, 1, 2, 5, 4)], {"scale_factor": 1.7, **bilinear}),
            Sample([_r(rng, 2, 1, 6, 5)], {"size": (4, 9), "align_corners": True, **bilinear}),
            Sample([_r(rng, 1, 2, 3, 7)], {"scale_factor": (2.5, 0.6), "align_corners": False, **bilinear}),
            Sample([_r(rng, 1, 2, 5, 5)], {"scale_factor": 1.3, "recompute_scale_factor": True, **bilinear}),
            Sample([_r(rng, 2, 2, 6, 1)], {"size": (1, 3), "align_corners": True, **bilinear}),
            Sample([_r(rng, 2, 2, 5, 6)], {"scale_factor": 2, **bilinear}, transpose=True),
            Sample([_r(rng, 2, 2, 4, 7)], {"size": (9, 5)}, transpose=True),
            Sample([_r(rng, 2, 8, 17, 23)], {"scale_factor": 2.3, **bilinear}, gradcheck=False)]


OPS += [
    OpInfo("elu", lambda a: _F().elu(a, 0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(a)),
           unary_samples(big=True), torch_fn=lambda a: _t().nn.functional.elu(a, 0.7)),
    OpInfo("silu", lambda a: _F().silu(a), lambda a: a * _sigmoid64(a), unary_samples(big=True),
           torch_fn=lambda a: _t().nn.functional.silu(a)),
    OpInfo("softplus", lambda a: _F().softplus(a, beta=2.0), lambda a: np.logaddexp(0, 2 * a) / 2,
           unary_samples(big=True), torch_fn=lambda a: _t().nn.functional.softplus(a, beta=2.0)),
    OpInfo("hardtanh", lambda a: _F().hardtanh(a, -0.5, 0.8), lambda a: np.clip(a, -0.5, 0.8),
           unary_samples(big=True), torch_fn=lambda a: _t().nn.functional.hardtanh(a, -0.5, 0.8)),
    OpInfo("relu6", lambda a: _F().relu6(a * 4), lambda a: np.clip(a * 4, 0, 6), unary_samples(big=True),
           torch_fn=lambda a: _t().nn.functional.relu6(a * 4)),
    OpInfo("relu_inplace", _inplace(lambda a, **kw: _F().relu(a, **kw)), lambda a: np.maximum(a, 0),
           unary_samples(), torch_fn=_inplace(lambda a, **kw: _t().nn.functional.relu(a, **kw))),
    OpInfo("leaky_relu_inplace", _inplace(lambda a, **kw: _F().leaky_relu(a, 0.2, **kw)),
           lambda a: np.where(a > 0, a, 0.2 * a), unary_samples(),
           torch_fn=_inplace(lambda a, **kw: _t().nn.functional.leaky_relu(a, 0.2, **kw))),
    OpInfo("elu_inplace", _inplace(lambda a, **kw: _F().elu(a, 0.7, **kw)),
           lambda a: np.where(a > 0, a, 0.7 * np.expm1(a)), unary_samples(),
           torch_fn=_inplace(lambda a, **kw: _t().nn.functional.elu(a, 0.7, **kw))),
    OpInfo("silu_inplace", _inplace(lambda a, **kw: _F().silu(a, **kw)), lambda a: a * _sigmoid64(a),
           unary_samples(), torch_fn=_inplace(lambda a, **kw: _t().nn.functional.silu(a, **kw))),
    OpInfo("hardtanh_inplace", _inplace(lambda a, **kw: _F().hardtanh(a, -0.5, 0.8, **kw)),
           lambda a: np.clip(a, -0.5, 0.8), unary_samples(),
           torch_fn=_inplace(lambda a, **kw: _t().nn.functional.hardtanh(a, -0.5, 0.8, **kw))),
    OpInfo("interpolate", lambda x, **kw: _F().interpolate(x, **kw), np_interpolate, interpolate_samples,
           REDUCTION, torch_fn=lambda x, **kw: _t().nn.functional.interpolate(x, **kw)),
]


# ---- conv_transpose2d: the adjoint of conv2d, PyTorch's output size and output padding ------------
def np_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Input pixel by input pixel: its value times its group's filters added at its window, then the
    padding cropped from the full output (output padding: extra zero rows at the bottom/right)."""
    st, pad, extra, dl = (v if isinstance(v, tuple) else (v, v) for v in (stride, padding, output_padding, dilation))
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    N, Ci, H, W = x.shape
    _, Cog, R, S = w.shape
    Cig = Ci // groups
    full = [(n - 1) * st[i] + dl[i] * (k - 1) + 1 + extra[i] for i, (n, k) in enumerate(((H, R), (W, S)))]
    y = np.zeros((N, groups * Cog, *full))
    for c in range(Ci):
        g = c // Cig
        for h in range(H):
            for v in range(W):
                h0, v0 = h * st[0], v * st[1]
                y[:, g * Cog:(g + 1) * Cog, h0:h0 + dl[0] * (R - 1) + 1:dl[0], v0:v0 + dl[1] * (S - 1) + 1:dl[1]] += (
                    x[:, c, h, v][:, None, None, None] * w[c])
    y = y[:, :, pad[0]:full[0] - pad[0], pad[1]:full[1] - pad[1]]
    if b is not None:
        y = y + b[:, None, None]
    return y[0] if unbatched else y


def conv_transpose2d_samples(rng):
    return [Sample([_r(rng, 2, 3, 5, 6), _r(rng, 3, 4, 3, 3), _r(rng, 4)]),
            Sample([_r(rng, 1, 4, 3, 4), _r(rng, 4, 2, 3, 2), _r(rng, 4)],
                   {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
            # output padding past the stride (allowed below the dilation): rows no window reaches
            Sample([_r(rng, 2, 2, 3, 3), _r(rng, 2, 3, 3, 3), _r(rng, 3)], {"dilation": 2, "output_padding": 1}),
            Sample([_r(rng, 2, 2, 4, 3), _r(rng, 2, 3, 4, 4)],
                   {"stride": (2, 3), "padding": (1, 2), "output_padding": (1, 2)}),
            Sample([_r(rng, 3, 4, 4), _r(rng, 3, 2, 3, 3), _r(rng, 2)], {"stride": 3, "padding": 1}),  # unbatched
            Sample([_r(rng, 2, 2, 5, 4), _r(rng, 2, 3, 3, 2), _r(rng, 3)], {"stride": 2, "padding": (1, 0)},
                   transpose=True),
            Sample([_r(rng, 0, 2, 4, 4), _r(rng, 2, 3, 3, 3), _r(rng, 3)]),
            Sample([_r(rng, 2, 3, 4, 4), _r(rng, 3, 5, 1, 1), _r(rng, 5)], {"stride": 2, "output_padding": 1}),
            Sample([_r(rng, 2, 2, 5, 5), _r(rng, 2, 3, 3, 3), _r(rng, 3)], {"padding": 2}),  # crops past the kernel
            Sample([_r(rng, 1, 6, 4, 5), _r(rng, 6, 1, 2, 3), _r(rng, 3)],
                   {"groups": 3, "dilation": (2, 1), "stride": (1, 2), "output_padding": 1}),
            # a 1x1 input to the kernel's size: one matmul (DCGAN's noise -> 4x4 layer)
            Sample([_r(rng, 3, 5, 1, 1), _r(rng, 5, 4, 4, 3), _r(rng, 4)]),
            Sample([_r(rng, 2, 3, 1, 1), _r(rng, 3, 2, 2, 2)], {"stride": 3, "output_padding": 1}),  # conv2d's paths
            # DCGAN's upsampling layer (4x4, stride 2, padding 1)
            Sample([_r(rng, 3, 16, 4, 4), _r(rng, 16, 8, 4, 4), _r(rng, 8)], {"stride": 2, "padding": 1},
                   gradcheck=False),
            # cuda: 64-row tiles, split reductions; cpu: the flipped forward, the packed weight gradient
            Sample([_r(rng, 2, 40, 3, 4), _r(rng, 40, 36, 3, 3), _r(rng, 36)], {"padding": 1}, gradcheck=False),
            Sample([_r(rng, 2, 20, 5, 4), _r(rng, 20, 24, 3, 2), _r(rng, 24)],
                   {"stride": 2, "padding": 1, "dilation": (1, 2), "output_padding": 1}, gradcheck=False),
            # cpu: Winograd's weight gradient, direct tiles (16 channels, rows of >= 12 pixels)
            Sample([_r(rng, 2, 16, 6, 12), _r(rng, 16, 16, 3, 3), _r(rng, 16)], {"padding": 1}, gradcheck=False)]


def _t_conv_transpose(x, w, b=None, **kw):
    return _t().nn.functional.conv_transpose2d(x, w, b, **kw)


OPS += [
    OpInfo("conv_transpose2d", lambda x, w, b=None, **kw: _F().conv_transpose2d(x, w, b, **kw), np_conv_transpose2d,
           conv_transpose2d_samples, REDUCTION, torch_fn=_t_conv_transpose),
]

OPS_BY_NAME = {op.name: op for op in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names"
