"""Every binding of ember._cpu and ember._cuda_emu, called with each argument mutated.

A table gives one valid call per binding (the arguments backends/kernel.py passes). Each
mutation replaces one argument: an array by a wrong shape, an empty or huge-but-empty one, a
0-d one, another dtype (float64, int64, float16, big-endian, bool) or None; an int by 0, -1,
2**31, 2**62, 2**63-1, -2**63; a float by -1, 0, NaN, inf, 1e300; one side of a geometry
pair likewise; a mode string by an unknown one. Geometry mutations also run with the output
resized to what the Python layer computes, so the kernels see huge strides and dilations.

Every array is a view into a larger buffer filled with a canary. After each call the
canaries around every array must be intact and inputs unchanged; a call must raise
ValueError, TypeError or IndexError, or succeed, write every element of its outputs and give
plausible numbers (finite and small, as inputs in [-1, 1] give).
Cases run in a subprocess per op family, so a crash fails that case (and the sweep resumes
after it) instead of taking pytest down.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

MODULES = ("ember._cpu", "ember._cuda_emu")
# Controls, not kernels: they take no arrays.
NOT_SWEPT = {"get_num_threads", "set_num_threads", "isa", "set_isa", "emu_stats", "get_check", "set_check",
             "get_schedule", "set_schedule"}
# The host memory pool's controls take no arrays either (their bad input: tests/test_memory_pool.py).
NOT_SWEPT |= {"pool_empty", "pool_stats", "pool_empty_cache", "pool_reset_peak", "pool_set_limit",
              "pool_set_hugepage_min", "pool_hugepage_min", "pool_class_bytes"}
PAD = 16  # canary elements on each side of every array
CANARY = {"f": -7777.25, "i": -777777, "b": True}
ALLOWED = ("ValueError", "TypeError", "IndexError")


# ---- argument specs ------------------------------------------------------------------
class Arr:
    """An array argument: role 'in' (read, must stay unchanged), 'out' (every element written),
    'inout' (read and written), 'scratch' (may be written in part)."""

    def __init__(self, shape, role="in", dtype="float32", low=-1.0, high=1.0, index_high=None, fill=None):
        self.shape, self.role, self.dtype = tuple(shape), role, dtype
        self.low, self.high, self.index_high, self.fill = low, high, index_high, fill

    def with_(self, shape=None, dtype=None):
        return Arr(self.shape if shape is None else shape, self.role, self.dtype if dtype is None else dtype,
                   self.low, self.high, self.index_high)


def In(*shape, **kw):
    return Arr(shape, "in", **kw)


def Out(*shape, **kw):
    return Arr(shape, "out", **kw)


def InOut(*shape, **kw):
    return Arr(shape, "inout", **kw)


def Scratch(*shape, **kw):
    return Arr(shape, "scratch", **kw)


def Idx(*shape, high):
    return Arr(shape, "in", "int64", index_high=high)


def Mask(*shape):
    return Arr(shape, "in", "bool")


class Pair(tuple):
    """A geometry pair; its mutations may resize the outputs (see GEOMETRY)."""


def _lstm_cell():
    return ["lstm", In(2, 12), In(2, 12), In(12), In(12), In(2, 3), In(2, 3), Out(2, 3), Out(2, 3), Scratch(2, 12)]


def _lstm_cell_backward():
    return ["lstm", In(2, 12), None, In(2, 3), In(2, 3), In(2, 3), In(2, 3), None, In(2, 3), Out(2, 12), None, None,
            Out(2, 3)]


def _gru_cell_backward():
    return ["gru", In(2, 12), In(2, 3), None, None, In(2, 3), In(2, 3), None, None, Out(2, 9), Out(2, 9), Out(2, 3),
            None]


def _rnn(mode, gates, c):
    g = 3 * gates
    ws = Scratch(3, 2, 12) if mode in ("lstm", "gru") else None
    return [mode, False, In(3, 2, 4), In(2, 3), In(2, 3) if c else None, In(g, 4), In(g, 3), In(g), In(g),
            Out(3, 2, 3), Out(3, 2, 3) if c else None, ws, Scratch(3, 2, g), Scratch(2, g)]


def _rnn_backward(mode, gates, c):
    g = 3 * gates
    ws = In(3, 2, 12) if mode in ("lstm", "gru") else None
    return [mode, False, In(3, 2, 4), In(2, 3), In(2, 3) if c else None, In(g, 4), In(g, 3), In(3, 2, 3),
            In(3, 2, 3) if c else None, ws, In(3, 2, 3), In(2, 3) if c else None, Out(3, 2, 4), Out(2, 3),
            Out(2, 3) if c else None, Out(g, 4), Out(g, 3), Out(g), Out(g), Scratch(3, 2, g),
            Scratch(3, 2, g) if mode == "gru" else None]


def _unary(param=()):
    return lambda: [In(3, 5), Out(3, 5), *param]


def _binary(param=()):
    return lambda: [In(3, 5), In(3, 5), Out(3, 5), *param]


def _loss(low=-1.0, param=()):
    return (lambda: [In(3, 5, low=low), In(3, 5, low=0.0), Out(3, 5), *param],
            lambda: [In(3, 5, low=low), In(3, 5, low=0.0), In(3, 5), Out(3, 5), *param])


CONV = (Pair((1, 1)), Pair((0, 0)), Pair((1, 1)), 1)
POOL = (Pair((2, 2)), Pair((2, 2)), Pair((0, 0)))

# name -> [(variant, builder of the valid arguments)]
TABLE = {
    "matmul_forward": [("", lambda: [In(2, 3, 4), In(2, 4, 5), Out(2, 3, 5), False, False, False]),
                       ("K=0", lambda: [In(1, 3, 0), In(1, 0, 700), Out(1, 3, 700), False, False, False])],
    "matmul_backward": [("", lambda: [In(2, 3, 4), In(1, 4, 5), In(2, 3, 5), Out(2, 3, 4), Out(1, 4, 5), False,
                                      False])],
    "relu_forward": [("", _unary())], "relu_backward": [("", _binary())],
    "sigmoid_forward": [("", _unary())], "sigmoid_backward": [("", _binary())],
    "tanh_forward": [("", _unary())], "tanh_backward": [("", _binary())],
    "leaky_relu_forward": [("", _unary((0.01,)))], "leaky_relu_backward": [("", _binary((0.01,)))],
    "gelu_forward": [("", _unary((False,)))], "gelu_backward": [("", _binary((True,)))],
    "softmax_forward": [("", _unary())], "softmax_backward": [("", _binary())],
    "log_softmax_forward": [("", _unary())], "log_softmax_backward": [("", _binary())],
    "cross_entropy_forward": [("", lambda: [In(4, 5), Idx(4, high=5), Out(4)])],
    "cross_entropy_backward": [("", lambda: [In(4, 5), Idx(4, high=5), In(4), Out(4, 5)])],
    "layer_norm_forward": [("", lambda: [In(3, 6), In(6), In(6), Out(3, 6), Out(3), Out(3), 1e-5])],
    "layer_norm_backward": [("", lambda: [In(3, 6), In(3), In(3, low=0.5), In(6), In(3, 6), Out(3, 6), Out(6),
                                          Out(6)])],
    "embedding_forward": [("", lambda: [In(7, 4), Idx(5, high=7), Out(5, 4)])],
    "embedding_backward": [("", lambda: [Idx(5, high=7), In(5, 4), Out(7, 4), -1])],
    "rnn_cell_forward": [("lstm", _lstm_cell)],
    "rnn_cell_backward": [("lstm", _lstm_cell_backward), ("gru", _gru_cell_backward)],
    "rnn_forward": [("lstm", lambda: _rnn("lstm", 4, True)), ("gru", lambda: _rnn("gru", 3, False)),
                    ("rnn_tanh", lambda: _rnn("rnn_tanh", 1, False))],
    "rnn_backward": [("lstm", lambda: _rnn_backward("lstm", 4, True)), ("gru", lambda: _rnn_backward("gru", 3, False))],
    "sgd_step": [("", lambda: [InOut(10), In(10), InOut(10), 0.1, 0.9, 0.0, 0.0, False, False, True])],
    "adam_step": [("", lambda: [InOut(10), In(10), InOut(10), InOut(10, low=0.0), None, 1, 1e-3, 0.9, 0.999, 1e-8,
                                0.0, False, False])],
    "rmsprop_step": [("", lambda: [InOut(10), In(10), InOut(10, low=0.0), None, None, 0.01, 0.99, 1e-8, 0.0, 0.0,
                                   False])],
    "adagrad_step": [("", lambda: [InOut(10), In(10), InOut(10, low=0.0), 1, 0.01, 0.0, 0.0, 1e-10, False])],
    "adadelta_step": [("", lambda: [InOut(10), In(10), InOut(10, low=0.0), InOut(10, low=0.0), 1.0, 0.9, 1e-6, 0.0,
                                    False])],
    "conv2d_forward": [("", lambda: [In(2, 3, 6, 6), In(4, 3, 3, 3), In(4), Out(2, 4, 4, 4), *CONV]),
                       ("C=0", lambda: [In(4, 0, 14, 14), In(5, 0, 3, 3), In(5), Out(4, 5, 12, 12), *CONV])],
    "conv2d_backward": [("", lambda: [In(2, 3, 6, 6), In(4, 3, 3, 3), In(2, 4, 4, 4), Out(2, 3, 6, 6),
                                      Out(4, 3, 3, 3), Out(4), *CONV]),
                        ("C=0", lambda: [In(4, 0, 14, 14), In(5, 0, 3, 3), In(4, 5, 12, 12), Out(4, 0, 14, 14),
                                         Out(5, 0, 3, 3), Out(5), *CONV])],
    "max_pool2d_forward": [("", lambda: [In(2, 3, 6, 6), Out(2, 3, 3, 3), Out(2, 3, 3, 3, dtype="int64"), *POOL,
                                         Pair((1, 1))])],
    "max_pool2d_backward": [("", lambda: [Idx(2, 3, 3, 3, high=36), In(2, 3, 3, 3), Out(2, 3, 6, 6), *POOL,
                                          Pair((1, 1))])],
    "avg_pool2d_forward": [("", lambda: [In(2, 3, 6, 6), Out(2, 3, 3, 3), *POOL, True])],
    "avg_pool2d_backward": [("", lambda: [In(2, 3, 3, 3), Out(2, 3, 6, 6), *POOL, False])],
    "batch_norm_forward": [("", lambda: [In(2, 3, 5), In(3), In(3), Out(3), Out(3), Out(2, 3, 5), 1e-5, True])],
    "batch_norm_backward": [("", lambda: [In(2, 3, 5), In(2, 3, 5), In(3), In(3), In(3, low=0.5), Out(2, 3, 5),
                                          Out(3), Out(3), 1e-5, True])],
    "attention_forward": [("", lambda: [In(4, 3, 2), In(4, 5, 2), In(4, 5, 3), None, Out(4, 3, 3), Out(4, 3), 2, 0.5,
                                        False, 0, 0, 0, 0.0, 0]),
                          ("mask", lambda: [In(4, 3, 2), In(4, 5, 2), In(4, 5, 3), In(3, 5), Out(4, 3, 3), Out(4, 3),
                                            2, 0.5, True, 0, 0, 5, 0.2, 7])],
    "attention_backward": [("", lambda: [In(4, 3, 2), In(4, 5, 2), In(4, 5, 3), None, In(4, 3, 3), In(4, 3, low=1.0),
                                         In(4, 3, 3), Out(4, 3, 2), Out(4, 5, 2), Out(4, 5, 3), 2, 0.5, False, 0, 0, 0,
                                         0.2, 7])],
    "cast_forward": [("", lambda: [In(3, 4), Out(3, 4, dtype="float16")])],
    "cast_backward": [("", lambda: [In(3, 4, dtype="float16"), Out(3, 4)])],
    "dropout_forward": [("", lambda: [In(3, 4), Mask(3, 4), Out(3, 4), 2.0])],
    "dropout_backward": [("", lambda: [Mask(3, 4), In(3, 4), Out(3, 4), 2.0])],
    "mse_forward": [("", _loss()[0])], "mse_backward": [("", _loss()[1])],
    "l1_forward": [("", _loss()[0])], "l1_backward": [("", _loss()[1])],
    "bce_forward": [("", _loss(0.05)[0])], "bce_backward": [("", _loss(0.05)[1])],
    "smooth_l1_forward": [("", _loss(param=(1.0,))[0])], "smooth_l1_backward": [("", _loss(param=(1.0,))[1])],
    "bce_with_logits_forward": [("", lambda: [In(3, 5), In(3, 5, low=0.0), In(3, 5, low=0.0), Out(3, 5)])],
    "bce_with_logits_backward": [("", lambda: [In(3, 5), In(3, 5, low=0.0), None, In(3, 5), Out(3, 5)])],
    # ---- elu, silu, softplus, hardtanh; interpolate ----
    "elu_forward": [("", _unary((0.7,)))],
    "elu_backward": [("", _binary((0.7, False))), ("result", _binary((0.7, True)))],
    "silu_forward": [("", _unary())], "silu_backward": [("", _binary())],
    "softplus_forward": [("", _unary((1.5, 20.0)))], "softplus_backward": [("", _binary((1.5, 20.0)))],
    "hardtanh_forward": [("", _unary((-0.5, 0.8)))], "hardtanh_backward": [("", _binary((-0.5, 0.8)))],
    "interpolate_forward": [("", lambda: [In(2, 3, 4, 5), Out(2, 3, 7, 3), "bilinear", False, 0.0, 0.0]),
                            ("scale", lambda: [In(2, 3, 4, 5), Out(2, 3, 6, 11), "nearest", False, 1.5, 2.3])],
    "interpolate_backward": [("", lambda: [In(2, 3, 7, 3), Out(2, 3, 4, 5), "bilinear", True, 0.0, 0.0]),
                             ("scale", lambda: [In(2, 3, 6, 11), Out(2, 3, 4, 5), "nearest", False, 1.5, 2.3])],
}

# ---- conv_transpose2d: x (N, C_in, H, W), w (C_in, C_out, R, S), y (N, C_out, Ho, Wo) ----------
TABLE.update({
    "conv_transpose2d_forward": [
        ("", lambda: [In(2, 4, 3, 3), In(4, 3, 3, 3), In(3), Out(2, 3, 5, 5), *CONV]),
        ("stride=2", lambda: [In(2, 4, 3, 3), In(4, 3, 3, 3), In(3), Out(2, 3, 8, 7), Pair((2, 2)), Pair((0, 0)),
                              Pair((1, 1)), 1])],
    "conv_transpose2d_backward": [
        ("", lambda: [In(2, 4, 3, 3), In(4, 3, 3, 3), In(2, 3, 5, 5), Out(2, 4, 3, 3), Out(4, 3, 3, 3), Out(3), *CONV]),
        ("groups=2", lambda: [In(2, 4, 3, 3), In(4, 1, 2, 2), In(2, 2, 5, 4), Out(2, 4, 3, 3), Out(4, 1, 2, 2), Out(2),
                              Pair((2, 2)), Pair((1, 1)), Pair((1, 1)), 2])],
})

# Geometry arguments by position: (x, y-like arrays to resize, kernel source) for the
# mutations that keep the call consistent.
GEOMETRY = {
    "conv2d_forward": {"x": 0, "w": 1, "outs": (3,), "stride": 4, "padding": 5, "dilation": 6},
    "conv2d_backward": {"x": 0, "w": 1, "outs": (2,), "stride": 6, "padding": 7, "dilation": 8},
    "max_pool2d_forward": {"x": 0, "outs": (1, 2), "kernel": 3, "stride": 4, "padding": 5, "dilation": 6},
    "max_pool2d_backward": {"x": 2, "outs": (0, 1), "kernel": 3, "stride": 4, "padding": 5, "dilation": 6},
    "avg_pool2d_forward": {"x": 0, "outs": (1,), "kernel": 2, "stride": 3, "padding": 4},
    "avg_pool2d_backward": {"x": 1, "outs": (0,), "kernel": 2, "stride": 3, "padding": 4},
}

HUGE_INTS = (0, -1, 2**31, 2**62, 2**63 - 1, -2**63)
FLOATS = (-1.0, 0.0, float("nan"), float("inf"), 1e300)
PAIR_VALUES = (0, -1, 2**31, 2**62, 2**63 - 1)


def array_mutations(a):
    shape = a.shape
    muts = []
    if shape:
        muts.append(("last+1", a.with_(shape[:-1] + (shape[-1] + 1,))))
        muts.append(("first=0", a.with_((0,) + shape[1:])))
        muts.append(("empty-huge", a.with_((0,) + shape[1:-1] + (2**40,))))
        muts.append(("0-d", a.with_(())))
    muts.append(("ndim+1", a.with_(shape + (2,))))
    for dt in ("float64", "int64", "float16", ">f4", "bool"):
        if np.dtype(dt) != np.dtype(a.dtype):
            muts.append((dt, a.with_(dtype=dt)))
    if a.index_high is not None:  # indices out of range, at the ends of int64 too
        for v in (-1, a.index_high, 2**62, -2**63):
            muts.append((f"index={v}", Arr(a.shape, a.role, a.dtype, index_high=a.index_high, fill=v)))
    muts.append(("None", None))
    return muts


def scalar_mutations(v):
    if isinstance(v, bool):
        return []
    if isinstance(v, str):
        return [("bogus", "bogus")]
    if isinstance(v, Pair):
        return [(f"[{i}]={x}", Pair(tuple(x if j == i else v[j] for j in range(2)))) for i in range(2)
                for x in PAIR_VALUES]
    if isinstance(v, int):
        return [(str(x), x) for x in HUGE_INTS]
    if isinstance(v, float):
        return [(str(x), x) for x in FLOATS]
    return []


def cases(name):
    """(label, args) for every mutation of every variant of name; the base call first."""
    out = []
    for variant, build in TABLE[name]:
        base = build()
        out.append((f"{variant} base", base))
        for i, v in enumerate(base):
            muts = array_mutations(v) if isinstance(v, Arr) else scalar_mutations(v)
            for label, m in muts:
                args = list(base)
                args[i] = m
                out.append((f"{variant} arg{i}={label}", args))
                resized = consistent(name, args, i)
                if resized is not None:
                    out.append((f"{variant} arg{i}={label} resized", resized))
    return out


def consistent(name, args, i):
    """args with the outputs resized to the geometry the Python layer computes for a mutated
    geometry argument, when that is small; None otherwise."""
    g = GEOMETRY.get(name)
    if g is None or i not in [g[k] for k in ("stride", "padding", "dilation", "kernel") if k in g]:
        return None
    from ember.ops.conv2d import conv2d_geometry
    from ember.ops.pool import pool_geometry
    x = args[g["x"]]
    try:
        if "w" in g:
            _, out = conv2d_geometry(x.shape, args[g["w"]].shape, tuple(args[g["stride"]]),
                                     tuple(args[g["padding"]]), tuple(args[g["dilation"]]), args[-1])
        else:
            d = tuple(args[g["dilation"]]) if "dilation" in g else 1
            *_, out = pool_geometry(x.shape, tuple(args[g["kernel"]]), tuple(args[g["stride"]]),
                                    tuple(args[g["padding"]]), d, False, name)
    except (ValueError, TypeError):
        return None
    if not all(1 <= o <= 8 for o in out):
        return None
    args = list(args)
    for j in g["outs"]:
        args[j] = args[j].with_(args[j].shape[:2] + tuple(out))
    return args


# ---- the worker (runs in a subprocess) ------------------------------------------------
def _kind(dtype):
    return "b" if dtype.kind == "b" else ("i" if dtype.kind in "iu" else "f")


def materialize(spec, rng):
    """A C-contiguous view into a canary-filled buffer, plus the buffer."""
    if not isinstance(spec, Arr):
        return spec, None
    dt = np.dtype(spec.dtype)
    n = int(np.prod(spec.shape, dtype=object))
    if n > 10**6:
        raise MemoryError
    buf = np.empty(n + 2 * PAD, dt)
    buf[...] = CANARY[_kind(dt)]
    view = buf[PAD:PAD + n].reshape(spec.shape)
    if spec.role != "out" and n:
        if spec.index_high is not None and dt.kind in "iu":
            view[...] = rng.integers(0, spec.index_high, spec.shape)
            if spec.fill is not None:
                view.flat[len(view.flat) // 2] = spec.fill
        elif dt.kind == "b":
            view[...] = rng.random(spec.shape) < 0.6
        elif dt.kind in "iu":
            view[...] = rng.integers(0, 3, spec.shape)
        else:
            view[...] = rng.uniform(spec.low, spec.high, spec.shape)
    return view, buf


def damage(specs, views, bufs, before):
    """What the call broke: canaries, inputs, or outputs left unwritten (on success)."""
    problems = []
    for k, (spec, view, buf) in enumerate(zip(specs, views, bufs)):
        if buf is None:
            continue
        c = CANARY[_kind(buf.dtype)]
        pads = np.concatenate([buf[:PAD], buf[PAD + view.size:]])
        if not np.array_equal(pads, np.full_like(pads, c)):
            problems.append(f"arg{k}: canary overwritten")
        if spec.role == "in" and not np.array_equal(view, before[k], equal_nan=view.dtype.kind == "f"):
            problems.append(f"arg{k}: input modified")
    return problems


def unwritten(specs, views, bufs):
    out = []
    for k, (spec, view, buf) in enumerate(zip(specs, views, bufs)):
        if (buf is not None and spec.role == "out" and view.size and buf.dtype.kind != "b"
                and np.any(view == CANARY[_kind(buf.dtype)])):
            out.append(f"arg{k}: output not fully written")
    return out


def implausible(specs, views, bufs):
    """Outputs no valid call could give: inputs lie in [-1, 1] and the shapes are tiny, so with
    moderate scalars every output is finite and small (stale memory rarely is)."""
    scalars = [v for v in specs if isinstance(v, float)]
    if not all(np.isfinite(v) and abs(v) <= 1e3 for v in scalars):
        return []
    out = []
    for k, (spec, view, buf) in enumerate(zip(specs, views, bufs)):
        if (buf is not None and spec.role in ("out", "inout") and view.size and buf.dtype.kind == "f"
                and not np.all(np.abs(view) < 1e6)):
            out.append(f"arg{k}: output holds {view.flat[np.argmax(~(np.abs(view) < 1e6))]!r}")
    return out


def run_case(fn, args, rng):
    mats = [materialize(a, rng) for a in args]
    views, bufs = [m[0] for m in mats], [m[1] for m in mats]
    before = [None if b is None else v.copy() for v, b in zip(views, bufs)]
    try:
        fn(*views)
        outcome = "ok"
    except ALLOWED_TYPES as e:
        outcome = type(e).__name__
    except Exception as e:
        outcome = f"{type(e).__name__}: {e}"
    problems = damage(args, views, bufs, before)
    if outcome == "ok":
        problems += unwritten(args, views, bufs) + implausible(args, views, bufs)
    elif outcome not in ALLOWED:
        problems.append(f"raised {outcome}")
    return outcome, problems


ALLOWED_TYPES = (ValueError, TypeError, IndexError)


def worker(module_name, names, start):
    """Runs the cases of names from index start, printing one JSON line per case (and a
    'start' line before it, so that the parent can name the case a crash happened in)."""
    import importlib
    mod = importlib.import_module(module_name)
    todo = [(n, label, args) for n in names for label, args in cases(n)]
    for i in range(start, len(todo)):
        n, label, args = todo[i]
        print(json.dumps({"start": i, "case": f"{n} {label}"}), flush=True)
        try:
            outcome, problems = run_case(getattr(mod, n), args, np.random.default_rng(i))
        except MemoryError:
            outcome, problems = "skipped", []
        print(json.dumps({"done": i, "case": f"{n} {label}", "outcome": outcome, "problems": problems}), flush=True)


def run_chunk(module_name, names):
    """All cases of names in subprocesses: a crash is recorded and the sweep goes on after it."""
    total = sum(len(cases(n)) for n in names)
    results, start = [], 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    here = os.path.dirname(os.path.abspath(__file__))
    while start < total:
        code = (f"import sys; sys.path.insert(0, {here!r}); import test_binding_sweep as t; "
                f"t.worker({module_name!r}, {names!r}, {start})")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600,
                           check=False)
        last = None
        for line in p.stdout.splitlines():
            rec = json.loads(line)
            if "done" in rec:
                results.append(rec)
                start = rec["done"] + 1
            else:
                last = rec
        if p.returncode != 0:
            case = last["case"] if last else "(before the first case)"
            results.append({"case": case, "outcome": f"crash rc={p.returncode}",
                            "problems": [f"process died: {p.stderr[-500:]}"]})
            start = (last["start"] + 1) if last else total
    return results


# ---- the tests -----------------------------------------------------------------------
def _module(name):
    return pytest.importorskip(name)


def public_functions(mod):
    return {n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))}


@pytest.mark.parametrize("module_name", MODULES)
def test_table_covers_every_binding(module_name):
    mod = _module(module_name)
    missing = public_functions(mod) - NOT_SWEPT - set(TABLE)
    assert not missing, f"bindings of {module_name} without a sweep entry in TABLE: {sorted(missing)}"
    stale = set(TABLE) - public_functions(mod)
    assert not stale, f"TABLE names functions {module_name} does not export: {sorted(stale)}"


FAMILIES = {
    "matmul": ["matmul_forward", "matmul_backward"],
    "elementwise": [n for n in TABLE if n.split("_")[0] in ("relu", "sigmoid", "tanh", "leaky", "gelu", "elu", "silu",
                                                            "softplus", "hardtanh")],
    "rows": ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
             "cross_entropy_forward", "cross_entropy_backward", "layer_norm_forward", "layer_norm_backward",
             "embedding_forward", "embedding_backward"],
    "rnn": ["rnn_cell_forward", "rnn_cell_backward", "rnn_forward", "rnn_backward"],
    "optim": ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step", "adadelta_step"],
    "conv_pool": ["conv2d_forward", "conv2d_backward", "max_pool2d_forward", "max_pool2d_backward",
                  "avg_pool2d_forward", "avg_pool2d_backward", "interpolate_forward", "interpolate_backward"],
    "attention": ["attention_forward", "attention_backward"],
    "cast": ["cast_forward", "cast_backward"],
    "norm_losses": ["batch_norm_forward", "batch_norm_backward", "dropout_forward", "dropout_backward",
                    "mse_forward", "mse_backward", "l1_forward", "l1_backward", "bce_forward", "bce_backward",
                    "smooth_l1_forward", "smooth_l1_backward", "bce_with_logits_forward",
                    "bce_with_logits_backward"],
}

FAMILIES["conv_transpose"] = ["conv_transpose2d_forward", "conv_transpose2d_backward"]


def test_families_cover_the_table():
    listed = [n for names in FAMILIES.values() for n in names]
    assert sorted(listed) == sorted(TABLE)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("module_name", MODULES)
def test_sweep(module_name, family):
    _module(module_name)
    results = run_chunk(module_name, FAMILIES[family])
    bases = [r for r in results if r["case"].endswith(" base")]
    assert bases and all(r["outcome"] == "ok" for r in bases), [r for r in bases if r["outcome"] != "ok"]
    bad = [f"{r['case']}: {r['outcome']} {r['problems']}" for r in results if r["problems"]]
    assert not bad, f"{len(bad)} of {len(results)} cases failed:\n" + "\n".join(bad[:40])


# ---- the geometry checks agree with the Python layer and with PyTorch ------------------------
GEOMETRIES = [(H, k, s, p, d) for H in (1, 4, 7) for k in (1, 2, 3) for s in (1, 2, 3) for p in (0, 1) for d in (1, 2)]


def _accepts(fn, *args):
    try:
        fn(*args)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("module_name", MODULES)
def test_pool_output_size_is_pytorchs(module_name):
    """The Python layer computes PyTorch's sizes (floor and ceil_mode, a ceil_mode window larger
    than the input included) and refuses where PyTorch does; the binding takes exactly those sizes."""
    torch = pytest.importorskip("torch")
    from ember.ops.pool import pool_geometry
    mod = _module(module_name)
    for H, k, s, p, d in GEOMETRIES:
        sizes = set()
        for ceil in (False, True):
            try:
                want = torch.nn.functional.max_pool2d(torch.zeros(1, 1, H, 3), (k, 1), (s, 1), (p, 0), (d, 1), ceil)
            except RuntimeError:
                with pytest.raises(ValueError):
                    pool_geometry((1, 1, H, 3), (k, 1), (s, 1), (p, 0), (d, 1), ceil, "max_pool2d")
                continue
            *_, (P, _) = pool_geometry((1, 1, H, 3), (k, 1), (s, 1), (p, 0), (d, 1), ceil, "max_pool2d")
            assert P == want.shape[2], (H, k, s, p, d, ceil)
            sizes.add(P)
        x = np.zeros((1, 1, H, 3), np.float32)
        for P in range(10):
            y = np.zeros((1, 1, P, 3), np.float32)
            ok = _accepts(mod.max_pool2d_forward, x, y, y.astype(np.int64), (k, 1), (s, 1), (p, 0), (d, 1))
            assert ok == (P in sizes), (H, k, s, p, d, P, sizes)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("module_name", MODULES)
def test_conv_output_size_is_pytorchs(module_name):
    """The binding takes the size for the padding on both sides, or with one more row at the
    bottom (how the Python layer passes 'same' with an odd total); both are PyTorch's."""
    torch = pytest.importorskip("torch")
    from ember.ops.conv2d import conv2d_geometry
    mod = _module(module_name)
    for H, k, s, p, d in GEOMETRIES:
        wk = np.zeros((1, 1, k, 1), np.float32)
        sizes = set()
        for padding in ((p, 0), ((p, p + 1), (0, 0))):
            span = H + sum(padding[0] if isinstance(padding[0], tuple) else (p, p)) - d * (k - 1) - 1
            if span < 0:
                continue
            sizes.add(span // s + 1)
            tpad = (0, 0, p, p + 1) if isinstance(padding[0], tuple) else (0, 0, p, p)
            want = torch.nn.functional.conv2d(torch.nn.functional.pad(torch.zeros(1, 1, H, 3), tpad),
                                              torch.zeros(1, 1, k, 1), None, (s, 1), 0, (d, 1))
            assert span // s + 1 == want.shape[2]
        try:
            _, (P, _) = conv2d_geometry((1, 1, H, 3), wk.shape, (s, 1), (p, 0), (d, 1), 1)
            assert P in sizes
        except ValueError:
            assert H + 2 * p < d * (k - 1) + 1  # only a kernel larger than the padded input is refused
        x = np.zeros((1, 1, H, 3), np.float32)
        for P in range(10):
            y = np.zeros((1, 1, P, 3), np.float32)
            ok = _accepts(mod.conv2d_forward, x, wk, None, y, (s, 1), (p, 0), (d, 1), 1)
            assert ok == (P in sizes), (H, k, s, p, d, P, sizes)
    for H, k, d in [(5, 2, 1), (6, 3, 2), (4, 4, 1)]:  # 'same': the Python layer's pads and size
        (top, _), (P, _) = conv2d_geometry((1, 1, H, 3), (1, 1, k, 1), 1, "same", (d, 1), 1)
        want = torch.nn.functional.conv2d(torch.zeros(1, 1, H, 3), torch.zeros(1, 1, k, 1), None, 1, "same", (d, 1))
        assert P == want.shape[2] == H
        mod.conv2d_forward(np.zeros((1, 1, H, 3), np.float32), np.zeros((1, 1, k, 1), np.float32), None,
                           np.zeros((1, 1, P, 3), np.float32), (1, 1), (top, 0), (d, 1), 1)


HUGE = [2**62, 2**63 - 1, 2**62 + 2**61]


@pytest.mark.parametrize("module_name", MODULES)
@pytest.mark.parametrize("value", HUGE)
def test_huge_geometry_raises(module_name, value):
    mod = _module(module_name)
    x, w = np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32)
    y = np.zeros((1, 3, 3, 3), np.float32)
    for geometry in [((value, 1), (0, 0), (1, 1)), ((1, 1), (0, 0), (value, 1)), ((1, 1), (value, 0), (1, 1))]:
        with pytest.raises(ValueError):
            mod.conv2d_forward(x, w, None, y, *geometry, 1)
        with pytest.raises(ValueError):
            mod.conv2d_backward(x, w, y, None, np.zeros_like(w), None, *geometry, 1)
    with pytest.raises(ValueError):
        mod.conv2d_forward(np.ones((1, 0, 5, 5), np.float32), np.ones((0, 4, 3, 3), np.float32), None,
                           np.zeros((1, 0, 3, 3), np.float32), (1, 1), (0, 0), (1, 1), 2**62)  # 4 * 2**62 wraps to 0
    yp = np.zeros((1, 2, 2, 2), np.float32)
    cases = [((2, 2), (value, 2), (0, 0), (1, 1)), ((2, 2), (2, 2), (0, 0), (value, 1)),
             ((value, 2), (2, 2), (value // 2, 0), (1, 1))]
    for kernel, stride, padding, dilation in cases:
        with pytest.raises(ValueError):
            mod.max_pool2d_forward(x[:, :2], yp, yp.astype(np.int64), kernel, stride, padding, dilation)
    if value == 2**63 - 1:  # one window past the last no longer fits int64: refused too
        with pytest.raises(ValueError, match="window reach"):
            mod.conv2d_forward(x, w, None, np.zeros((1, 3, 1, 1), np.float32), (value, value), (0, 0), (1, 1), 1)
        return
    # a huge stride with the output size it gives (one window) is a valid call
    y1 = np.zeros((1, 3, 1, 1), np.float32)
    mod.conv2d_forward(x, w, None, y1, (value, value), (0, 0), (1, 1), 1)
    np.testing.assert_allclose(y1.ravel(), [18.0] * 3)
