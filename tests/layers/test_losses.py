"""The five losses: hand-computed values, and 0 (not NaN) when there is nothing to measure."""
import math

import numpy as np
import pytest
import tensorflow as tf

from mrcnn.layers import losses as L


def c(x, dtype=tf.float32):
    return tf.constant(np.asarray(x), dtype)


def test_rpn_class_loss_by_hand():
    match = c([[[1], [-1], [0]]], tf.int32)
    logits = c([[[0.0, 0.0], [0.0, math.log(3)], [5.0, -5.0]]])
    # Anchor 0 positive with p = 0.5 -> log 2; anchor 1 negative with p(bg) = 1/4 -> log 4.
    expected = (math.log(2) + math.log(4)) / 2
    assert L.rpn_class_loss_graph(match, logits).numpy() == pytest.approx(expected, rel=1e-5)


def test_rpn_bbox_loss_packs_targets_per_image():
    # Image 0 has positives at anchors 1 and 2, image 1 at anchor 0.
    match = c([[[0], [1], [1]], [[1], [-1], [0]]], tf.int32)
    pred = np.zeros((2, 3, 4), np.float32)
    target = np.zeros((2, 4, 4), np.float32)
    target[0, 0] = [0.5, 0, 0, 0]        # |d| = 0.5 < 1 -> 0.125
    target[0, 1] = [2.0, 0, 0, 0]        # |d| = 2 -> 1.5
    target[1, 0] = [0, 0, 0, 1.0]        # |d| = 1 -> 0.5
    target[1, 1] = [9, 9, 9, 9]          # beyond image 1's count: ignored
    expected = (0.125 + 1.5 + 0.5) / 12
    loss = L.rpn_bbox_loss_graph(c(target), match, c(pred)).numpy()
    assert loss == pytest.approx(expected, rel=1e-6)


def test_mrcnn_class_loss_uses_each_images_active_classes():
    target = c([[1, 0], [2, 0]], tf.int32)
    logits = np.zeros((2, 2, 3), np.float32)
    logits[1, :, 2] = 10.0               # image 1 predicts class 2, inactive there
    active = c([[1, 1, 1], [1, 1, 0]])
    # Image 0: both rows uniform -> log 3 each; image 1 rows predict an inactive class: ignored.
    loss = L.mrcnn_class_loss_graph(target, c(logits), active).numpy()
    assert loss == pytest.approx(math.log(3), rel=1e-5)


def test_mrcnn_bbox_and_mask_loss_by_hand():
    target_ids = c([[2, 0]], tf.int32)
    target_bbox = c([[[0.5, 0, 0, 0], [0, 0, 0, 0]]])
    pred_bbox = np.zeros((1, 2, 3, 4), np.float32)
    pred_bbox[0, 0, 1] = [7, 7, 7, 7]    # another class's deltas: ignored
    assert L.mrcnn_bbox_loss_graph(target_bbox, target_ids, c(pred_bbox)).numpy() == \
        pytest.approx(0.125 / 4)
    target_masks = np.zeros((1, 2, 2, 2), np.float32)
    target_masks[0, 0, 0, 0] = 1
    pred_masks = np.full((1, 2, 2, 2, 3), 0.5, np.float32)
    # Four pixels at p = 0.5 -> log 2 each.
    loss = L.mrcnn_mask_loss_graph(c(target_masks), target_ids, c(pred_masks)).numpy()
    assert loss == pytest.approx(math.log(2), rel=1e-4)


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


def test_loss_layer_names_and_config():
    layer = L.LossLayer("mrcnn_mask_loss")
    assert layer.name == "mrcnn_mask_loss"
    assert L.LossLayer.from_config(layer.get_config()).loss_name == "mrcnn_mask_loss"
    with pytest.raises(ValueError, match="Unknown loss"):
        L.LossLayer("mask_loss")
