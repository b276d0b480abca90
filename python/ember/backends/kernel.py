"""Heavy ops on a compiled kernel module (ember._cpu, ember._cuda, ember._cuda_emu).

The three modules bind the same entry points under the same names
(csrc/bindings/ops/), which write into outputs the caller allocates. This
class gives them the functional signatures of backends/numpy_ref, allocating
outputs from `mem`: ember's host pool for NumPy arrays (HostMemory), CuPy
(and so CuPy's pool) for CUDA. Inputs must already be C-contiguous; the op
layer sees to that.
"""
import importlib
import math
import os
import threading
from collections import OrderedDict

import numpy as np

# Bytes of spare host arrays an ArrayCache keeps by default: a few steps of a mid-sized LSTM.
CACHE_BYTES = 64 << 20


class ArrayCache:
    """Spare arrays by (shape, dtype), at most `limit` bytes in all: the least recently used
    shapes go first, so variable-length batches cannot grow it without bound. Thread-safe;
    an array taken belongs to the caller alone until it is given back."""

    def __init__(self, limit=None):
        self.limit = CACHE_BYTES if limit is None else limit
        self.nbytes = 0
        self._spares = OrderedDict()  # (shape, dtype) -> [arrays], most recently used last
        self._lock = threading.Lock()

    def take(self, key):
        with self._lock:
            spares = self._spares.get(key)
            if not spares:
                return None
            a = spares.pop()
            if not spares:
                del self._spares[key]
            self.nbytes -= a.nbytes
            return a

    def give(self, a):
        if a.nbytes > self.limit:
            return
        key = (a.shape, a.dtype)
        with self._lock:
            spares = self._spares.setdefault(key, [])
            if any(b is a for b in spares):
                return
            spares.append(a)
            self._spares.move_to_end(key)
            self.nbytes += a.nbytes
            while self.nbytes > self.limit:
                _, oldest = next(iter(self._spares.items()))
                self.nbytes -= oldest.pop(0).nbytes
                if not oldest:
                    self._spares.popitem(last=False)

    def clear(self):
        with self._lock:
            self._spares.clear()
            self.nbytes = 0


def _itemsize(dtype):
    size = getattr(dtype, "itemsize", None)  # a dtype's own (np.dtype(...) costs more than the check)
    return size if type(size) is int else np.dtype(dtype).itemsize


class HostMemory:
    """Host arrays from ember._cpu's memory pool (csrc/cpu/host_pool.h), with the array
    module's allocation names: arrays of 256 KiB and more reuse cached blocks (no page faults),
    smaller ones come from NumPy. The arrays are ordinary NumPy arrays; a block goes back to
    the pool when its last view dies."""

    def __init__(self, module):
        self.module = module
        self._empty = module.pool_empty
        self._min = module.pool_min_block

    def empty(self, shape, dtype=np.float32):
        if math.prod(shape) * _itemsize(dtype) < self._min:  # small: as empty_like
            return np.empty(shape, dtype)
        return self._empty(shape, dtype)

    def empty_like(self, a):
        # small arrays skip the call into C++ (the hot path of small models' elementwise kernels)
        return np.empty(a.shape, a.dtype) if a.nbytes < self._min else self._empty(a.shape, a.dtype)

    def zeros(self, shape, dtype=np.float32):
        if math.prod(shape) * _itemsize(dtype) < self._min:
            return np.zeros(shape, dtype)
        return self._empty(shape, dtype, True)

    def zeros_like(self, a):
        return np.zeros(a.shape, a.dtype) if a.nbytes < self._min else self._empty(a.shape, a.dtype, True)


def host_memory():
    """Where host backends (cpu, cuda-emu) allocate: the pool, or NumPy itself when
    EMBER_CPU_POOL=0 or ember._cpu is missing."""
    if os.environ.get("EMBER_CPU_POOL", "1") == "0":
        return np
    try:
        return HostMemory(importlib.import_module("ember._cpu"))
    except ImportError:
        return np


class KernelOps:
    def __init__(self, module, xp):
        self.module = module
        self.xp = xp
        # outputs are allocated from `mem`: the host pool for NumPy arrays, CuPy's pool otherwise
        self.mem = host_memory() if xp is np else xp
        self._bind_elementwise()
        self._bind_losses()

    # ---- matmul: 3-D (batch, rows, cols), batch 1 broadcasts; or 2-D @ 2-D -------------
    def matmul_forward(self, a, b, trans_a=False, trans_b=False):
        sa, sb = a.shape, b.shape
        m = sa[-1] if trans_a else sa[-2]
        n = sb[-2] if trans_b else sb[-1]
        out = self.mem.empty((m, n) if len(sa) == 2 else (max(sa[0], sb[0]), m, n), a.dtype)
        self.module.matmul_forward(a, b, out, trans_a, trans_b, False)
        return out

    def matmul_backward(self, a, b, grad_out, need_a, need_b, trans_a=False, trans_b=False):
        ga = self.mem.empty_like(a) if need_a else None
        gb = self.mem.empty_like(b) if need_b else None
        self.module.matmul_backward(a, b, grad_out, ga, gb, trans_a, trans_b)
        return ga, gb

    # ---- activations: name_forward(x[, param]) -> y, name_backward(saved, grad_out[, param]) -> grad_x --
    # Built once per backend as closures over the bound kernels: these are the hot path of small models.
    def _bind_elementwise(self):
        empty_like = self.mem.empty_like
        for name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "elu", "silu",
                     "softplus", "hardtanh"):
            fwd, bwd = getattr(self.module, name + "_forward"), getattr(self.module, name + "_backward")

            def forward(x, *param, _k=fwd, out=None):  # out=x: in place (the kernels read and write item i)
                out = empty_like(x) if out is None else out
                _k(x, out, *param)
                return out

            def backward(saved, grad_out, *param, _k=bwd):
                gx = empty_like(saved)
                _k(saved, grad_out, gx, *param)
                return gx
            setattr(self, name + "_forward", forward)
            setattr(self, name + "_backward", backward)

    # ---- losses: name_forward(x, t[, param]) -> per-item loss, name_backward(x, t, grad_out[, param]) -> grad_x --
    # bce_with_logits: pos_weight (shaped like x, or None) comes after the target.
    def _bind_losses(self):
        empty_like = self.mem.empty_like
        for name in ("mse", "l1", "smooth_l1", "bce"):
            fwd, bwd = getattr(self.module, name + "_forward"), getattr(self.module, name + "_backward")

            def forward(x, t, *param, _k=fwd):
                out = empty_like(x)
                _k(x, t, out, *param)
                return out

            def backward(x, t, grad_out, *param, _k=bwd):
                gx = empty_like(x)
                _k(x, t, grad_out, gx, *param)
                return gx
            setattr(self, name + "_forward", forward)
            setattr(self, name + "_backward", backward)

    def bce_with_logits_forward(self, x, t, pos_weight):
        out = self.mem.empty_like(x)
        self.module.bce_with_logits_forward(x, t, pos_weight, out)
        return out

    def bce_with_logits_backward(self, x, t, pos_weight, grad_out):
        gx = self.mem.empty_like(x)
        self.module.bce_with_logits_backward(x, t, pos_weight, grad_out, gx)
        return gx

    # ---- cross_entropy: logits (N, C), labels int64 (N,) -----------------------
    def cross_entropy_forward(self, logits, labels):
        loss = self.mem.empty(logits.shape[:1], dtype=logits.dtype)
        self.module.cross_entropy_forward(logits, labels, loss)
        return loss

    def cross_entropy_backward(self, logits, labels, grad_loss):
        g = self.mem.empty_like(logits)
        self.module.cross_entropy_backward(logits, labels, grad_loss, g)
        return g

    # ---- optim: fused in-place updates of one parameter (flat, contiguous) -----------
    # Optional state is None when its option is off; arrays are updated in place.
    def sgd_step(self, p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step):
        self.module.sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step)

    def adam_step(self, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                  decoupled, maximize):
        self.module.adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                              decoupled, maximize)

    def rmsprop_step(self, p, g, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay, momentum,
                     maximize):
        self.module.rmsprop_step(p, g, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay, momentum,
                                 maximize)

    def adagrad_step(self, p, g, sum, step, lr, lr_decay, weight_decay, eps, maximize):
        self.module.adagrad_step(p, g, sum, step, lr, lr_decay, weight_decay, eps, maximize)

    def adadelta_step(self, p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
        self.module.adadelta_step(p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize)

    # ---- layer_norm: x (rows, cols), weight / bias (cols,) or None ------------------
    def layer_norm_forward(self, x, weight, bias, eps):
        y = self.mem.empty_like(x)
        mean = self.mem.empty(x.shape[:1], dtype=x.dtype)
        rstd = self.mem.empty(x.shape[:1], dtype=x.dtype)
        self.module.layer_norm_forward(x, weight, bias, y, mean, rstd, eps)
        return y, mean, rstd

    def layer_norm_backward(self, x, mean, rstd, weight, grad_out, need_weight, need_bias):
        gx = self.mem.empty_like(x)
        gw = self.mem.empty(x.shape[1:], dtype=x.dtype) if need_weight else None
        gb = self.mem.empty(x.shape[1:], dtype=x.dtype) if need_bias else None
        self.module.layer_norm_backward(x, mean, rstd, weight, grad_out, gx, gw, gb)
        return gx, gw, gb

    # ---- embedding: weight (num, dim), indices int64 (n,) ------------------------------
    def embedding_forward(self, weight, indices):
        out = self.mem.empty((indices.shape[0], weight.shape[1]), dtype=weight.dtype)
        self.module.embedding_forward(weight, indices, out)
        return out

    def embedding_backward(self, indices, grad_out, num_embeddings, padding_idx):
        gw = self.mem.empty((num_embeddings, grad_out.shape[1]), dtype=grad_out.dtype)
        self.module.embedding_backward(indices, grad_out, gw, padding_idx)
        return gw

    # ---- conv2d: x (N, C, H, W), w (K, C/groups, R, S); geometry as (h, w) pairs ----------
    def conv2d_forward(self, x, w, b, stride, padding, dilation, groups, out_size):
        y = self.mem.empty((x.shape[0], w.shape[0]) + tuple(out_size), dtype=x.dtype)
        self.module.conv2d_forward(x, w, b, y, stride, padding, dilation, groups)
        return y

    def conv2d_backward(self, x, w, grad_out, stride, padding, dilation, groups, need_x=True, need_w=True,
                        need_b=True):
        gx = self.mem.empty_like(x) if need_x else None
        gw = self.mem.empty_like(w) if need_w else None
        gb = self.mem.empty(w.shape[:1], dtype=w.dtype) if need_b else None
        self.module.conv2d_backward(x, w, grad_out, gx, gw, gb, stride, padding, dilation, groups)
        return gx, gw, gb

    # ---- conv_transpose2d: x (N, C_in, H, W), w (C_in, C_out/groups, R, S); (h, w) pairs ---
    def conv_transpose2d_forward(self, x, w, b, stride, padding, dilation, groups, out_size):
        y = self.mem.empty((x.shape[0], w.shape[1] * groups) + tuple(out_size), dtype=x.dtype)
        self.module.conv_transpose2d_forward(x, w, b, y, stride, padding, dilation, groups)
        return y

    def conv_transpose2d_backward(self, x, w, grad_out, stride, padding, dilation, groups, need_x=True, need_w=True,
                                  need_b=True):
        gx = self.mem.empty_like(x) if need_x else None
        gw = self.mem.empty_like(w) if need_w else None
        gb = self.mem.empty(grad_out.shape[1:2], dtype=w.dtype) if need_b else None
        self.module.conv_transpose2d_backward(x, w, grad_out, gx, gw, gb, stride, padding, dilation, groups)
        return gx, gw, gb

    # ---- pool: NCHW planes; max also returns int64 indices (h*W + w in the plane) --------
    def max_pool2d_forward(self, x, kernel, stride, padding, dilation, out_size):
        shape = x.shape[:2] + tuple(out_size)
        y, idx = self.mem.empty(shape, dtype=x.dtype), self.mem.empty(shape, dtype=self.xp.int64)
        self.module.max_pool2d_forward(x, y, idx, kernel, stride, padding, dilation)
        return y, idx

    def max_pool2d_backward(self, indices, grad_out, input_shape, kernel, stride, padding, dilation):
        gx = self.mem.empty(input_shape, dtype=grad_out.dtype)
        self.module.max_pool2d_backward(indices, grad_out, gx, kernel, stride, padding, dilation)
        return gx

    def avg_pool2d_forward(self, x, kernel, stride, padding, count_include_pad, out_size):
        y = self.mem.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
        self.module.avg_pool2d_forward(x, y, kernel, stride, padding, count_include_pad)
        return y

    def avg_pool2d_backward(self, grad_out, input_shape, kernel, stride, padding, count_include_pad):
        gx = self.mem.empty(input_shape, dtype=grad_out.dtype)
        self.module.avg_pool2d_backward(grad_out, gx, kernel, stride, padding, count_include_pad)
        return gx

    # ---- interpolate: NCHW images resized to out_size, nearest or bilinear (scale 0: none given) --
    def interpolate_forward(self, x, out_size, mode, align_corners, scale_h, scale_w):
        y = self.mem.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
        self.module.interpolate_forward(x, y, mode, align_corners, scale_h, scale_w)
        return y

    def interpolate_backward(self, grad_out, input_shape, mode, align_corners, scale_h, scale_w):
        gx = self.mem.empty(input_shape, dtype=grad_out.dtype)
        self.module.interpolate_backward(grad_out, gx, mode, align_corners, scale_h, scale_w)
        return gx

    # ---- batch_norm: x (N, C, L); mean/var (C) written in training, read otherwise -------
    def batch_norm_forward(self, x, weight, bias, mean, var, eps, training):
        y = self.mem.empty_like(x)
        if training:
            mean, var = self.mem.empty(x.shape[1:2], dtype=x.dtype), self.mem.empty(x.shape[1:2], dtype=x.dtype)
        self.module.batch_norm_forward(x, weight, bias, mean, var, y, eps, training)
        return y, mean, var

    def batch_norm_backward(self, x, grad_out, weight, mean, var, eps, training, need_affine=True):
        gx = self.mem.empty_like(x)
        gw = self.mem.empty(x.shape[1:2], dtype=x.dtype) if need_affine else None
        gb = self.mem.empty(x.shape[1:2], dtype=x.dtype) if need_affine else None
        self.module.batch_norm_backward(x, grad_out, weight, mean, var, gx, gw, gb, eps, training)
        return gx, gw, gb

    # ---- dropout: keep-mask (bool, same shape) drawn by the op layer ----------------------
    def dropout_forward(self, x, mask, scale):
        y = self.mem.empty_like(x)
        self.module.dropout_forward(x, mask, y, scale)
        return y

    def dropout_backward(self, mask, grad_out, scale):
        gx = self.mem.empty_like(grad_out)
        self.module.dropout_backward(mask, grad_out, gx, scale)
        return gx

    # ---- cast: float32/float64 <-> bfloat16/float16 (one side low precision), same shape -----
    def cast_forward(self, x, dtype):
        y = self.mem.empty(x.shape, dtype)
        self.module.cast_forward(x, y)
        return y

    def cast_backward(self, grad_out, dtype):
        gx = self.mem.empty(grad_out.shape, dtype)
        self.module.cast_backward(grad_out, gx)
        return gx

    # ---- attention: q/k/v (BH, T, D); mask None or additive, addressed by (sb, sh, sq) strides ----
    def attention_forward(self, q, k, v, mask, H, scale, causal, mask_strides, dropout_p, seed):
        out = self.mem.empty(q.shape[:2] + v.shape[2:], dtype=q.dtype)
        lse = self.mem.empty(q.shape[:2], dtype=q.dtype)
        self.module.attention_forward(q, k, v, mask, out, lse, H, scale, causal, *mask_strides, dropout_p, seed)
        return out, lse

    def attention_backward(self, q, k, v, mask, out, lse, gout, H, scale, causal, mask_strides, dropout_p, seed):
        gq, gk, gv = self.mem.empty_like(q), self.mem.empty_like(k), self.mem.empty_like(v)
        self.module.attention_backward(q, k, v, mask, out, lse, gout, gq, gk, gv, H, scale, causal, *mask_strides,
                                       dropout_p, seed)
        return gq, gk, gv

    # ---- rnn: fused cells and one-direction sequence layers (mode: rnn_tanh | rnn_relu | lstm | gru) --
    _RNN_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}

    def _rnn_take(self, shape, dtype):
        """An array of this shape and dtype: one handed back earlier (host only), else a fresh one."""
        store = self._rnn_store()
        a = store.take((tuple(shape), self.xp.dtype(dtype))) if store is not None else None
        return self.mem.empty(shape, dtype=dtype) if a is None else a

    def _rnn_store(self):
        """The host arrays kept between calls when the host pool is off: a fresh multi-MB np.empty per
        call costs its page faults again (glibc hands big blocks back to the OS). The host pool and
        CuPy's pool already reuse memory."""
        if self.mem is not np:
            return None
        store = self.__dict__.get("_rnn_arrays")
        if store is None:
            store = self.__dict__.setdefault("_rnn_arrays", ArrayCache())
        return store

    def rnn_recycle(self, *arrays):
        """Hands arrays that nothing references any more (a released node's y/c/ws) back for reuse."""
        store = self._rnn_store()
        if store is not None:
            for a in arrays:
                if a is not None and a.base is None:
                    store.give(a)

    def rnn_cell_forward(self, mode, gx, gh, b_ih, b_hh, h_prev, c_prev):
        mem, shape = self.mem, h_prev.shape
        h = mem.empty_like(h_prev)
        c = mem.empty_like(h_prev) if mode == "lstm" else None
        ws = mem.empty((shape[0], 4 * shape[1]), dtype=h_prev.dtype) if mode in ("lstm", "gru") else None
        self.module.rnn_cell_forward(mode, gx, gh, b_ih, b_hh, h_prev, c_prev if mode == "lstm" else None, h, c, ws)
        return h, c, ws

    def rnn_cell_backward(self, mode, ws, h_prev, c_prev, c, h, grad_h, grad_c):
        mem, (n, hs) = self.mem, h.shape
        gates = (n, self._RNN_GATES[mode] * hs)
        lstm, gru = mode == "lstm", mode == "gru"
        dgx = mem.empty(gates, dtype=h.dtype)
        dgh = mem.empty(gates, dtype=h.dtype) if gru else None
        dhp = mem.empty_like(h) if gru else None
        dcp = mem.empty_like(h) if lstm else None
        self.module.rnn_cell_backward(mode, ws, h_prev if gru else None, c_prev if lstm else None,
                                      c if lstm else None, h, grad_h, None, grad_c if lstm else None,
                                      dgx, dgh, dhp, dcp)
        return dgx, dgx if dgh is None else dgh, dhp, dcp

    def rnn_forward(self, mode, reverse, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        (steps, n, _), hs = x.shape, h0.shape[1]
        lstm = mode == "lstm"
        y = self._rnn_take((steps, n, hs), x.dtype)
        cs = self._rnn_take((steps, n, hs), x.dtype) if lstm else None
        ws = self._rnn_take((steps, n, 4 * hs), x.dtype) if mode in ("lstm", "gru") else None
        gx_buf = self._rnn_take((steps, n, w_ih.shape[0]), x.dtype)
        gh_buf = self._rnn_take((n, w_ih.shape[0]), x.dtype)
        self.module.rnn_forward(mode, reverse, x, h0, c0 if lstm else None, w_ih, w_hh, b_ih, b_hh, y, cs, ws,
                                gx_buf, gh_buf)
        self.rnn_recycle(gx_buf, gh_buf)
        return y, cs, ws

    def rnn_backward(self, mode, reverse, x, h0, c0, w_ih, w_hh, y, cs, ws, grad_y, grad_cn):
        mem = self.mem
        lstm = mode == "lstm"
        dx, dh0 = mem.empty_like(x), mem.empty_like(h0)
        dc0 = mem.empty_like(h0) if lstm else None
        dw_ih, dw_hh = mem.empty_like(w_ih), mem.empty_like(w_hh)
        db_ih = mem.empty(w_ih.shape[:1], dtype=x.dtype)
        db_hh = mem.empty(w_ih.shape[:1], dtype=x.dtype)
        dgx_buf = self._rnn_take(x.shape[:2] + w_ih.shape[:1], x.dtype)
        dgh_buf = self._rnn_take(dgx_buf.shape, x.dtype) if mode == "gru" else None
        self.module.rnn_backward(mode, reverse, x, h0, c0 if lstm else None, w_ih, w_hh, y, cs, ws, grad_y,
                                 grad_cn if lstm else None, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dgx_buf, dgh_buf)
        self.rnn_recycle(dgx_buf, dgh_buf)
        return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh
