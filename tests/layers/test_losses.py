"""The five losses against plain NumPy loops written here, and 0 (not NaN) with nothing to measure.

Every value differs per class channel, per ROI / anchor and per image (a batch of 2 with
different positives each), so a loss that gathers the wrong class channel, the wrong ROI, the
wrong image of the batch, or that lets negatives / padding in, gives another number. Each test
also checks that those wrong readings do give another number (``_differs``): the test data
cannot hide the mistake the way equal values everywhere would.
"""
import math

import numpy as np
import pytest
import tensorflow as tf

from mrcnn.layers import losses as L


def c(x, dtype=tf.float32):
    return tf.constant(np.asarray(x), dtype)


def _differs(expected, *wrong):
    for value in wrong:
        assert abs(value - expected) > 1e-3 * max(1.0, abs(expected)), (value, expected)


def _log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max()
    return shifted - math.log(np.exp(shifted).sum())


def _smooth_l1(diff):
    diff = abs(float(diff))
    return 0.5 * diff * diff if diff < 1 else diff - 0.5


def _bce(y, p):
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


# ------------------------------------------------------------------------------- RPN class
# match per image and anchor: 1 positive, -1 negative, 0 neutral; the two images differ.
RPN_MATCH = np.array([[1, -1, 0, 1, -1],
                      [0, 1, -1, -1, 1]], np.int32)


def _rpn_class_expected(match, logits, include_neutral=False, swap_images=False):
    losses = []
    for b in range(match.shape[0]):
        for a in range(match.shape[1]):
            if match[b, a] == 0 and not include_neutral:
                continue
            label = 1 if match[b, a] == 1 else 0
            row = logits[1 - b if swap_images else b, a]
            losses.append(-_log_softmax(row)[label])
    return sum(losses) / len(losses)


def test_rpn_class_loss_by_numpy_loop():
    rng = np.random.default_rng(1)
    logits = rng.uniform(-3, 3, (2, 5, 2)).astype(np.float32)
    expected = _rpn_class_expected(RPN_MATCH, logits)
    loss = L.rpn_class_loss_graph(c(RPN_MATCH[..., None], tf.int32), c(logits)).numpy()
    assert loss == pytest.approx(expected, rel=1e-5)
    _differs(expected, _rpn_class_expected(RPN_MATCH, logits, include_neutral=True),
             _rpn_class_expected(RPN_MATCH, logits, swap_images=True),
             _rpn_class_expected(RPN_MATCH, logits[..., ::-1]))       # labels swapped


def test_rpn_class_loss_by_hand():
    match = c([[[1], [-1], [0]]], tf.int32)
    logits = c([[[0.0, 0.0], [0.0, math.log(3)], [5.0, -5.0]]])
    # Anchor 0 positive with p = 0.5 -> log 2; anchor 1 negative with p(bg) = 1/4 -> log 4;
    # anchor 2 neutral: left out.
    expected = (math.log(2) + math.log(4)) / 2
    assert L.rpn_class_loss_graph(match, logits).numpy() == pytest.approx(expected, rel=1e-5)


# -------------------------------------------------------------------------------- RPN bbox
def _rpn_bbox_expected(match, target, pred, per_image=True, include_negatives=False):
    """target[b, k] belongs to the k-th positive anchor of image b (anchor order)."""
    total, count, flat_k = 0.0, 0, 0
    for b in range(match.shape[0]):
        k = 0
        for a in range(match.shape[1]):
            if match[b, a] == 1:
                row = target[b, k] if per_image else target.reshape(-1, 4)[flat_k]
                k, flat_k = k + 1, flat_k + 1
            elif match[b, a] == -1 and include_negatives:
                row = np.zeros(4)
            else:
                continue
            for i in range(4):
                total += _smooth_l1(row[i] - pred[b, a, i])
                count += 1
    return total / count


def test_rpn_bbox_loss_packs_targets_per_image():
    rng = np.random.default_rng(2)
    # Image 0: positives at anchors 0 and 3; image 1: at anchors 1 and 4 (targets padded to 3).
    pred = rng.uniform(-2, 2, (2, 5, 4)).astype(np.float32)
    target = np.zeros((2, 3, 4), np.float32)
    target[0, :2] = rng.uniform(-2, 2, (2, 4))
    target[1, :2] = rng.uniform(-2, 2, (2, 4))
    target[:, 2] = 9.0                               # past each image's count: padding
    expected = _rpn_bbox_expected(RPN_MATCH, target, pred)
    loss = L.rpn_bbox_loss_graph(c(target), c(RPN_MATCH[..., None], tf.int32), c(pred)).numpy()
    assert loss == pytest.approx(expected, rel=1e-5)
    _differs(expected,
             _rpn_bbox_expected(RPN_MATCH, target, pred, per_image=False),   # packed as one list
             _rpn_bbox_expected(RPN_MATCH, target, pred, include_negatives=True),
             _rpn_bbox_expected(RPN_MATCH, target[::-1], pred))              # images swapped


def test_rpn_bbox_loss_by_hand():
    # Image 0 has positives at anchors 1 and 2, image 1 at anchor 0.
    match = c([[[0], [1], [1]], [[1], [-1], [0]]], tf.int32)
    pred = np.zeros((2, 3, 4), np.float32)
    pred[0, 0] = pred[1, 1] = [5, 5, 5, 5]          # neutral / negative anchors: ignored
    target = np.zeros((2, 4, 4), np.float32)
    target[0, 0] = [0.5, 0, 0, 0]        # |d| = 0.5 < 1 -> 0.125
    target[0, 1] = [2.0, 0, 0, 0]        # |d| = 2 -> 1.5
    target[1, 0] = [0, 0, 0, 1.0]        # |d| = 1 -> 0.5
    target[1, 1] = [9, 9, 9, 9]          # beyond image 1's count: ignored
    expected = (0.125 + 1.5 + 0.5) / 12
    loss = L.rpn_bbox_loss_graph(c(target), match, c(pred)).numpy()
    assert loss == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------- mrcnn class
def _class_expected(target_ids, logits, active, first_image_active=False):
    total = weight = 0.0
    for b in range(target_ids.shape[0]):
        for r in range(target_ids.shape[1]):
            row = logits[b, r]
            w = active[0 if first_image_active else b, int(np.argmax(row))]
            total += w * -_log_softmax(row)[target_ids[b, r]]
            weight += w
    return total / weight


def test_mrcnn_class_loss_by_numpy_loop():
    rng = np.random.default_rng(3)
    target_ids = np.array([[2, 1, 0, 0], [3, 0, 1, 0]], np.int32)     # 0: background / padding
    logits = rng.uniform(-3, 3, (2, 4, 4)).astype(np.float32)
    # Each image's own active classes: a row predicting an inactive class is left out.
    active = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], np.float32)
    argmax = logits.argmax(axis=2)
    assert not active[0, argmax[0]].all() and not active[1, argmax[1]].all()
    expected = _class_expected(target_ids, logits, active)
    loss = L.mrcnn_class_loss_graph(c(target_ids, tf.int32), c(logits), c(active)).numpy()
    assert loss == pytest.approx(expected, rel=1e-5)
    _differs(expected,
             _class_expected(target_ids, logits, np.ones_like(active)),          # no filter
             _class_expected(target_ids, logits, active, first_image_active=True),
             _class_expected(target_ids[::-1], logits, active))                  # images swapped


def test_mrcnn_class_loss_uses_each_images_active_classes():
    target = c([[1, 0], [2, 0]], tf.int32)
    logits = np.zeros((2, 2, 3), np.float32)
    logits[1, :, 2] = 10.0               # image 1 predicts class 2, inactive there
    active = c([[1, 1, 1], [1, 1, 0]])
    # Image 0: both rows uniform -> log 3 each; image 1 rows predict an inactive class: ignored.
    loss = L.mrcnn_class_loss_graph(target, c(logits), active).numpy()
    assert loss == pytest.approx(math.log(3), rel=1e-5)


# ------------------------------------------------------------------------------ mrcnn bbox
# Positive ROIs: image 0 rows 0 (class 2) and 2 (class 3); image 1 rows 1 (class 1), 2 (class 2).
TARGET_IDS = np.array([[2, 0, 3], [0, 1, 2]], np.int32)


def _gathered_rows(target_ids, num_classes, class_shift, include_negatives):
    """(image, ROI, class channel) of each row a head loss reads, by a plain loop: positives
    only (unless include_negatives), the channel of their class (shifted to model a bug)."""
    for b in range(target_ids.shape[0]):
        for r in range(target_ids.shape[1]):
            cls = int(target_ids[b, r])
            if cls > 0 or include_negatives:
                yield b, r, (cls + class_shift) % num_classes


def _bbox_expected(target_ids, target_bbox, pred_bbox, class_shift=0, include_negatives=False):
    total, count = 0.0, 0
    for b, r, cls in _gathered_rows(target_ids, pred_bbox.shape[2], class_shift,
                                    include_negatives):
        for i in range(4):
            total += _smooth_l1(target_bbox[b, r, i] - pred_bbox[b, r, cls, i])
            count += 1
    return total / count


def test_mrcnn_bbox_loss_by_numpy_loop():
    rng = np.random.default_rng(4)
    target_bbox = rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    target_bbox[TARGET_IDS == 0] = 0                       # negatives carry zero deltas
    pred_bbox = rng.uniform(-2, 2, (2, 3, 4, 4)).astype(np.float32)
    expected = _bbox_expected(TARGET_IDS, target_bbox, pred_bbox)
    loss = L.mrcnn_bbox_loss_graph(c(target_bbox), c(TARGET_IDS, tf.int32), c(pred_bbox)).numpy()
    assert loss == pytest.approx(expected, rel=1e-5)
    _differs(expected,
             _bbox_expected(TARGET_IDS, target_bbox, pred_bbox, class_shift=1),
             _bbox_expected(TARGET_IDS, target_bbox, pred_bbox, include_negatives=True),
             _bbox_expected(TARGET_IDS, target_bbox, pred_bbox[::-1]),           # images swapped
             _bbox_expected(TARGET_IDS, target_bbox, pred_bbox[:, ::-1]))        # ROIs reversed


def test_mrcnn_bbox_loss_by_hand():
    target_ids = c([[2, 0]], tf.int32)
    target_bbox = c([[[0.5, 0, 0, 0], [0, 0, 0, 0]]])
    pred_bbox = np.zeros((1, 2, 3, 4), np.float32)
    pred_bbox[0, 0, 1] = [7, 7, 7, 7]    # another class's deltas: ignored
    pred_bbox[0, 1, 2] = [7, 7, 7, 7]    # a negative ROI: ignored
    assert L.mrcnn_bbox_loss_graph(target_bbox, target_ids, c(pred_bbox)).numpy() == \
        pytest.approx(0.125 / 4)


# ------------------------------------------------------------------------------ mrcnn mask
def _mask_expected(target_ids, target_masks, pred_masks, class_shift=0,
                   include_negatives=False):
    total, count = 0.0, 0
    for b, r, cls in _gathered_rows(target_ids, pred_masks.shape[4], class_shift,
                                    include_negatives):
        for y in range(target_masks.shape[2]):
            for x in range(target_masks.shape[3]):
                total += _bce(target_masks[b, r, y, x], pred_masks[b, r, y, x, cls])
                count += 1
    return total / count


def test_mrcnn_mask_loss_by_numpy_loop():
    rng = np.random.default_rng(5)
    target_masks = (rng.uniform(size=(2, 3, 3, 3)) > 0.5).astype(np.float32)
    pred_masks = rng.uniform(0.05, 0.95, (2, 3, 3, 3, 4)).astype(np.float32)
    expected = _mask_expected(TARGET_IDS, target_masks, pred_masks)
    loss = L.mrcnn_mask_loss_graph(c(target_masks), c(TARGET_IDS, tf.int32),
                                   c(pred_masks)).numpy()
    assert loss == pytest.approx(expected, rel=1e-5)
    _differs(expected,
             _mask_expected(TARGET_IDS, target_masks, pred_masks, class_shift=1),
             _mask_expected(TARGET_IDS, target_masks, pred_masks, include_negatives=True),
             _mask_expected(TARGET_IDS, target_masks, pred_masks[::-1]),         # images swapped
             _mask_expected(TARGET_IDS, target_masks, pred_masks[:, ::-1]),      # ROIs reversed
             _mask_expected(TARGET_IDS, target_masks,
                            pred_masks.transpose(0, 1, 3, 2, 4)))               # y, x swapped


def test_mrcnn_mask_loss_by_hand():
    # One positive ROI (class 1) with a 1x2 mask [1, 0]; the class-1 channel predicts
    # [0.8, 0.25] -> (-log 0.8 - log 0.75) / 2. The other channels and the negative ROI hold
    # values that would change the result.
    target_ids = c([[0, 1]], tf.int32)
    target_masks = np.array([[[[1, 1]], [[1, 0]]]], np.float32)           # [1, 2, 1, 2]
    pred_masks = np.full((1, 2, 1, 2, 3), 0.5, np.float32)
    pred_masks[0, 1, 0, :, 1] = [0.8, 0.25]
    pred_masks[0, 1, 0, :, 2] = [0.1, 0.9]
    expected = (-math.log(0.8) - math.log(0.75)) / 2
    loss = L.mrcnn_mask_loss_graph(c(target_masks), target_ids, c(pred_masks)).numpy()
    assert loss == pytest.approx(expected, rel=1e-5)


def test_losses_accept_float16_predictions():
    """Mixed precision hands the heads' float16 outputs to the losses: computed in float32."""
    rng = np.random.default_rng(6)
    target_bbox = rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    pred_bbox = rng.uniform(-2, 2, (2, 3, 4, 4)).astype(np.float16)
    loss = L.mrcnn_bbox_loss_graph(c(target_bbox), c(TARGET_IDS, tf.int32),
                                   c(pred_bbox, tf.float16))
    assert loss.dtype == tf.float32
    expected = _bbox_expected(TARGET_IDS, target_bbox, pred_bbox.astype(np.float32))
    assert loss.numpy() == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------------------ empty cases
def test_every_loss_is_zero_without_positives():
    no_match = c([[[0], [0]]], tf.int32)
    assert L.rpn_class_loss_graph(no_match, c(np.zeros((1, 2, 2)))).numpy() == 0
    assert L.rpn_bbox_loss_graph(c(np.zeros((1, 2, 4))), no_match,
                                 c(np.zeros((1, 2, 4)))).numpy() == 0
    background = c([[0, 0]], tf.int32)
    assert L.mrcnn_bbox_loss_graph(c(np.zeros((1, 2, 4))), background,
                                   c(np.zeros((1, 2, 3, 4)))).numpy() == 0
    assert L.mrcnn_mask_loss_graph(c(np.zeros((1, 2, 4, 4))), background,
                                   c(np.full((1, 2, 4, 4, 3), 0.5))).numpy() == 0
    # No active class predicted at all: 0 instead of 0 / 0.
    loss = L.mrcnn_class_loss_graph(background, c(np.zeros((1, 2, 3))), c([[0, 0, 0]]))
    assert loss.numpy() == 0


def test_one_image_without_positives_does_not_dilute_the_other():
    """Image 0 has no positive anchor / ROI: the means are over image 1's positives only."""
    rng = np.random.default_rng(7)
    match = np.array([[0, -1, 0], [1, -1, 1]], np.int32)
    pred = rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    target = np.zeros((2, 2, 4), np.float32)
    target[1] = rng.uniform(-2, 2, (2, 4))
    expected = _rpn_bbox_expected(match, target, pred)
    loss = L.rpn_bbox_loss_graph(c(target), c(match[..., None], tf.int32), c(pred)).numpy()
    assert loss == pytest.approx(expected, rel=1e-5)
    ids = np.array([[0, 0, 0], [0, 3, 1]], np.int32)
    masks = (rng.uniform(size=(2, 3, 2, 2)) > 0.5).astype(np.float32)
    pred_masks = rng.uniform(0.05, 0.95, (2, 3, 2, 2, 4)).astype(np.float32)
    loss = L.mrcnn_mask_loss_graph(c(masks), c(ids, tf.int32), c(pred_masks)).numpy()
    assert loss == pytest.approx(_mask_expected(ids, masks, pred_masks), rel=1e-5)


def test_loss_layer_names_and_config():
    layer = L.LossLayer("mrcnn_mask_loss")
    assert layer.name == "mrcnn_mask_loss"
    assert L.LossLayer.from_config(layer.get_config()).loss_name == "mrcnn_mask_loss"
    with pytest.raises(ValueError, match="Unknown loss"):
        L.LossLayer("mask_loss")
