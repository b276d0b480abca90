"""The `numpy` device: every heavy op computed the plain way with NumPy.

This is the reference each kernel is tested against, so it favours the
obvious formula over speed. Each module has the stem of its kernel file
(csrc/cpu/<stem>.cpp, csrc/cuda/<stem>.cu) and the same function names as
the kernel backends' wrappers in backends/kernel.py.
"""
from .activations import *  # noqa: F401,F403
from .cross_entropy import *  # noqa: F401,F403
from .matmul import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .conv2d import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .batch_norm import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .layer_norm import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
