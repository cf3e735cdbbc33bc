"""Data pipelines: datasets, batching with ``DataLoader``, seeded splits, standardisation."""

from .dataset import Dataset, Subset, TensorDataset
from .loader import DataLoader
from .preprocessing import Standardizer
from .split import random_split, train_test_split

__all__ = [
    "DataLoader",
    "Dataset",
    "Standardizer",
    "Subset",
    "TensorDataset",
    "random_split",
    "train_test_split",
]
