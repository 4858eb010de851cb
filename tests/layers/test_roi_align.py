"""PyramidROIAlign: level assignment, constant maps, original order restored."""
import numpy as np
import tensorflow as tf

from mrcnn.core.meta import compose_image_meta
from mrcnn.layers.roi_align import PyramidROIAlign, roi_level_graph


def meta_for(shape, num_classes=4):
    return compose_image_meta(0, shape, shape, (0, 0, shape[0], shape[1]), 1.0,
                              np.zeros(num_classes))


def test_roi_level_by_hand():
    # Image 1024 x 1024: level = 4 + round(log2(sqrt(area_px) / 224)).
    # 224 px box -> 4; 112 -> 3; 56 -> 2; 448 -> 5; 14 -> 4 - 4 = 0 -> clamped 2; 1024 -> 6.2 -> 5.
    sides = np.array([224, 112, 56, 448, 14, 1024], np.float32) / 1024
    boxes = np.stack([np.zeros(6), np.zeros(6), sides, sides], axis=1)[np.newaxis]
    levels = roi_level_graph(tf.constant(boxes, tf.float32), tf.constant([1024., 1024., 3.]))
    assert levels.numpy().tolist() == [[4, 3, 2, 5, 2, 5]]


def test_constant_maps_give_their_level_in_box_order():
    # Feature map of level k is filled with k, so each pooled crop shows the level of its box.
    # Level = 4 + round(log2(sqrt(h_px * w_px) / 224)): sides 448 -> 5, 224 -> 4, 112 -> 3, 56 -> 2.
    size = 512
    shape = (size, size, 3)
    maps = [tf.fill([2, size // 2 ** k, size // 2 ** k, 3], float(k)) for k in range(2, 6)]
    sides = np.array([[448, 56, 224, 112], [112, 224, 56, 448]], np.float32) / size
    boxes = np.zeros((2, 4, 4), np.float32)
    boxes[..., 2] = sides
    boxes[..., 3] = sides
    meta = np.stack([meta_for(shape), meta_for(shape)]).astype(np.float32)
    out = PyramidROIAlign([3, 3])([tf.constant(boxes), tf.constant(meta)] + maps).numpy()
    assert out.shape == (2, 4, 3, 3, 3)
    np.testing.assert_allclose(out[..., 0, 0, 0], [[5, 2, 4, 3], [3, 4, 2, 5]])
    assert np.all(out == out[..., :1, :1, :1])


def test_bilinear_sampling_of_a_ramp():
    # One level-2 map whose value is its x coordinate; crop_and_resize samples the box's corner-
    # aligned grid: x from x1 * (W - 1) to x2 * (W - 1).
    w = 16
    ramp = np.tile(np.arange(w, dtype=np.float32), (w, 1))[np.newaxis, :, :, np.newaxis]
    maps = [tf.constant(ramp)] + [tf.zeros([1, w // 2 ** k, w // 2 ** k, 1]) for k in (1, 2, 3)]
    box = np.array([[[0.0, 0.0, 0.2, 0.2]]], np.float32)   # small box -> level 2
    meta = meta_for((64, 64, 3))[np.newaxis].astype(np.float32)
    out = PyramidROIAlign([2, 2])([tf.constant(box), tf.constant(meta)] + maps).numpy()
    # x samples at 0 and 0.2 * 15 = 3.
    np.testing.assert_allclose(out[0, 0, 0, :, 0], [0.0, 3.0], atol=1e-5)


def test_get_config():
    layer = PyramidROIAlign([7, 7], name="roi_align_classifier")
    assert PyramidROIAlign.from_config(layer.get_config()).pool_shape == (7, 7)
