"""Tests for mrcnn.core.boxes; expected values are worked out by hand in the comments."""
import warnings

import numpy as np
import pytest

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

# --- extract_bboxes -------------------------------------------------------------------------

def test_extract_bboxes_exclusive_corners_empty_instance_and_borders():
    mask = np.zeros((6, 8, 3), dtype=bool)
    mask[1:3, 2:5, 0] = True          # rows 1-2, cols 2-4 -> (1, 2, 3, 5)
    # instance 1 stays empty -> zero row
    mask[4:6, 0, 2] = True            # touches the bottom and left border
    mask[5, 7, 2] = True              # ... and the right border -> (4, 0, 6, 8)
    boxes = extract_bboxes(mask)
    assert boxes.dtype == np.int32
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 5], [0, 0, 0, 0], [4, 0, 6, 8]])


def test_extract_bboxes_non_bool_mask_and_single_pixel():
    mask = np.zeros((5, 5, 1), dtype=np.uint8)
    mask[0, 0, 0] = 1                 # one pixel at the corner -> (0, 0, 1, 1)
    np.testing.assert_array_equal(extract_bboxes(mask), [[0, 0, 1, 1]])


def test_extract_bboxes_no_instances():
    boxes = extract_bboxes(np.zeros((4, 4, 0), dtype=bool))
    assert boxes.shape == (0, 4) and boxes.dtype == np.int32


def test_extract_bboxes_rejects_2d_mask():
    with pytest.raises(ValueError, match="mask"):
        extract_bboxes(np.zeros((4, 4), dtype=bool))


# --- compute_iou / compute_overlaps --------------------------------------------------------

def test_compute_iou_by_hand():
    box = np.array([0, 0, 10, 10])
    boxes = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [10, 10, 20, 20]])
    areas = np.array([100, 100, 100])
    # overlap 5x5 = 25, union 100 + 100 - 25 = 175; identical -> 1; touching corner -> 0
    np.testing.assert_allclose(compute_iou(box, boxes, 100, areas), [25 / 175, 1.0, 0.0])


def test_compute_overlaps_by_hand_and_transpose():
    boxes1 = np.array([[0, 0, 10, 10], [0, 0, 10, 5]])
    boxes2 = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30], [0, 0, 0, 0]])
    expected = np.array([
        # [0,0,10,10] vs: itself 1; 25 / (100 + 100 - 25); disjoint 0; zero-area 0
        [1.0, 25 / 175, 0.0, 0.0],
        # [0,0,10,5] (area 50) vs: 50 / 100; overlap rows 5-10 cols 5-5 = 0; 0; 0
        [0.5, 0.0, 0.0, 0.0],
    ])
    overlaps = compute_overlaps(boxes1, boxes2)
    assert overlaps.shape == (2, 4) and overlaps.dtype == np.float64
    np.testing.assert_allclose(overlaps, expected)
    np.testing.assert_allclose(compute_overlaps(boxes2, boxes1), expected.T)


def test_compute_overlaps_zero_area_pairs_give_zero_without_warnings():
    zero = np.array([[3, 3, 3, 3], [0, 0, 0, 0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overlaps = compute_overlaps(zero, zero)
    np.testing.assert_array_equal(overlaps, np.zeros((2, 2)))


@pytest.mark.parametrize("n1,n2", [(0, 3), (2, 0), (0, 0)])
def test_compute_overlaps_empty_sides_keep_shape(n1, n2):
    boxes1 = np.tile([[0, 0, 4, 4]], (n1, 1))
    boxes2 = np.tile([[1, 1, 5, 5]], (n2, 1))
    assert compute_overlaps(boxes1, boxes2).shape == (n1, n2)


def test_compute_overlaps_rejects_bad_shape():
    with pytest.raises(ValueError, match="boxes2"):
        compute_overlaps(np.zeros((2, 4)), np.zeros(4))


# --- non_max_suppression ------------------------------------------------------------------

def test_nms_keeps_highest_first_and_drops_overlaps():
    boxes = np.array([[20, 20, 30, 30],    # C, score .7, disjoint from the others
                      [0, 0, 10, 10],      # A, score .9
                      [1, 1, 11, 11]])     # B, score .8, IoU(A, B) = 81 / (200 - 81) = 0.68
    scores = np.array([0.7, 0.9, 0.8])
    keep = non_max_suppression(boxes, scores, 0.5)
    assert keep.dtype == np.int32
    np.testing.assert_array_equal(keep, [1, 0])          # A, C (B removed: 0.68 > 0.5)
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 0.7), [1, 2, 0])


def test_nms_ties_follow_argsort_order():
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [10, 10, 11, 11]], dtype=np.float32)
    scores = np.array([0.5, 0.5, 0.5])
    expected = np.argsort(scores)[::-1]       # the tie order Matterport's loop used
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 0.3), expected)


def test_nms_empty_input():
    keep = non_max_suppression(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert keep.shape == (0,) and keep.dtype == np.int32


def test_nms_scores_length_mismatch():
    with pytest.raises(ValueError, match="scores"):
        non_max_suppression(np.zeros((2, 4)), np.zeros(3), 0.5)


# --- deltas ---------------------------------------------------------------------------------

BOX = np.array([[10, 20, 30, 60]])         # h 20, w 40, centre (20, 40)
GT = np.array([[2, 10, 42, 50]])           # h 40, w 40, centre (22, 30)
# dy = (22 - 20) / 20 = 0.1; dx = (30 - 40) / 40 = -0.25; dh = log(40 / 20); dw = log(1) = 0
DELTAS = np.array([[0.1, -0.25, np.log(2.0), 0.0]])


def test_apply_box_deltas_by_hand():
    out = apply_box_deltas(BOX, DELTAS)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, GT, atol=1e-5)


def test_box_refinement_by_hand_and_round_trip():
    deltas = box_refinement(BOX, GT)
    assert deltas.dtype == np.float32
    np.testing.assert_allclose(deltas, DELTAS, atol=1e-6)
    boxes = np.array([[0, 0, 4, 4], [3, 7, 20, 9]])
    gt = np.array([[1, 1, 6, 3], [0, 0, 30, 30]])
    np.testing.assert_allclose(apply_box_deltas(boxes, box_refinement(boxes, gt)), gt, atol=1e-4)


def test_box_refinement_zero_area_raises_naming_row():
    boxes = np.array([[0, 0, 4, 4], [5, 5, 5, 9]])        # row 1 has zero height
    with pytest.raises(ValueError, match="box row 1"):
        box_refinement(boxes, np.array([[0, 0, 2, 2], [0, 0, 2, 2]]))
    with pytest.raises(ValueError, match="gt_box row 0"):
        box_refinement(np.array([[0, 0, 4, 4]]), np.array([[1, 1, 1, 3]]))


def test_box_refinement_and_deltas_empty():
    assert box_refinement(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)
    assert apply_box_deltas(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)


def test_apply_box_deltas_row_mismatch():
    with pytest.raises(ValueError, match="deltas"):
        apply_box_deltas(np.zeros((2, 4)), np.zeros((3, 4)))


# --- norm / denorm --------------------------------------------------------------------------

def test_norm_boxes_by_hand():
    # shape (11, 21): scale (10, 20, 10, 20), shift (0, 0, 1, 1)
    boxes = np.array([[0, 0, 11, 21],      # whole image -> (0, 0, 10/10, 20/20)
                      [5, 10, 6, 11]])     # one pixel -> (0.5, 0.5, 5/10, 10/20)
    out = norm_boxes(boxes, (11, 21))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]])


def test_norm_denorm_round_trip():
    boxes = np.array([[0, 0, 64, 48], [3, 7, 20, 9], [63, 47, 64, 48]])
    back = denorm_boxes(norm_boxes(boxes, (64, 48)), (64, 48))
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, boxes)


def test_denorm_boxes_rounds():
    # 0.26 * 10 = 2.6 -> 3 ; 0.74 * 10 + 1 = 8.4 -> 8
    np.testing.assert_array_equal(denorm_boxes(np.array([[0.26, 0, 0.74, 1]]), (11, 11)),
                                  [[3, 0, 8, 11]])


def test_norm_boxes_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        norm_boxes(np.zeros((1, 4)), (10, 10, 3))
    with pytest.raises(ValueError, match="shape"):
        denorm_boxes(np.zeros((1, 4)), (1, 10))


# --- trim_zeros -----------------------------------------------------------------------------

def test_trim_zeros_removes_all_zero_rows_only():
    x = np.array([[0, 0, 0, 0], [1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 5]])
    np.testing.assert_array_equal(trim_zeros(x), [[1, 2, 3, 4], [0, 0, 0, 5]])
    assert trim_zeros(np.zeros((3, 4))).shape == (0, 4)


def test_trim_zeros_rejects_1d():
    with pytest.raises(ValueError, match="2-D"):
        trim_zeros(np.zeros(4))


def test_apply_box_deltas_clamps_huge_size_deltas():
    """An untrained head can predict log(dh) of hundreds: exp overflows to inf and y1 + inf - inf
    gave NaN boxes (CropAndResize then refused them). The size ratio is clamped at 1000/16, as
    Detectron2 and torchvision do; a finite ratio below it is untouched."""
    boxes = np.array([[10, 20, 30, 60], [0, 0, 8, 8], [5, 5, 9, 13]])
    deltas = np.array([[0.0, 0.0, 300.0, 0.0],        # h 20 -> 20 * 62.5 = 1250 about y 20
                       [0.5, 0.0, 0.0, -300.0],       # w 8 -> 8 * exp(-300) ~ 0, centre y 4 + 4
                       [0.0, 0.0, 3.0, np.log(3.0)]]) # under the clamp: h 4 e^3, w 24
    out = apply_box_deltas(boxes, deltas)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0], [20 - 625, 20, 20 + 625, 60], rtol=1e-5)
    np.testing.assert_allclose(out[1], [4, 4, 12, 4], atol=1e-4)
    h = 4 * np.exp(3.0)
    np.testing.assert_allclose(out[2], [7 - h / 2, -3, 7 + h / 2, 21], rtol=1e-5)
