"""Tests of mrcnn/evaluation/errors.py: per-image matching (found, missed, confused,
hallucinated, crowds, score threshold), the confusion matrix and the worst-first order, on
hand-made images whose expected counts are worked out by hand below."""
import numpy as np
import pytest

from mrcnn.datasets.base import Dataset
from mrcnn.evaluation.errors import confusion_matrix, evaluator_errors, match_image, worst_first
from mrcnn.evaluation.evaluator import Evaluator

NAMES = ["BG", "one", "two", "three"]
SHAPE = (40, 40)


def rects(boxes):
    """bool [40, 40, N], one filled (y1, x1, y2, x2) rectangle per box, y2/x2 exclusive."""
    masks = np.zeros(SHAPE + (len(boxes),), bool)
    for k, (y1, x1, y2, x2) in enumerate(boxes):
        masks[y1:y2, x1:x2, k] = True
    return masks


def detections(boxes, class_ids, scores):
    return {"rois": np.array(boxes, np.int32).reshape(-1, 4),
            "class_ids": np.array(class_ids, np.int32),
            "scores": np.array(scores, np.float32), "masks": rects(boxes)}


# Image 0: four objects A (one), B (two), C (three), D (one).
GT0 = ([(0, 0, 10, 10), (20, 0, 30, 10), (0, 20, 10, 30), (30, 30, 40, 40)], [1, 2, 3, 1])
DET0 = detections(
    [(20, 0, 30, 10),     # d0 three on B (0.80): B taken for three
     (0, 0, 10, 10),      # d1 one on A (0.90): found
     (20, 20, 30, 30),    # d2 two where nothing is (0.70): hallucinated
     (0, 0, 10, 10),      # d3 one on A again (0.60): A is taken, nothing else overlaps
     (30, 30, 40, 40)],   # d4 one on D (0.30): below the default min_score 0.5
    [3, 1, 2, 1, 1], [0.8, 0.9, 0.7, 0.6, 0.3])
# Image 1: E (two) and a crowd region of class three.
GT1 = ([(0, 0, 20, 20), (20, 20, 40, 40)], [2, -3])
DET1 = detections(
    [(0, 2, 20, 20),      # e0 two on E, IoU 360/400 = 0.9 (0.95): found
     (22, 22, 38, 38),    # e1 three inside the crowd of three (0.90): ignored
     (0, 25, 10, 35),     # e2 three where nothing is (0.65): hallucinated
     (0, 0, 20, 16)],     # e3 one on E, IoU 0.8 (0.55): E is taken by e0, hallucinated
    [2, 3, 3, 1], [0.95, 0.9, 0.65, 0.55])
# Image 2: found perfectly. Image 3: nothing at all.
GT2 = ([(5, 5, 15, 15)], [3])
DET2 = detections([(5, 5, 15, 15)], [3], [0.99])
GT3 = ([], [])
DET3 = detections([], [], [])
IMAGES = [(GT0, DET0), (GT1, DET1), (GT2, DET2), (GT3, DET3)]


def match(k, **kwargs):
    (boxes, class_ids), det = IMAGES[k]
    return match_image(rects(boxes), class_ids, det["rois"], det["class_ids"], det["scores"],
                       det["masks"], image_id=k, **kwargs)


def test_one_image_found_missed_confused_hallucinated():
    r = match(0)
    # Considered detections by score: d1 (0.9), d0 (0.8), d2 (0.7), d3 (0.6); d4 is below 0.5.
    assert r.pred_index.tolist() == [1, 0, 2, 3]
    assert r.pred_class_ids.tolist() == [1, 3, 2, 1]
    assert r.gt_match.tolist() == [0, 1, -1, -1]        # A by d1, B by d0 (confused)
    assert r.pred_match.tolist() == [0, 1, -1, -1]
    assert r.gt_found.tolist() == [True, False, False, False]
    assert r.pred_correct.tolist() == [True, False, False, False]
    assert (r.false_negatives, r.false_positives, r.errors) == (3, 3, 6)
    assert r.messages(NAMES) == ["two taken for three (0.80)", "missed three", "missed one",
                                 "false positive two (0.70)", "false positive one (0.60)"]
    # With min_score 0.2, d4 finds D.
    low = match(0, min_score=0.2)
    assert low.gt_found.tolist() == [True, False, False, True]
    assert (low.false_negatives, low.false_positives) == (2, 3)


def test_crowd_region_neither_missed_nor_a_false_positive():
    r = match(1)
    assert r.gt_class_ids.tolist() == [2]                # the crowd is no object to find
    assert r.pred_index.tolist() == [0, 2, 3]            # e1 (in the crowd) is left out
    assert r.gt_match.tolist() == [0]
    assert r.pred_match.tolist() == [0, -1, -1]
    assert (r.false_negatives, r.false_positives) == (0, 2)
    assert r.messages(NAMES) == ["false positive three (0.65)", "false positive one (0.55)"]


def test_confusion_matrix_by_hand():
    records = [match(k) for k in range(len(IMAGES))]
    expected = np.zeros((4, 4), int)
    # Image 0: A found, B as three, C and D missed; d2 (two) and d3 (one) hallucinated.
    expected[1, 1] += 1
    expected[2, 3] += 1
    expected[3, 0] += 1
    expected[1, 0] += 1
    expected[0, 2] += 1
    expected[0, 1] += 1
    # Image 1: E found; e2 (three) and e3 (one) hallucinated. Image 2: found. Image 3: none.
    expected[2, 2] += 1
    expected[0, 3] += 1
    expected[0, 1] += 1
    expected[3, 3] += 1
    matrix = confusion_matrix(records, 4)
    np.testing.assert_array_equal(matrix, expected)
    # Rows add up to the objects of each class, columns to the considered detections.
    gt_counts = np.zeros(4, int)
    det_counts = np.zeros(4, int)
    for (_, gt_ids), _det in IMAGES:
        for c in gt_ids:
            if c > 0:
                gt_counts[c] += 1
    for k, ((_, _), det) in enumerate(IMAGES):
        for c, s in zip(det["class_ids"], det["scores"]):
            if s >= 0.5 and not (k == 1 and s == np.float32(0.9)):    # e1 is in the crowd
                det_counts[c] += 1
    np.testing.assert_array_equal(matrix.sum(axis=1)[1:], gt_counts[1:])
    np.testing.assert_array_equal(matrix.sum(axis=0)[1:], det_counts[1:])


def test_worst_first_ties_by_image_id():
    records = [match(k) for k in (3, 2, 1, 0)]
    # Errors: image 0: 6, image 1: 2, images 2 and 3: 0 (ties by id).
    assert [r.image_id for r in worst_first(records)] == [0, 1, 2, 3]
    assert [r.errors for r in worst_first(records)] == [6, 2, 0, 0]


class Handmade(Dataset):
    def load_image(self, image_id):
        return np.full(SHAPE + (3,), 80, np.uint8)

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        return rects(info["boxes"]), np.array(info["class_ids"], np.int32)


def test_from_an_evaluator_equals_matching_the_arrays():
    dataset = Handmade()
    for class_id, name in enumerate(NAMES[1:], start=1):
        dataset.add_class("hand", class_id, name)
    for k, ((boxes, class_ids), _) in enumerate(IMAGES):
        dataset.add_image("hand", k, None, boxes=boxes, class_ids=class_ids,
                          height=SHAPE[0], width=SHAPE[1])
    dataset.prepare()
    evaluator = Evaluator(dataset)
    for k, (_, det) in enumerate(IMAGES):
        evaluator.add(k, det)
    from_evaluator = evaluator_errors(evaluator)
    assert [r.image_id for r in from_evaluator] == [0, 1, 2, 3]
    for r, k in zip(from_evaluator, range(4)):
        direct = match(k)
        for field in ("gt_class_ids", "pred_class_ids", "pred_index", "gt_match",
                      "pred_match"):
            np.testing.assert_array_equal(getattr(r, field), getattr(direct, field), field)
        np.testing.assert_allclose(r.pred_scores, direct.pred_scores)


def test_bad_input_names_the_image():
    det = DET0
    with pytest.raises(ValueError, match="image 7: gt_masks"):
        match_image(rects(GT0[0]), [1, 2], det["rois"], det["class_ids"], det["scores"],
                    det["masks"], image_id=7)
    with pytest.raises(ValueError, match="image 7: rois"):
        match_image(rects(GT0[0]), GT0[1], det["rois"][:2], det["class_ids"], det["scores"],
                    det["masks"], image_id=7)
    with pytest.raises(ValueError, match=r"image 7: detection masks are \(20, 40\)"):
        match_image(rects(GT0[0]), GT0[1], det["rois"], det["class_ids"], det["scores"],
                    det["masks"][:20], image_id=7)
