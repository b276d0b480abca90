"""Mixed precision: autocast regions (PyTorch's op policy) and the GradScaler for float16."""
from .autocast import autocast, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["autocast", "is_autocast_enabled", "GradScaler"]
