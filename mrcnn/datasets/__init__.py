"""Datasets: the ``Dataset`` base class (Matterport's ``utils.Dataset``), loaders for annotation
formats (COCO, labelme, VIA, mask image folders, YOLO segmentation labels, Pascal VOC instance
PNGs) and a reproducible train/val split.

    from mrcnn.datasets import Dataset

    class MyDataset(Dataset):
        def load_mask(self, image_id): ...

    from mrcnn.datasets import LabelmeDataset, train_val_split
    train, val = train_val_split("signs/", val_fraction=0.2, seed=0, write_to="signs/")
    dataset = LabelmeDataset()
    dataset.load_labelme("signs/", subset="signs/train.txt")
    dataset.prepare()
    dataset.summary()
"""
from mrcnn.datasets.base import Dataset, DatasetError
from mrcnn.datasets.coco import CocoDataset
from mrcnn.datasets.labelme import LabelmeDataset
from mrcnn.datasets.mask_folder import MaskFolderDataset
from mrcnn.datasets.split import train_val_split
from mrcnn.datasets.via import ViaDataset
from mrcnn.datasets.voc import VocInstanceDataset
from mrcnn.datasets.yolo import YoloSegDataset

__all__ = ["Dataset", "DatasetError", "CocoDataset", "LabelmeDataset", "ViaDataset",
           "MaskFolderDataset", "YoloSegDataset", "VocInstanceDataset", "train_val_split"]
