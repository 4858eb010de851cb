"""Tests for mrcnn.core.metrics; AP values are worked out by hand in the comments."""
import warnings

import numpy as np
import pytest

from mrcnn.core.boxes import extract_bboxes
from mrcnn.core.metrics import compute_ap, compute_ap_range, compute_matches, compute_recall

SIZE = 16


def _masks(*regions):
    """[16, 16, len(regions)] bool masks; each region is (y1, x1, y2, x2), y2/x2 exclusive."""
    masks = np.zeros((SIZE, SIZE, len(regions)), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(regions):
        masks[y1:y2, x1:x2, i] = True
    return masks


G0 = (0, 0, 4, 4)          # 16 px, touches the top-left corner
G1 = (8, 8, 12, 12)        # 16 px
FP = (12, 0, 16, 4)        # touches the bottom border, overlaps no gt
GT_MASKS = _masks(G0, G1)
GT_BOXES = extract_bboxes(GT_MASKS)
GT_CLASS_IDS = np.array([1, 2])


def _ap(pred_regions, class_ids, scores, **kwargs):
    masks = _masks(*pred_regions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no division warnings, no NaN
        return compute_ap(GT_BOXES, GT_CLASS_IDS, GT_MASKS, extract_bboxes(masks),
                          np.array(class_ids), np.array(scores, dtype=np.float32), masks,
                          **kwargs)


def test_perfect_predictions_ap_1():
    ap, precisions, recalls, overlaps = _ap([G1, G0], [2, 1], [0.8, 0.9])
    assert ap == pytest.approx(1.0)
    # sorted by score: G0 (TP), G1 (TP): precisions 1, 1; recalls 0.5, 1; padded
    np.testing.assert_allclose(precisions, [1, 1, 1, 0])
    np.testing.assert_allclose(recalls, [0, 0.5, 1, 1])
    np.testing.assert_allclose(overlaps, [[1, 0], [0, 1]])     # rows in score order


def test_no_predictions_ap_0():
    ap, precisions, recalls, overlaps = _ap([], [], [])
    assert ap == 0.0 and overlaps.shape == (0, 2)
    np.testing.assert_array_equal(precisions, [0, 0])
    np.testing.assert_array_equal(recalls, [0, 1])


def test_partial_false_positive_in_the_middle():
    ap, precisions, recalls, _ = _ap([G0, FP, G1], [1, 1, 2], [0.9, 0.8, 0.7])
    # TP, FP, TP: precision 1, 1/2, 2/3; recall 0.5, 0.5, 1.
    # Envelope (max to the right) of [0, 1, .5, .667, 0] = [1, 1, .667, .667, 0].
    # Recall steps 0 -> 0.5 (precision 1) and 0.5 -> 1 (precision 2/3):
    # AP = 0.5 * 1 + 0.5 * 2/3 = 5/6.
    assert ap == pytest.approx(5 / 6)
    np.testing.assert_allclose(precisions, [1, 1, 2 / 3, 2 / 3, 0])
    np.testing.assert_allclose(recalls, [0, 0.5, 0.5, 1, 1])


def test_duplicate_of_best_detection_is_a_false_positive():
    # Matterport tested gt_match > 0, so a duplicate of prediction 0 matched gt 0 again.
    masks = _masks(G0, G0, G1)
    gt_match, pred_match, _ = compute_matches(
        GT_BOXES, GT_CLASS_IDS, GT_MASKS, extract_bboxes(masks), np.array([1, 1, 2]),
        np.array([0.9, 0.8, 0.7]), masks)
    np.testing.assert_array_equal(pred_match, [0, -1, 1])
    np.testing.assert_array_equal(gt_match, [0, 2])
    # TP, FP, TP as in the partial case: 5/6
    assert _ap([G0, G0, G1], [1, 1, 2], [0.9, 0.8, 0.7])[0] == pytest.approx(5 / 6)


def test_wrong_class_does_not_match():
    ap = _ap([G0, G1], [2, 1], [0.9, 0.8])[0]       # classes swapped
    assert ap == 0.0


def test_matches_in_score_order_and_iou_thresholds():
    wide = (0, 0, 4, 6)                              # 24 px, IoU with G0 = 16 / 24 = 2/3
    masks = _masks(wide)
    args = (GT_BOXES, GT_CLASS_IDS, GT_MASKS, extract_bboxes(masks), np.array([1]),
            np.array([0.5]), masks)
    gt_match, pred_match, overlaps = compute_matches(*args, iou_threshold=0.5)
    np.testing.assert_allclose(overlaps, [[2 / 3, 0]])
    np.testing.assert_array_equal(gt_match, [0, -1])
    gt_match, _, _ = compute_matches(*args, iou_threshold=0.7)
    np.testing.assert_array_equal(gt_match, [-1, -1])           # 2/3 < 0.7
    gt_match, _, _ = compute_matches(*args, iou_threshold=0.5, score_threshold=0.7)
    np.testing.assert_array_equal(gt_match, [-1, -1])           # IoU filtered out
    # The higher-scored prediction takes the gt even when listed last.
    masks = _masks(G0, wide)
    _, pred_match, _ = compute_matches(GT_BOXES, GT_CLASS_IDS, GT_MASKS,
                                       extract_bboxes(masks), np.array([1, 1]),
                                       np.array([0.3, 0.6]), masks)
    np.testing.assert_array_equal(pred_match, [0, -1])          # wide (0.6) first, takes G0


def test_zero_padding_is_trimmed():
    gt_masks = np.concatenate([GT_MASKS, np.zeros((SIZE, SIZE, 2), bool)], axis=2)
    gt_boxes = np.concatenate([GT_BOXES, np.zeros((2, 4), np.int32)])
    gt_class_ids = np.array([1, 2, 0, 0])
    pred_masks = _masks(G0, FP, G1)
    pred_boxes = np.concatenate([extract_bboxes(pred_masks), np.zeros((1, 4), np.int32)])
    ap, _, _, overlaps = compute_ap(gt_boxes, gt_class_ids, gt_masks, pred_boxes,
                                    np.array([1, 1, 2, 0]), np.array([0.9, 0.8, 0.7, 0.0]),
                                    pred_masks)
    assert overlaps.shape == (3, 2) and ap == pytest.approx(5 / 6)


@pytest.mark.parametrize("n_pred", [0, 2])
def test_no_gt_gives_ap_0_without_nan(n_pred):
    pred_masks = _masks(*[G0, G1][:n_pred])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ap, precisions, recalls, overlaps = compute_ap(
            np.zeros((0, 4)), np.zeros(0, np.int32), np.zeros((SIZE, SIZE, 0), bool),
            extract_bboxes(pred_masks), np.ones(n_pred, np.int32), np.ones(n_pred), pred_masks)
    assert ap == 0.0 and overlaps.shape == (n_pred, 0)
    assert not np.isnan(precisions).any() and not np.isnan(recalls).any()


def test_compute_ap_range_by_hand(capsys):
    wide = (0, 0, 4, 6)                              # IoU 2/3 with G0; G1 matched exactly
    masks = _masks(wide, G1)
    args = (GT_BOXES, GT_CLASS_IDS, GT_MASKS, extract_bboxes(masks), np.array([1, 2]),
            np.array([0.9, 0.8]), masks)
    # At 0.5: both TP -> AP 1. At 0.7: FP then TP: precision 0, 1/2, recall 0, 0.5;
    # envelope at recall 0.5 is 1/2 -> AP 0.5 * 0.5 = 0.25. Mean (1 + 0.25) / 2 = 0.625.
    assert compute_ap_range(*args, iou_thresholds=[0.5, 0.7], verbose=0) == pytest.approx(0.625)
    assert capsys.readouterr().out == ""
    assert compute_ap_range(*args, iou_thresholds=np.array([0.5, 0.7]), verbose=1) \
        == pytest.approx(0.625)
    assert "AP @0.50-0.70" in capsys.readouterr().out
    # Default 0.5:0.95:0.05 has 10 thresholds; IoU 2/3 passes 0.5, 0.55, 0.6, 0.65 (AP 1) and
    # fails the other 6 (AP 0.25): (4 * 1 + 6 * 0.25) / 10 = 0.55.
    assert compute_ap_range(*args, verbose=0) == pytest.approx(0.55)


def test_compute_ap_range_empty_thresholds():
    with pytest.raises(ValueError, match="iou_thresholds"):
        compute_ap_range(GT_BOXES, GT_CLASS_IDS, GT_MASKS, GT_BOXES, GT_CLASS_IDS,
                         np.ones(2), GT_MASKS, iou_thresholds=[], verbose=0)


def test_compute_recall_by_hand():
    pred_boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60]])
    gt_boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    # pred 0 -> gt 0 IoU 1; pred 1 -> gt 0 IoU 90 / 100; pred 2 -> nothing.
    # Found gt: {0} of 2 -> recall 0.5; positive predictions 0 and 1.
    recall, positive_ids = compute_recall(pred_boxes, gt_boxes, 0.5)
    assert recall == 0.5
    np.testing.assert_array_equal(positive_ids, [0, 1])
    recall, positive_ids = compute_recall(pred_boxes, gt_boxes, 0.95)
    assert recall == 0.5 and list(positive_ids) == [0]


def test_compute_recall_empty_sides():
    boxes = np.array([[0, 0, 10, 10]])
    assert compute_recall(boxes, np.zeros((0, 4)), 0.5)[0] == 0.0       # no gt: defined 0
    recall, positive_ids = compute_recall(np.zeros((0, 4)), boxes, 0.5)
    assert recall == 0.0 and positive_ids.shape == (0,)


def test_gt_with_an_empty_mask_in_the_middle():
    """A gt instance without pixels between two others: it cannot be matched and is not counted.

    Matterport (and this code before) trimmed the empty instance's all-zero box as if it were
    padding but then kept the first two masks, G0 and the empty one: G1's mask was gone, so two
    perfect detections scored AP 0.5 (and the class ids were misaligned too).
    """
    gt_masks = _masks(G0, (0, 0, 0, 0), G1)
    gt_boxes = extract_bboxes(gt_masks)
    assert not gt_boxes[1].any()
    gt_class_ids = np.array([1, 3, 2])
    pred_masks = _masks(G0, G1)
    args = (gt_boxes, gt_class_ids, gt_masks, extract_bboxes(pred_masks), np.array([1, 2]),
            np.array([0.9, 0.8]), pred_masks)
    gt_match, pred_match, overlaps = compute_matches(*args)
    # Indices refer to the arrays as given: G1 is gt 2.
    np.testing.assert_array_equal(pred_match, [0, 2])
    np.testing.assert_array_equal(gt_match, [0, -1, 1])
    np.testing.assert_allclose(overlaps, [[1, 0, 0], [0, 0, 1]])
    ap, precisions, recalls, _ = compute_ap(*args)
    assert ap == pytest.approx(1.0)
    np.testing.assert_allclose(recalls, [0, 0.5, 1, 1])
    # Even at IoU threshold 0 the empty instance takes no prediction of its class.
    masks = _masks(FP)
    gt_match, pred_match, _ = compute_matches(gt_boxes, gt_class_ids, gt_masks,
                                              extract_bboxes(masks), np.array([3]),
                                              np.array([0.5]), masks, iou_threshold=0.0)
    np.testing.assert_array_equal(pred_match, [-1])
    # Trailing padding is still trimmed, after a middle empty instance too.
    padded_masks = np.concatenate([gt_masks, np.zeros((SIZE, SIZE, 2), bool)], axis=2)
    padded_boxes = np.concatenate([gt_boxes, np.zeros((2, 4), np.int32)])
    ap, _, _, overlaps = compute_ap(padded_boxes, np.array([1, 3, 2, 0, 0]), padded_masks,
                                    *args[3:])
    assert ap == pytest.approx(1.0) and overlaps.shape == (2, 3)


def test_empty_gt_mask_with_a_box_is_not_counted():
    """A gt whose box is set but whose mask has no pixel can never be found by mask IoU."""
    gt_masks = _masks(G0, (0, 0, 0, 0), G1)
    gt_boxes = extract_bboxes(gt_masks)
    gt_boxes[1] = [4, 4, 6, 6]
    pred_masks = _masks(G0, G1)
    ap = compute_ap(gt_boxes, np.array([1, 1, 2]), gt_masks, extract_bboxes(pred_masks),
                    np.array([1, 2]), np.array([0.9, 0.8]), pred_masks)[0]
    assert ap == pytest.approx(1.0)
