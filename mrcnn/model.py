"""Matterport's ``mrcnn.model``: the ``MaskRCNN`` class, the data functions its notebooks call,
and the graph's layers and functions under their old names.

A thin facade over :mod:`mrcnn.maskrcnn`, :mod:`mrcnn.data`, :mod:`mrcnn.graph`,
:mod:`mrcnn.layers` and :mod:`mrcnn.ops`.
"""
from mrcnn.core.anchors import compute_backbone_shapes
from mrcnn.core.images import mold_image, unmold_image
from mrcnn.core.meta import compose_image_meta, parse_image_meta
from mrcnn.data.image_gt import load_image_gt
from mrcnn.data.pipeline import DataSequence, build_batch, data_generator
from mrcnn.data.roi_targets import build_detection_targets, generate_random_rois
from mrcnn.data.rpn_targets import build_rpn_targets
from mrcnn.graph.build import build_graph
from mrcnn.graph.fpn import fpn_graph
from mrcnn.graph.heads import build_fpn_mask_graph, fpn_classifier_graph
from mrcnn.graph.resnet import conv_block, identity_block, resnet_graph
from mrcnn.graph.rpn import build_rpn_model, rpn_graph
from mrcnn.layers.anchors import AnchorsLayer
from mrcnn.layers.batch_norm import BatchNorm
from mrcnn.layers.detection import DetectionLayer, refine_detections_graph
from mrcnn.layers.detection_target import DetectionTargetLayer, detection_targets_graph
from mrcnn.layers.losses import (
    mrcnn_bbox_loss_graph,
    mrcnn_class_loss_graph,
    mrcnn_mask_loss_graph,
    rpn_bbox_loss_graph,
    rpn_class_loss_graph,
    smooth_l1_loss,
)
from mrcnn.layers.proposal import ProposalLayer
from mrcnn.layers.roi_align import PyramidROIAlign
from mrcnn.maskrcnn import MaskRCNN, log
from mrcnn.ops.boxes import (
    apply_box_deltas_graph,
    box_refinement_graph,
    clip_boxes_graph,
    denorm_boxes_graph,
    norm_boxes_graph,
    overlaps_graph,
    trim_zeros_graph,
)
from mrcnn.ops.meta import parse_image_meta_graph

__all__ = [
    "MaskRCNN", "log",
    "load_image_gt", "data_generator", "DataSequence", "build_batch", "build_rpn_targets",
    "generate_random_rois", "build_detection_targets",
    "mold_image", "unmold_image", "compose_image_meta", "parse_image_meta",
    "compute_backbone_shapes",
    "parse_image_meta_graph",
    "build_graph", "resnet_graph", "identity_block", "conv_block", "fpn_graph", "rpn_graph",
    "build_rpn_model", "fpn_classifier_graph", "build_fpn_mask_graph",
    "BatchNorm", "AnchorsLayer", "ProposalLayer", "PyramidROIAlign", "DetectionTargetLayer",
    "DetectionLayer", "detection_targets_graph", "refine_detections_graph",
    "smooth_l1_loss", "rpn_class_loss_graph", "rpn_bbox_loss_graph", "mrcnn_class_loss_graph",
    "mrcnn_bbox_loss_graph", "mrcnn_mask_loss_graph",
    "apply_box_deltas_graph", "clip_boxes_graph", "overlaps_graph", "box_refinement_graph",
    "trim_zeros_graph", "norm_boxes_graph", "denorm_boxes_graph",
]
