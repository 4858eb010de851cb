"""Tests of mrcnn.data.rpn_targets.build_rpn_targets on hand-built anchors."""
import math

import numpy as np
import pytest

from mrcnn.data.rpn_targets import build_rpn_targets

IMAGE_SHAPE = (64, 64, 3)
GT_BOX = [0, 0, 10, 10]
ANCHORS = np.array([
    [0, 0, 10, 10],    # a0: IoU 1 with GT_BOX                              -> positive
    [0, 0, 10, 12],    # a1: intersection 100, union 120, IoU 0.83 >= 0.7   -> positive
    [0, 5, 10, 15],    # a2: intersection 50, union 150, IoU 0.33           -> neutral
    [20, 20, 30, 30],  # a3: IoU 0 < 0.3                                    -> negative
    [40, 40, 50, 50],  # a4: IoU 0                                          -> negative
], dtype=np.float64)


@pytest.fixture
def config(helpers):
    config = helpers.TinyConfig()
    config.RPN_TRAIN_ANCHORS_PER_IMAGE = 8
    return config


def test_positive_negative_neutral_and_deltas(config):
    rpn_match, rpn_bbox = build_rpn_targets(IMAGE_SHAPE, ANCHORS, np.array([1]),
                                            np.array([GT_BOX]), config)
    assert rpn_match.dtype == np.int32 and rpn_bbox.dtype == np.float32
    np.testing.assert_array_equal(rpn_match, [1, 1, 0, -1, -1])
    assert rpn_bbox.shape == (8, 4)
    # Row 0: a0 equals the GT box, zero deltas.
    # Row 1: a1 has h = 10, w = 12, centre (5, 6); the GT has h = w = 10, centre (5, 5):
    #   dy = 0, dx = (5 - 6) / 12, dh = log(10 / 10) = 0, dw = log(10 / 12),
    #   divided by RPN_BBOX_STD_DEV (0.1, 0.1, 0.2, 0.2): (0, -0.8333, 0, -0.9116).
    expected = [[0, 0, 0, 0],
                [0, (-1 / 12) / 0.1, 0, math.log(10 / 12) / 0.2]]
    np.testing.assert_allclose(rpn_bbox[:2], expected, rtol=1e-6)
    np.testing.assert_allclose(rpn_bbox[1], [0, -0.833333, 0, -0.911608], atol=1e-6)
    assert not rpn_bbox[2:].any()   # padding


def test_each_gt_gets_its_best_anchor_even_below_threshold(config):
    # GT (20, 20, 25, 25): its best anchor a3 has IoU 25 / 100 = 0.25 < 0.3, which would make
    # a3 negative; as the GT's best anchor it is positive instead.
    rpn_match, rpn_bbox = build_rpn_targets(IMAGE_SHAPE, ANCHORS, np.array([1, 2]),
                                            np.array([GT_BOX, [20, 20, 25, 25]]), config)
    np.testing.assert_array_equal(rpn_match, [1, 1, 0, 1, -1])
    # a3 -> GT (20, 20, 25, 25): centres 25 vs 22.5, sizes 10 vs 5:
    #   dy = dx = (22.5 - 25) / 10 = -0.25 -> / 0.1 = -2.5; dh = dw = log(0.5) -> / 0.2.
    np.testing.assert_allclose(rpn_bbox[2], [-2.5, -2.5, math.log(0.5) / 0.2,
                                             math.log(0.5) / 0.2], rtol=1e-6)


def test_tied_best_anchors_are_all_positive(config):
    # Both anchors overlap the GT (0, 0, 10, 10) with IoU 50 / 150 = 1/3: both are its best.
    anchors = np.array([[0, 5, 10, 15], [5, 0, 15, 10], [40, 40, 50, 50]], dtype=np.float64)
    rpn_match, _ = build_rpn_targets(IMAGE_SHAPE, anchors, np.array([1]), np.array([GT_BOX]),
                                     config)
    np.testing.assert_array_equal(rpn_match, [1, 1, -1])


def test_crowds_are_not_negative_and_not_positive(config):
    # Crowd (40, 40, 50, 50): a4 (IoU 1) and a5 (intersection 25, union 175, IoU 0.14 >=
    # 0.001) can not be negative; the crowd is no GT box, so a4 is not positive either.
    anchors = np.concatenate([ANCHORS, [[45, 45, 55, 55]]])
    rpn_match, _ = build_rpn_targets(IMAGE_SHAPE, anchors, np.array([1, -1]),
                                     np.array([GT_BOX, [40, 40, 50, 50]]), config)
    np.testing.assert_array_equal(rpn_match, [1, 1, 0, -1, 0, 0])


def test_positives_capped_at_half(config):
    # Five anchors equal to the GT box (IoU 1) and three far away. With 4 training anchors at
    # most 4 // 2 = 2 stay positive (3 become neutral) and 4 - 2 = 2 negatives remain.
    config.RPN_TRAIN_ANCHORS_PER_IMAGE = 4
    anchors = np.array([GT_BOX] * 5 + [[30, 30, 40, 40], [40, 40, 50, 50], [50, 50, 60, 60]],
                       dtype=np.float64)
    rpn_match, rpn_bbox = build_rpn_targets(IMAGE_SHAPE, anchors, np.array([1]),
                                            np.array([GT_BOX]), config,
                                            rng=np.random.default_rng(0))
    assert np.sum(rpn_match == 1) == 2
    assert np.sum(rpn_match[:5] == 0) == 3
    assert np.sum(rpn_match == -1) == 2
    assert np.all(rpn_match[5:] != 1)
    assert rpn_bbox.shape == (4, 4) and not rpn_bbox.any()   # exact matches: zero deltas


def test_negatives_capped(config):
    # 1 positive; 8 far anchors are negative candidates, cut to 8 - 1 = 7.
    anchors = np.array([GT_BOX] + [[30 + i, 30, 40 + i, 40] for i in range(8)],
                       dtype=np.float64)
    rpn_match, _ = build_rpn_targets(IMAGE_SHAPE, anchors, np.array([1]), np.array([GT_BOX]),
                                     config)
    assert rpn_match[0] == 1
    assert np.sum(rpn_match == -1) == 7 and np.sum(rpn_match == 0) == 1


@pytest.mark.parametrize("gt_class_ids, gt_boxes", [
    (np.zeros([0], np.int32), np.zeros([0, 4], np.int32)),
    (np.zeros([0], np.int32), np.zeros([0])),            # a flat empty array also works
    (np.array([0]), np.array([[0, 0, 10, 10]])),         # class 0 is padding, ignored
])
def test_no_gt_gives_negatives_only(config, gt_class_ids, gt_boxes):
    rpn_match, rpn_bbox = build_rpn_targets(IMAGE_SHAPE, ANCHORS, gt_class_ids, gt_boxes, config)
    np.testing.assert_array_equal(rpn_match, [-1] * 5)
    assert rpn_bbox.shape == (8, 4) and not rpn_bbox.any()


def test_only_crowds(config):
    # No object, one crowd over a4: a4 neutral, the other anchors negative candidates.
    rpn_match, rpn_bbox = build_rpn_targets(IMAGE_SHAPE, ANCHORS, np.array([-1]),
                                            np.array([[40, 40, 50, 50]]), config)
    np.testing.assert_array_equal(rpn_match, [-1, -1, -1, -1, 0])
    assert not rpn_bbox.any()


def test_rng_makes_subsampling_reproducible(config):
    config.RPN_TRAIN_ANCHORS_PER_IMAGE = 4
    anchors = np.array([[30 + i, 30, 40 + i, 40] for i in range(12)], dtype=np.float64)
    results = [build_rpn_targets(IMAGE_SHAPE, anchors, np.zeros([0], np.int32),
                                 np.zeros([0, 4], np.int32), config,
                                 rng=np.random.default_rng(seed))[0] for seed in (1, 1, 2)]
    assert np.sum(results[0] == -1) == 4
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], results[2])


def test_bad_shapes(config):
    with pytest.raises(ValueError, match="anchors must have shape"):
        build_rpn_targets(IMAGE_SHAPE, ANCHORS[:, :3], np.array([1]), np.array([GT_BOX]), config)
    with pytest.raises(ValueError, match="gt_boxes must have shape"):
        build_rpn_targets(IMAGE_SHAPE, ANCHORS, np.array([1, 2]), np.array([GT_BOX]), config)
