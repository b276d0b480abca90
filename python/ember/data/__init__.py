"""ember.data: datasets and batching."""
from . import datasets
from .loader import DataLoader, Dataset, Subset, TensorDataset, random_split
from .sampler import DistributedSampler, Sampler
