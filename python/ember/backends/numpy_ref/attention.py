"""scaled dot-product attention, the plain formula with the (Tq, Tk) matrix, per slice bh:
S = scale * Q K^T + M (+ -inf above the diagonal when causal), P = softmax(S),
O = (P * keep / (1 - p)) V, lse = logsumexp(S). A row whose keys are all masked gets O = 0 and
lse = +inf, as the kernels (csrc/kernels.h). The dropout mask is the counter hash of
csrc/attention_hash.h, so every device drops the same probabilities for one seed."""
import numpy as np

__all__ = ["attention_forward", "attention_backward"]



def attention_keep(seed, bh, tq, tk, p):
    """The keep mask (bh, tq, tk) of csrc/attention_hash.h: splitmix64(seed + counter) >> 32 >= p * 2^32."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(bh * tq * tk, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(32)) >= np.uint64(int(p * 4294967296.0))).reshape(bh, tq, tk)


def _scores(q, k, mask, H, scale, causal, mask_strides):
    bh, tq, tk = q.shape[0], q.shape[1], k.shape[1]
    s = (q @ np.swapaxes(k, 1, 2)) * q.dtype.type(scale)
    if mask is not None:
        item = mask.itemsize
        full = np.lib.stride_tricks.as_strided(
            mask, shape=(bh // H, H, tq, tk), strides=tuple(st * item for st in mask_strides) + (item,),
            writeable=False)
        s = s + full.reshape(bh, tq, tk)
    if causal:
        s = np.where(np.tril(np.ones((tq, tk), dtype=bool)), s, -np.inf)
    return s


def _softmax(q, k, mask, H, scale, causal, mask_strides):
    """P and lse; rows with every key masked: P = 0, lse = +inf."""
    s = _scores(q, k, mask, H, scale, causal, mask_strides)
    m = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.full(s.shape[:-1] + (1,), -np.inf, s.dtype)
    dead = np.isneginf(m)
    m = np.where(dead, 0, m)
    e = np.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    p = np.where(dead, 0, e / np.where(dead, 1, total))
    lse = np.where(dead, np.inf, m + np.log(np.where(dead, 1, total)))[..., 0]
    return p.astype(q.dtype), lse.astype(q.dtype)


def _dropped(p, dropout_p, seed):
    if not dropout_p:
        return p
    keep = attention_keep(seed, *p.shape, dropout_p)
    return np.where(keep, p * p.dtype.type(1.0 / (1.0 - dropout_p)), p.dtype.type(0))


def attention_forward(q, k, v, mask, H, scale, causal, mask_strides, dropout_p, seed):
    p, lse = _softmax(q, k, mask, H, scale, causal, mask_strides)
    return _dropped(p, dropout_p, seed) @ v, lse


def attention_backward(q, k, v, mask, out, lse, gout, H, scale, causal, mask_strides, dropout_p, seed):
    p, _ = _softmax(q, k, mask, H, scale, causal, mask_strides)
    gv = np.swapaxes(_dropped(p, dropout_p, seed), 1, 2) @ gout
    gp = _dropped(gout @ np.swapaxes(v, 1, 2), dropout_p, seed)
    gs = p * (gp - (gout * out).sum(axis=-1, keepdims=True)) * q.dtype.type(scale)
    return gs @ k, np.swapaxes(gs, 1, 2) @ q, gv
