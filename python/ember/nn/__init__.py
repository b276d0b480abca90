"""ember.nn: modules, layers and losses with PyTorch's names and shapes."""
from . import functional, init, utils
from .container import ModuleDict, ModuleList, Sequential
from .layers import GELU, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module
from .parameter import Parameter
from .layer_norm import LayerNorm
from .sparse import Embedding
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .conv import Conv2d
from .conv_transpose2d import ConvTranspose2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .normalization import BatchNorm1d, BatchNorm2d
from .dropout import Dropout
from .activation import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from . import parallel
from .sync_batchnorm import SyncBatchNorm
# ---- PyTorch's names ----
from .dropout import Dropout2d
# Keras-style linear models (fit/predict on NumPy arrays)
from .linear_models import LinearRegression, LogisticRegression
# ---- activations (elu, silu, softplus, hardtanh, relu6) and upsampling ----
from .layers import ELU, Hardtanh, ReLU6, SiLU, Softplus
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
