"""Snapshot of the public names Matterport users import (DESIGN §2)."""
import importlib

import pytest

MATTERPORT_NAMES = {
    "mrcnn.utils": [
        "Dataset", "extract_bboxes", "compute_iou", "compute_overlaps", "compute_overlaps_masks",
        "non_max_suppression", "apply_box_deltas", "box_refinement", "resize_image",
        "resize_mask", "minimize_mask", "expand_mask", "unmold_mask", "generate_anchors",
        "generate_pyramid_anchors", "norm_boxes", "denorm_boxes", "trim_zeros",
        "compute_matches", "compute_ap", "compute_ap_range", "compute_recall",
        "download_trained_weights", "COCO_MODEL_URL", "resize", "batch_slice",
    ],
    "mrcnn.model": [
        "MaskRCNN", "load_image_gt", "mold_image", "unmold_image", "compose_image_meta",
        "parse_image_meta", "parse_image_meta_graph", "log", "data_generator",
        "build_rpn_targets", "generate_random_rois", "build_detection_targets", "BatchNorm",
        "ProposalLayer", "PyramidROIAlign", "DetectionTargetLayer", "DetectionLayer",
        "resnet_graph", "identity_block", "conv_block", "rpn_graph", "build_rpn_model",
        "fpn_classifier_graph", "build_fpn_mask_graph", "norm_boxes_graph",
        "denorm_boxes_graph", "apply_box_deltas_graph", "clip_boxes_graph", "overlaps_graph",
        "box_refinement_graph", "trim_zeros_graph", "smooth_l1_loss", "rpn_class_loss_graph",
        "rpn_bbox_loss_graph", "mrcnn_class_loss_graph", "mrcnn_bbox_loss_graph",
        "mrcnn_mask_loss_graph",
    ],
    "mrcnn.config": ["Config"],
}

MASKRCNN_METHODS = [
    "detect", "detect_molded", "load_weights", "save_weights", "find_last",
    "get_imagenet_weights", "set_trainable", "set_log_dir", "mold_inputs", "unmold_detections",
    "get_anchors", "run_graph", "build",
]

DATASET_API = ["add_class", "add_image", "prepare", "load_image", "load_mask", "image_reference",
               "map_source_class_id", "get_source_class_id", "source_image_link", "append_data"]


@pytest.mark.parametrize("module", sorted(MATTERPORT_NAMES))
def test_module_exports(module):
    mod = importlib.import_module(module)
    for name in MATTERPORT_NAMES[module]:
        assert hasattr(mod, name), f"{module}.{name}"
    exported = getattr(mod, "__all__", None)
    if exported is not None:
        assert not set(MATTERPORT_NAMES[module]) - set(exported)
        for name in exported:
            assert hasattr(mod, name), f"{module}.__all__ lists missing {name}"


def test_maskrcnn_and_dataset_methods():
    from mrcnn.model import MaskRCNN
    from mrcnn.utils import Dataset
    for name in MASKRCNN_METHODS:
        assert callable(getattr(MaskRCNN, name)), name
    dataset = Dataset()
    for name in DATASET_API:
        assert callable(getattr(dataset, name)), name
    dataset.prepare()
    assert list(dataset.class_names) == ["BG"] and list(dataset.image_ids) == []


def test_config_computed_attributes():
    from mrcnn.config import Config

    class C(Config):
        NAME = "c"
        NUM_CLASSES = 3
        GPU_COUNT = 2
        IMAGES_PER_GPU = 3

    c = C()
    assert c.BATCH_SIZE == 6 and list(c.IMAGE_SHAPE) == [1024, 1024, 3]
    assert c.IMAGE_META_SIZE == 12 + 3 and c.RPN_ANCHOR_STRIDE == 2
