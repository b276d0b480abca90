"""ember.nn: modules, layers and losses with PyTorch's names and shapes."""
from . import functional, init, utils
from .container import ModuleDict, ModuleList, Sequential
from .layers import GELU, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module
from .parameter import Parameter
from .layer_norm import LayerNorm  # noqa: E402
from .sparse import Embedding  # noqa: E402
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402
from .conv import Conv2d  # noqa: E402
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: E402
from .normalization import BatchNorm1d, BatchNorm2d  # noqa: E402
from .dropout import Dropout  # noqa: E402
from . import parallel  # noqa: E402
from .sync_batchnorm import SyncBatchNorm  # noqa: E402
