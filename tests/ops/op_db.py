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

OPS_BY_NAME = {op.name: op for op in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names"
