"""ember: a small deep-learning framework whose kernels are written by hand.

    import ember as em
    x = em.randn(4, 3, requires_grad=True)
    (x @ x.T).sum().backward()
"""
from . import backends
from .autograd import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad
from .backends import available_devices, get_default_device, set_default_device
from .creation import (arange, empty, eye, full, full_like, linspace, ones, ones_like, rand, randint, randn,
                       randperm, zeros, zeros_like)
from .ops import (argmax, argmin, cat, clip, exp, expand, flatten, log, matmul, max, mean, min, permute, reshape,
                  sqrt, squeeze, stack, std, sum, transpose, unsqueeze, var, where)
from .ops import abs_ as abs
from .random import manual_seed
from .tensor import Tensor, as_dtype, bool_, float32, float64, from_dlpack, from_numpy, int64, tensor

clamp = clip
float = float32  # torch.float
double = float64
long = int64
__version__ = "0.1.0"


def set_num_threads(n):
    """Threads used by the cpu kernels (OpenMP)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"[set_num_threads] n must be a positive int, got {n!r}")
    if backends.is_available("cpu"):
        backends.get_backend("cpu").ops.module.set_num_threads(n)


def get_num_threads():
    return backends.get_backend("cpu").ops.module.get_num_threads() if backends.is_available("cpu") else 1


from . import cuda, data, nn, optim, testing  # noqa: E402  (they import the names above)

# ---- low precision and mixed precision ----
from .tensor import bfloat16, float16, is_floating, promote_types  # noqa: E402
half = float16
from . import amp  # noqa: E402
from .amp import autocast  # noqa: E402
# ---- end low precision ----
from .serialization import load, save  # noqa: E402

# ---- PyTorch's names: devices, top-level ops ----------------------------------------------------------
from . import accelerator  # noqa: E402
from .creation import rand_like, randn_like  # noqa: E402
from .device import device  # noqa: E402
from .ops import eq, ge, gt, le, log_softmax, lt, ne, relu, sigmoid, softmax, tanh  # noqa: E402
from .ops.index import argsort, cumsum, gather, masked_fill, scatter, scatter_add, sort, topk  # noqa: E402
from .ops.linalg import bmm, einsum, mm, norm, t  # noqa: E402
from .ops.pointwise import expm1, log1p  # noqa: E402
from .ops.reduce import all, any  # noqa: E402  (as torch.all and torch.any)
from .ops.views import chunk, clone, narrow, split  # noqa: E402
from .tensor import int32  # noqa: E402
# the Keras 3 API on ember (`from ember import keras`)
from . import keras  # noqa: E402


_SHADOWING = {"bool": bool_, "int": int32}  # torch.bool, torch.int: globals here would shadow the builtins


def __getattr__(name):
    if name in _SHADOWING:
        return _SHADOWING[name]
    # ember.onnx needs the optional onnx package, so it is imported on first use (em.onnx.export, as torch.onnx)
    if name == "onnx":
        import importlib
        return importlib.import_module(".onnx", __name__)
    raise AttributeError(f"module 'ember' has no attribute {name!r}")

# the host memory pool: ember.cpu.memory_stats(), ember.cpu.empty_cache()
from . import cpu  # noqa: E402
