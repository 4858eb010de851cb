"""Matterport's ``mrcnn.utils``: the Dataset base class and the NumPy utilities, same names.

A thin facade over :mod:`mrcnn.core` (boxes, masks, images, anchors, metrics),
:mod:`mrcnn.datasets.base` and :mod:`mrcnn.download`. Importing it does not import TensorFlow;
``batch_slice`` (a TensorFlow helper) is loaded on first use.
"""
from mrcnn.core.anchors import compute_backbone_shapes, generate_anchors, generate_pyramid_anchors
from mrcnn.core.boxes import (
    apply_box_deltas,
    box_refinement,
    compute_iou,
    compute_overlaps,
    denorm_boxes,
    extract_bboxes,
    non_max_suppression,
    norm_boxes,
    trim_zeros,
)
from mrcnn.core.images import resize, resize_image
from mrcnn.core.masks import (
    compute_overlaps_masks,
    expand_mask,
    minimize_mask,
    resize_mask,
    unmold_mask,
)
from mrcnn.core.metrics import compute_ap, compute_ap_range, compute_matches, compute_recall
from mrcnn.datasets.base import Dataset, DatasetError
from mrcnn.download import COCO_MODEL_URL, DownloadError, download_trained_weights

__all__ = [
    "Dataset", "DatasetError",
    "extract_bboxes", "compute_iou", "compute_overlaps", "compute_overlaps_masks",
    "non_max_suppression", "apply_box_deltas", "box_refinement", "norm_boxes", "denorm_boxes",
    "trim_zeros",
    "resize", "resize_image", "resize_mask", "minimize_mask", "expand_mask", "unmold_mask",
    "generate_anchors", "generate_pyramid_anchors", "compute_backbone_shapes",
    "compute_matches", "compute_ap", "compute_ap_range", "compute_recall",
    "COCO_MODEL_URL", "DownloadError", "download_trained_weights",
    "batch_slice",
]


def __getattr__(name):
    if name == "batch_slice":
        from mrcnn.ops.batch import batch_slice
        return batch_slice
    raise AttributeError(f"module 'mrcnn.utils' has no attribute {name!r}")
