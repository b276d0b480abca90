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
