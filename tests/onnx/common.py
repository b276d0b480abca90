"""check_export: export an ember model, run the file in onnxruntime, compare with ember's outputs."""
import io

import numpy as np
import pytest

import ember as em
import ember.onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def flat(out):
    if isinstance(out, em.Tensor):
        return [out.numpy()]
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat(o)]
    return []


def ort_opset():
    """The newest opset this onnxruntime runs (1.16: 19, 1.17: 20, 1.18 and later: 21 and beyond)."""
    major, minor = (int(v) for v in ort.__version__.split(".")[:2])
    return 21 if (major, minor) >= (1, 18) else 20 if (major, minor) == (1, 17) else 19


def opsets(*wanted):
    """pytest params for the opsets, skipped where the installed onnx or onnxruntime lacks one."""
    top = min(ort_opset(), ember.onnx.OPSETS.stop - 1)
    return [pytest.param(o, marks=pytest.mark.skipif(o > top, reason=f"opset {o} is newer than onnx/onnxruntime here"))
            for o in wanted]


def session(data):
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def run(model, args):
    with em.no_grad():
        return flat(model(*args))


def check_export(model, args, rtol=1e-5, atol=1e-5, others=(), **kwargs):
    """Export model on args (a tuple), compare onnxruntime with ember on args and on each tuple in
    `others` (other sizes along the dynamic axes); returns the ModelProto."""
    buf = io.BytesIO()
    proto = ember.onnx.export(model, args, buf, **kwargs)
    sess = session(buf.getvalue())
    names = [i.name for i in sess.get_inputs()]
    model.eval()
    for inputs in (args,) + tuple(others):
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
        want = run(model, inputs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return proto


def randn(*shape, seed=0):
    return em.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def initializer_names(proto):
    return {i.name for i in proto.graph.initializer}
