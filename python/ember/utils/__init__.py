"""ember.utils: PyTorch's utils namespace (ember.utils.data)."""
from . import data

__all__ = ["data"]
