"""Tests of mrcnn/ops/molding.py: the in-graph molding and unmolding (the exported model's) against
the NumPy code: skimage's resize, MaskRCNN.mold_inputs, unmold_mask and
MaskRCNN.unmold_detections."""
import types

import numpy as np
import pytest
import tensorflow as tf

from mrcnn.core.boxes import norm_boxes
from mrcnn.core.images import resize
from mrcnn.core.masks import unmold_mask
from mrcnn.maskrcnn import MaskRCNN
from mrcnn.ops.molding import (
    mold_images_graph,
    paste_masks_graph,
    resample_bilinear,
    unmold_detections_graph,
)
from tiny import tiny_config


@pytest.mark.parametrize("source, target", [
    ((28, 28), (37, 53)), ((50, 70), (128, 91)), ((300, 200), (128, 85)), ((5, 7), (1, 2)),
    ((4, 4), (8, 8))])
def test_resample_is_skimage_resize(source, target, rng):
    image = rng.random(source + (3,)) * 255
    expected = resize(image, target, preserve_range=True)
    scale = np.array([[source[0] / target[0], source[1] / target[1]]], np.float32)
    got = resample_bilinear(tf.constant(image[None], tf.float32), target, tf.zeros([1, 2]),
                            tf.constant(scale))[0].numpy()
    # resize clips to the input's range, the op leaves that to its callers.
    np.testing.assert_allclose(np.clip(got, image.min(), image.max()), expected, atol=0.01)


@pytest.mark.parametrize("mode, size, molded_size", [
    ("square", (40, 90), (128, 128)), ("square", (64, 64), (128, 128)),
    ("square", (100, 37), (128, 128)), ("square", (128, 200), (128, 128)),
    ("square", (130, 128), (128, 128)), ("square", (300, 301), (128, 128)),
    ("square", (1, 50), (128, 128)),
    # 40x90: scale 64/40 = 1.6 -> 64x144 > 128 -> 128/90 -> 57x128 -> padded 64x128
    ("scale_pad64", (40, 90), (64, 128)), ("scale_pad64", (300, 201), (128, 128)),
    ("scale_pad64", (100, 37), (128, 64)),      # 64/37 -> 173x64 > 128 -> 128x47 -> 128x64
    ("pad64", (40, 90), (64, 192)), ("pad64", (130, 128), (192, 128)),
    ("none", (64, 128), (64, 128)),
])
def test_mold_images_graph_is_mold_inputs(mode, size, molded_size, rng):
    config = tiny_config(IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128, IMAGE_RESIZE_MODE=mode)
    image = rng.integers(0, 256, size + (3,)).astype(np.uint8)
    molded, metas, windows = MaskRCNN.mold_inputs(types.SimpleNamespace(config=config), [image])
    got, got_metas, got_window, got_size = mold_images_graph(
        tf.constant(np.stack([image, image])), config.IMAGE_MIN_DIM, config.IMAGE_MAX_DIM,
        config.MEAN_PIXEL, config.NUM_CLASSES, mode=mode)
    assert molded.shape[1:3] == molded_size
    assert got.shape[1:3] == molded_size and tuple(got_size.numpy()) == molded_size
    np.testing.assert_array_equal(got_window, windows[0])
    np.testing.assert_allclose(got_metas, np.repeat(metas, 2, axis=0), rtol=1e-6)
    # Resampled values agree to float rounding, so truncation to uint8 moves a few by one.
    difference = np.abs(got.numpy() - molded)
    assert difference.max() <= 1.0 + 1e-4
    assert (difference > 0.5).mean() < 0.002


def test_paste_masks_is_unmold_mask(rng):
    for _ in range(20):
        mask = rng.random((7, 7)).astype(np.float32)
        y1, x1 = rng.integers(-5, 50, 2)
        height, width = rng.integers(1, 40, 2)
        box = np.array([y1, x1, y1 + height, x1 + width])
        expected = unmold_mask(mask, box, (60, 50))
        got = paste_masks_graph(tf.constant(mask[None]), tf.constant(box[None], tf.int32),
                                (60, 50))[0].numpy()
        assert (got != expected).sum() <= 1, box


def synthetic_detections(rng, image_shape, molded_side, window):
    """Two images' padded detections (normalized to the molded image) and masks: image 0 with
    three real rows, the last one a box of no height (dropped by unmolding), image 1 with one;
    then zero rows."""
    wy1, wx1, wy2, wx2 = norm_boxes(window, (molded_side, molded_side))
    shift = np.array([wy1, wx1, wy1, wx1])
    span = np.array([wy2 - wy1, wx2 - wx1, wy2 - wy1, wx2 - wx1])

    def molded(pixel_boxes):
        return norm_boxes(np.array(pixel_boxes), image_shape[:2]) * span + shift

    detections = np.zeros((2, 5, 6), np.float32)
    detections[0, :3, :4] = molded([[2, 3, 20, 25], [10, 0, 40, 90], [5, 10, 5, 30]])
    detections[0, :3, 4:] = [[1, 0.9], [3, 0.8], [2, 0.7]]
    detections[1, :1, :4] = molded([[5, 5, 30, 40]])
    detections[1, :1, 4:] = [[2, 0.95]]
    masks = rng.random((2, 5, 14, 14, 4)).astype(np.float32)
    return detections, masks


def test_unmold_detections_graph_is_unmold_detections(rng):
    image_shape, side, window = (40, 90, 3), 64, np.array([14, 0, 50, 64])
    detections, masks = synthetic_detections(rng, image_shape, side, window)
    got = unmold_detections_graph(detections, masks, image_shape[:2], [side, side], window)
    np.testing.assert_array_equal(got["num_detections"], [2, 1])
    assert got["rois"].shape == (2, 2, 4) and got["masks"].shape == (2, 40, 90, 2)
    for i in range(2):
        rois, class_ids, scores, full = MaskRCNN.unmold_detections(
            None, detections[i], masks[i], image_shape, (side, side, 3), window)
        n = len(class_ids)
        np.testing.assert_array_equal(got["rois"][i, :n], rois)
        np.testing.assert_array_equal(got["class_ids"][i, :n], class_ids)
        np.testing.assert_allclose(got["scores"][i, :n], scores)
        assert (got["masks"][i, :, :, :n].numpy() != full).sum() <= n
        # Rows past the image's count are zero.
        assert not got["rois"][i, n:].numpy().any() and not got["masks"][i, ..., n:].numpy().any()
        assert not got["class_ids"][i, n:].numpy().any()


def test_unmold_detections_graph_without_detections():
    got = unmold_detections_graph(np.zeros((1, 5, 6), np.float32),
                                  np.zeros((1, 5, 14, 14, 4), np.float32), (30, 20), (64, 64),
                                  np.array([0, 11, 64, 53]))
    np.testing.assert_array_equal(got["num_detections"], [0])
    assert got["rois"].shape == (1, 0, 4) and got["masks"].shape == (1, 30, 20, 0)
