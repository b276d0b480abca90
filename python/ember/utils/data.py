"""ember.utils.data: PyTorch's import path for datasets, samplers and the DataLoader."""
from ..data.loader import DataLoader, Dataset, Subset, TensorDataset, random_split
from ..data.sampler import DistributedSampler, Sampler

__all__ = ["DataLoader", "Dataset", "DistributedSampler", "Sampler", "Subset", "TensorDataset", "random_split"]
