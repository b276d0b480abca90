"""ember.nn: modules, layers and losses with PyTorch's names and shapes."""
from . import functional, init
from .container import ModuleList, Sequential
from .layers import GELU, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .loss import CrossEntropyLoss, L1Loss, MSELoss
from .module import Module
from .parameter import Parameter
