"""Tests of mrcnn.data.roi_targets: random ROIs and the NumPy detection targets."""
import math

import numpy as np
import pytest

from mrcnn.data.roi_targets import build_detection_targets, generate_random_rois

IMAGE_SHAPE = (64, 64, 3)
GT_BOX = [10, 10, 20, 20]


# ---------------------------------------------------------------- generate_random_rois
def test_random_rois_around_gt_and_anywhere():
    rois = generate_random_rois(IMAGE_SHAPE, 20, np.array([1]), np.array([GT_BOX]),
                                rng=np.random.default_rng(0))
    assert rois.shape == (20, 4) and rois.dtype == np.int32
    y1, x1, y2, x2 = rois.T
    assert np.all((y2 > y1) & (x2 > x1))                      # at least 1 pixel
    assert np.all((rois >= 0) & (rois <= 63))
    # int(0.9 * 20 / 1) = 18 ROIs around the box: drawn in the box grown by its size,
    # [10 - 10, 20 + 10) = [0, 30) on both axes, so every coordinate is <= 29.
    assert rois[:18].max() <= 29
    # The last 2 are drawn anywhere; over many draws some leave the [0, 30) range.
    many = generate_random_rois(IMAGE_SHAPE, 200, np.array([1]), np.array([GT_BOX]),
                                rng=np.random.default_rng(1))
    assert many[:180].max() <= 29 and many[180:].max() > 29


def test_random_rois_per_box_blocks():
    # Two boxes, count 10: int(0.9 * 10 / 2) = 4 per box, rows 0..3 around box 0, rows 4..7
    # around box 1 (height 8: [40 - 8, 48 + 8) = [32, 56)), rows 8..9 anywhere.
    gt_boxes = np.array([GT_BOX, [40, 40, 48, 48]])
    rois = generate_random_rois(IMAGE_SHAPE, 10, np.array([1, 2]), gt_boxes,
                                rng=np.random.default_rng(3))
    assert rois[:4].max() <= 29
    assert rois[4:8].min() >= 32 and rois[4:8].max() <= 55


def test_random_rois_without_gt():
    # Matterport divided by zero here; now all ROIs are drawn anywhere.
    rois = generate_random_rois(IMAGE_SHAPE, 7, np.zeros([0], np.int32),
                                np.zeros([0, 4], np.int32), rng=np.random.default_rng(0))
    assert rois.shape == (7, 4)
    assert np.all((rois[:, 2] > rois[:, 0]) & (rois[:, 3] > rois[:, 1]))


def test_random_rois_reproducible_and_validated():
    args = (IMAGE_SHAPE, 12, np.array([1]), np.array([GT_BOX]))
    a = generate_random_rois(*args, rng=np.random.default_rng(5))
    b = generate_random_rois(*args, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="at least 2x2"):
        generate_random_rois((1, 64, 3), 5, np.array([1]), np.array([[0, 0, 1, 1]]))
    with pytest.raises(ValueError, match="gt_class_ids has"):
        generate_random_rois(IMAGE_SHAPE, 5, np.array([1, 2]), np.array([GT_BOX]))


def test_random_rois_box_on_the_border():
    # A 1-pixel box in the corner: range [max(63 - 1, 0), min(64 + 1, 64)) = [62, 64) holds
    # exactly one ROI span per axis, 62..63.
    rois = generate_random_rois(IMAGE_SHAPE, 10, np.array([1]), np.array([[63, 63, 64, 64]]),
                                rng=np.random.default_rng(0))
    np.testing.assert_array_equal(rois[:9], [[62, 62, 63, 63]] * 9)


# ---------------------------------------------------------------- build_detection_targets
@pytest.fixture
def config(helpers):
    config = helpers.TinyConfig()
    config.TRAIN_ROIS_PER_IMAGE = 4
    config.ROI_POSITIVE_RATIO = 0.5     # at most int(4 * 0.5) = 2 foreground ROIs
    config.USE_MINI_MASK = False
    return config


def full_size_gt():
    mask = np.zeros((64, 64, 1), dtype=bool)
    mask[10:20, 10:20, 0] = True
    return np.array([2], np.int32), np.array([GT_BOX], np.int32), mask


def test_detection_targets_by_hand(config):
    gt_class_ids, gt_boxes, gt_masks = full_size_gt()
    rois = np.array([
        [10, 10, 20, 20],   # IoU 1                                   -> foreground
        [10, 10, 20, 22],   # intersection 100, union 120, IoU 0.83   -> foreground
        [40, 40, 50, 50],   # IoU 0                                   -> background
    ], dtype=np.int32)
    out_rois, class_ids, bboxes, masks = build_detection_targets(
        rois, gt_class_ids, gt_boxes, gt_masks, config, rng=np.random.default_rng(0))
    # 2 foreground (fewer than the cap, kept in order), 1 background, and 4 - 3 = 1 more
    # ROI repeated from the background ones.
    np.testing.assert_array_equal(out_rois, [rois[0], rois[1], rois[2], rois[2]])
    np.testing.assert_array_equal(class_ids, [2, 2, 0, 0])
    assert class_ids.dtype == np.int32
    assert bboxes.shape == (4, 3, 4) and bboxes.dtype == np.float32
    # ROI 1: h = 10, w = 12, centre (15, 16); GT centre (15, 15), size 10:
    #   (0, (15 - 16) / 12, log(1), log(10 / 12)) / BBOX_STD_DEV (0.1, 0.1, 0.2, 0.2).
    np.testing.assert_allclose(bboxes[1, 2], [0, (-1 / 12) / 0.1, 0, math.log(10 / 12) / 0.2],
                               rtol=1e-6)
    assert not bboxes[0].any()                        # exact match
    assert not bboxes[:, [0, 1]].any() and not bboxes[2:].any()
    assert masks.shape == (4, 28, 28, 3) and masks.dtype == np.float32
    np.testing.assert_array_equal(masks[0, :, :, 2], 1)   # ROI 0 is exactly the GT mask
    # ROI 1 crops the mask to 10x12 with cols 10, 11 empty. The bilinear resize to 28x28
    # samples output col j at input x = (j + 0.5) * 12 / 28 - 0.5 (rows: y = (i + 0.5) *
    # 10 / 28 - 0.5): cols 1..21 (x in [0.14, 8.71]) and rows 1..26 (y in [0.04, 8.96]) lie
    # inside the filled part -> 1; cols 24..27 (x >= 10) lie in the empty part -> 0. Border
    # samples (x or y outside [0, 9]) blend with the zero border, as skimage does.
    np.testing.assert_array_equal(masks[1, 1:27, 1:22, 2], 1)
    np.testing.assert_array_equal(masks[1, :, 24:, 2], 0)
    assert not masks[:, :, :, [0, 1]].any() and not masks[2:].any()


def test_detection_targets_from_mini_masks(config):
    config.USE_MINI_MASK = True
    mini = np.ones((16, 16, 1), dtype=bool)
    _, class_ids, _, masks = build_detection_targets(
        np.array([GT_BOX], np.int32), np.array([1], np.int32), np.array([GT_BOX], np.int32),
        mini, config, rng=np.random.default_rng(0))
    # The ROI is the GT box, kept and repeated 3 times (no background ROI to repeat).
    np.testing.assert_array_equal(class_ids, [1, 1, 1, 1])
    np.testing.assert_array_equal(masks[:, :, :, 1], 1)


def test_detection_targets_foreground_capped(config):
    gt_class_ids, gt_boxes, gt_masks = full_size_gt()
    rois = np.array([GT_BOX] * 5 + [[40, 40, 50, 50]] * 3, np.int32)
    _, class_ids, _, _ = build_detection_targets(rois, gt_class_ids, gt_boxes, gt_masks, config,
                                                 rng=np.random.default_rng(0))
    np.testing.assert_array_equal(class_ids, [2, 2, 0, 0])


def test_detection_targets_without_instances(config):
    # Matterport asserted "Image must contain instances"; now all ROIs are background.
    rois = np.array([GT_BOX, [40, 40, 50, 50]], np.int32)
    for gt_class_ids, gt_boxes, gt_masks in [
            (np.zeros([0], np.int32), np.zeros([0, 4], np.int32), np.zeros((64, 64, 0), bool)),
            # only a crowd: ignored like padding
            (np.array([-1], np.int32), np.array([GT_BOX], np.int32),
             np.ones((64, 64, 1), bool))]:
        out_rois, class_ids, bboxes, masks = build_detection_targets(
            rois, gt_class_ids, gt_boxes, gt_masks, config, rng=np.random.default_rng(0))
        assert out_rois.shape == (4, 4)
        np.testing.assert_array_equal(class_ids, [0, 0, 0, 0])
        assert not bboxes.any() and not masks.any()


def test_detection_targets_bad_input(config):
    gt_class_ids, gt_boxes, gt_masks = full_size_gt()
    with pytest.raises(ValueError, match="rpn_rois must have shape"):
        build_detection_targets(np.zeros([0, 4], np.int32), gt_class_ids, gt_boxes, gt_masks,
                                config)
    with pytest.raises(TypeError, match="gt_boxes must be an integer array"):
        build_detection_targets(np.array([GT_BOX]), gt_class_ids, gt_boxes.astype(np.float32),
                                gt_masks, config)
    with pytest.raises(TypeError, match="gt_masks must be a bool array"):
        build_detection_targets(np.array([GT_BOX]), gt_class_ids, gt_boxes,
                                gt_masks.astype(np.uint8), config)
    with pytest.raises(ValueError, match="disagree"):
        build_detection_targets(np.array([GT_BOX]), np.array([1, 2], np.int32), gt_boxes,
                                gt_masks, config)
