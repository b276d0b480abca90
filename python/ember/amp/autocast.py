"""ember.autocast: PyTorch's automatic mixed precision regions, with its CPU op policy.

Inside a region each op's floating inputs are cast per call (fp32 parameters stay fp32; the
cast copies are what the op reads, differentiably, so gradients reach the parameters in fp32):

- lower precision (the region's dtype): matmul/mm/bmm, linear, conv2d, conv_transpose2d,
  addmm/baddbmm (ember spells them with matmul), RNNCell (tanh/relu), the RNN/LSTM/GRU layers,
  scaled_dot_product_attention;
- float32 for LSTMCell/GRUCell, as PyTorch's CPU autocast returns them (ember's cells are two
  linears and a gate node: the linears run in the low dtype, the gate node in float32);
- float32: cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy,
  binary_cross_entropy_with_logits;
- the widest input dtype: cat, stack, where (and +, -, *, / always promote as PyTorch does);
- every other op runs in its inputs' dtype (softmax, layer_norm, batch_norm, sum/mean and the
  activations of a bfloat16 tensor stay bfloat16, as PyTorch 2.13's CPU autocast leaves them).
float64 and non-floating inputs are never cast. The cast of a leaf that requires grad (a
parameter) is made once per region and reused, as PyTorch caches it.

device_type "cpu" covers ember's host devices (cpu, numpy), "cuda" covers cuda and cuda-emu.
"""
import functools
import threading

from .. import autograd
from ..tensor import bfloat16, float16, float32, float64, is_floating, promote_types

_LOWER = {"MatMulBackward", "LinearBackward", "Conv2dBackward", "ConvTranspose2dBackward", "RNNLayerBackward",
          "AttentionBackward"}
_FP32 = {"CrossEntropyBackward", "NLLLossBackward", "MSELossBackward", "L1LossBackward", "SmoothL1LossBackward",
         "BCELossBackward", "BCEWithLogitsLossBackward"}
_PROMOTE = {"CatBackward", "StackBackward", "WhereBackward"}
_DEVICES = {"cpu": ("cpu", "numpy"), "cuda": ("cuda", "cuda-emu")}

_local = threading.local()  # .stack: the open regions of this thread, innermost last
_open = 0  # regions open in all threads: apply's hook is installed while there are any
_lock = threading.Lock()


def _policy(cls, kwargs):
    name = cls.__name__
    if name in _LOWER:
        return "lower"
    if name == "RNNCellBackward":  # PyTorch lowers RNNCell; LSTMCell/GRUCell give float32
        return "lower" if str(kwargs.get("mode", "")).startswith("rnn") else "fp32"
    if name in _FP32:
        return "fp32"
    if name in _PROMOTE:
        return "promote"
    return None


def _hook(cls, inputs, kwargs):
    stack = getattr(_local, "stack", None)
    if not stack:
        return inputs
    region = stack[-1]
    if not region.enabled:
        return inputs
    kind = _policy(cls, kwargs)
    if kind is None:
        return inputs
    if kind == "lower":
        dtype = region.dtype
    elif kind == "fp32":
        dtype = float32
    else:
        dtype = functools.reduce(promote_types, [t.dtype for t in inputs if is_floating(t.dtype)], inputs[0].dtype)
    return tuple(region.cast(t, dtype) for t in inputs)


class autocast:
    """A region (context manager or decorator) where ops run in mixed precision.

    Args:
        device_type: "cpu" or "cuda".
        dtype: ember.bfloat16 or ember.float16 (default: bfloat16 for "cpu", float16 for "cuda", as PyTorch).
        enabled: False makes the region a no-op (and disables an enclosing one inside it).
        cache_enabled: reuse the cast of each parameter within the region.

    Example:
        with ember.autocast("cpu", dtype=ember.bfloat16):
            loss = F.cross_entropy(model(x), y)   # linear layers in bf16, the loss in fp32
    """

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=True):
        from ..tensor import as_dtype
        if device_type not in _DEVICES:
            raise ValueError(f"[autocast] device_type must be 'cpu' or 'cuda', got {device_type!r}")
        if dtype is None:  # PyTorch's defaults: bfloat16 on the CPU, float16 on CUDA
            dtype = bfloat16 if device_type == "cpu" else float16
        dtype = as_dtype(dtype)
        if dtype not in (bfloat16, float16):
            raise ValueError(f"[autocast] dtype must be ember.bfloat16 or ember.float16, got {dtype}")
        if not isinstance(enabled, bool):
            raise TypeError(f"[autocast] enabled must be a bool, got {type(enabled).__name__}")
        self.device_type, self.dtype, self.enabled, self.cache_enabled = device_type, dtype, enabled, cache_enabled
        self._cache = {}

    def cast(self, t, dtype):
        """t as dtype for an op in this region (t itself for non-floating, float64 or other-device tensors)."""
        if t.dtype == dtype or not is_floating(t.dtype) or t.dtype == float64:
            return t
        if t.device not in _DEVICES[self.device_type]:
            return t
        leaf = self.cache_enabled and t.requires_grad and t._ctx is None and autograd.is_grad_enabled()
        if leaf:
            key = (id(t), dtype)
            hit = self._cache.get(key)
            if hit is not None and hit[0] is t and hit[1] == t._version[0]:
                return hit[2]
        out = t.to(dtype=dtype)
        if leaf:
            self._cache[key] = (t, t._version[0], out)
        return out

    def __enter__(self):
        global _open
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(self)
        with _lock:
            _open += 1
            autograd._autocast = _hook
        return self

    def __exit__(self, *exc):
        global _open
        _local.stack.pop()
        self._cache.clear()
        with _lock:
            _open -= 1
            if _open == 0:
                autograd._autocast = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.dtype, self.enabled, self.cache_enabled):
                return fn(*args, **kwargs)
        return wrapper


def to_float32(*tensors):
    """The tensors as the float32 policy casts them when this thread is in an enabled region (for
    the ops that are compositions, with no Function of their own: nll_loss); else unchanged."""
    stack = getattr(_local, "stack", None)
    if not stack or not stack[-1].enabled:
        return tensors if len(tensors) != 1 else tensors[0]
    out = tuple(stack[-1].cast(t, float32) for t in tensors)
    return out if len(out) != 1 else out[0]


def is_autocast_enabled(device_type="cpu"):
    """Whether this thread is inside an enabled autocast region for device_type."""
    stack = getattr(_local, "stack", None)
    return bool(stack) and stack[-1].enabled and stack[-1].device_type == device_type
