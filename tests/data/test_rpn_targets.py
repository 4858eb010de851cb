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


# --- The indexed overlaps give Matterport's dense labels --------------------------------------

def dense_rpn_targets(anchors, gt_class_ids, gt_boxes, train_anchors, std_dev, rng):
    """Matterport's build_rpn_targets with the full [anchors, boxes] IoU matrix, each IoU by a
    plain per-box expression (the reference the indexed path must equal)."""
    def iou_matrix(boxes):
        out = np.zeros((anchors.shape[0], len(boxes)))
        area_a = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
        for j, b in enumerate(boxes):
            h = np.maximum(np.minimum(anchors[:, 2], b[2]) - np.maximum(anchors[:, 0], b[0]), 0)
            w = np.maximum(np.minimum(anchors[:, 3], b[3]) - np.maximum(anchors[:, 1], b[1]), 0)
            inter = w * h
            union = (b[2] - b[0]) * (b[3] - b[1]) + area_a - inter
            out[:, j] = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
        return out

    rpn_match = np.zeros(anchors.shape[0], np.int32)
    crowd = gt_boxes[gt_class_ids < 0]
    no_crowd = (iou_matrix(crowd).max(axis=1) < 0.001 if len(crowd)
                else np.ones(anchors.shape[0], bool))
    boxes = gt_boxes[gt_class_ids > 0]
    if len(boxes) == 0:
        rpn_match[no_crowd] = -1
    else:
        overlaps = iou_matrix(boxes)
        argmax = overlaps.argmax(axis=1)
        best = overlaps.max(axis=1)
        rpn_match[(best < 0.3) & no_crowd] = -1
        rpn_match[np.argwhere(overlaps == overlaps.max(axis=0))[:, 0]] = 1
        rpn_match[best >= 0.7] = 1
    for label, cap in ((1, train_anchors // 2), (-1, None)):
        ids = np.where(rpn_match == label)[0]
        extra = len(ids) - (cap if cap is not None else train_anchors - np.sum(rpn_match == 1))
        if extra > 0:
            rpn_match[rng.choice(ids, extra, replace=False)] = 0
    rpn_bbox = np.zeros((train_anchors, 4), np.float32)
    ids = np.where(rpn_match == 1)[0]
    for row, i in enumerate(ids):
        a, g = anchors[i], boxes[argmax[i]]
        ah, aw, gh, gw = a[2] - a[0], a[3] - a[1], g[2] - g[0], g[3] - g[1]
        rpn_bbox[row] = np.array([(g[0] + 0.5 * gh - a[0] - 0.5 * ah) / ah,
                                  (g[1] + 0.5 * gw - a[1] - 0.5 * aw) / aw,
                                  np.log(gh / ah), np.log(gw / aw)]) / std_dev
    return rpn_match, rpn_bbox


def kudzu_boxes():
    """The polygons' boxes of the first real kudzu photos (VIA), scaled to 1024 as the default
    config does, one array per image; None when the shared datasets are not there."""
    import json
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets",
                        "via_kudzu", "train", "via_region_data.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        records = list(json.load(f).values())[:6]
    out = []
    for record in records:
        boxes = []
        regions = record["regions"]
        for region in (regions.values() if isinstance(regions, dict) else regions):
            shape = region["shape_attributes"]
            ys, xs = np.array(shape["all_points_y"]), np.array(shape["all_points_x"])
            boxes.append([ys.min(), xs.min(), ys.max() + 1, xs.max() + 1])
        out.append(np.round(np.array(boxes, np.float64) * 1024 / 768).astype(np.int32))
    return out


def synthetic_cases(rng, size):
    """Box sets that exercise every rule: random boxes, crowds, ties, a tiny box between
    anchors, a box outside the image (it meets no anchor), none."""
    cases = []
    for count in (1, 3, 12):
        y1, x1 = rng.integers(0, size - 8, count), rng.integers(0, size - 8, count)
        h, w = rng.integers(4, size // 2, count), rng.integers(4, size // 2, count)
        boxes = np.stack([y1, x1, np.minimum(y1 + h, size), np.minimum(x1 + w, size)], axis=1)
        cases.append((rng.permutation(np.arange(count) % 3 + 1), boxes))
    cases.append((np.array([1, -1, 2]), np.array([[10, 10, 60, 80], [0, 0, 90, 90],
                                                  [70, 20, 120, 60]])))
    cases.append((np.array([2]), np.array([[32, 32, 64, 64]])))                 # exact anchors
    cases.append((np.array([1]), np.array([[size + 500, size + 500, size + 510, size + 520]])))
    cases.append((np.array([-1]), np.array([[0, 0, 40, 40]])))
    cases.append((np.zeros(0, np.int32), np.zeros((0, 4), np.int32)))
    return cases


@pytest.mark.parametrize("anchor_stride", [1, 2])
def test_indexed_targets_equal_the_dense_reference(anchor_stride):
    from mrcnn.core.anchors import get_pixel_anchors
    from tiny import tiny_config
    config = tiny_config(IMAGE_MIN_DIM=128, IMAGE_MAX_DIM=128, RPN_ANCHOR_STRIDE=anchor_stride,
                         RPN_TRAIN_ANCHORS_PER_IMAGE=64)
    anchors = get_pixel_anchors(config, (128, 128, 3))
    assert not anchors.flags.writeable        # the cached pyramid: its index is kept
    rng = np.random.default_rng(anchor_stride)
    for class_ids, boxes in synthetic_cases(rng, 128):
        for seed in (0, 1):
            got = build_rpn_targets(None, anchors, class_ids, boxes, config,
                                    rng=np.random.default_rng(seed))
            expected = dense_rpn_targets(np.asarray(anchors, np.float64), class_ids,
                                         boxes.astype(np.float64), 64,
                                         np.array([0.1, 0.1, 0.2, 0.2]),
                                         np.random.default_rng(seed))
            np.testing.assert_array_equal(got[0], expected[0], err_msg=str(boxes))
            np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)


def test_indexed_targets_equal_the_dense_reference_on_real_photos():
    from mrcnn.config import Config
    from mrcnn.core.anchors import get_pixel_anchors
    images = kudzu_boxes()
    if images is None:
        pytest.skip("../shared/datasets/via_kudzu is not here")

    class Kudzu(Config):
        NAME = "kudzu"
        NUM_CLASSES = 2
        IMAGES_PER_GPU = 1

    config = Kudzu()                          # 1024x1024, 261,888 anchors
    anchors = get_pixel_anchors(config, (1024, 1024, 3))
    for i, boxes in enumerate(images):
        class_ids = np.ones(len(boxes), np.int32)
        class_ids[::7] = -1                   # some crowds too
        got = build_rpn_targets(None, anchors, class_ids, boxes, config,
                                rng=np.random.default_rng(i))
        expected = dense_rpn_targets(np.asarray(anchors, np.float64), class_ids,
                                     boxes.astype(np.float64), 256,
                                     np.array([0.1, 0.1, 0.2, 0.2]), np.random.default_rng(i))
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)


def test_hand_made_anchors_that_are_no_grid_still_match_the_reference(config):
    rng = np.random.default_rng(5)
    y1x1 = rng.uniform(0, 50, (40, 2))
    anchors = np.concatenate([y1x1, y1x1 + rng.uniform(4, 20, (40, 2))], axis=1)
    boxes = np.array([[5, 5, 25, 30], [30, 10, 45, 40]])
    got = build_rpn_targets(None, anchors, np.array([1, 2]), boxes, config,
                            rng=np.random.default_rng(0))
    expected = dense_rpn_targets(anchors, np.array([1, 2]), boxes.astype(np.float64), 8,
                                 np.array([0.1, 0.1, 0.2, 0.2]), np.random.default_rng(0))
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)
