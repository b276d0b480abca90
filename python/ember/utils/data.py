"""ember.utils.data: PyTorch's import path for datasets, samplers and the DataLoader."""
from ..data import *  # noqa: F403  (the same names as ember.data)
from ..data import __all__  # noqa: F401
