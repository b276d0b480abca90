"""ember: a small deep-learning framework whose kernels are written by hand.

    import ember as em
    x = em.randn(4, 3, requires_grad=True)
    (x @ x.T).sum().backward()
"""
from . import backends
from .autograd import enable_grad, is_grad_enabled, no_grad
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
from .serialization import load, save  # noqa: E402

# the host memory pool: ember.cpu.memory_stats(), ember.cpu.empty_cache()
from . import cpu  # noqa: E402
