"""Datasets: the ``Dataset`` base class (Matterport's ``utils.Dataset``) and loaders for
annotation formats and sample data built on it.

    from mrcnn.datasets import Dataset

    class MyDataset(Dataset):
        def load_mask(self, image_id): ...
"""
from mrcnn.datasets.base import Dataset, DatasetError

__all__ = ["Dataset", "DatasetError"]
