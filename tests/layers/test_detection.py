"""DetectionLayer: background and confidence thresholds, per-class NMS, sorting, padding."""
import numpy as np
import tensorflow as tf

from mrcnn.core.meta import compose_image_meta
from mrcnn.layers.detection import DetectionLayer

STD = (0.1, 0.1, 0.2, 0.2)


def run(rois, probs, deltas=None, window=(0, 0, 101, 101), shape=(101, 101, 3), **kwargs):
    rois = np.asarray(rois, np.float32)[np.newaxis]
    probs = np.asarray(probs, np.float32)[np.newaxis]
    n, c = probs.shape[1:]
    if deltas is None:
        deltas = np.zeros((1, n, c, 4), np.float32)
    meta = compose_image_meta(0, shape, shape, window, 1.0, np.ones(c))[np.newaxis]
    layer = DetectionLayer(bbox_std_dev=STD, **kwargs)
    return layer([tf.constant(rois), tf.constant(probs), tf.constant(deltas),
                  tf.constant(meta, tf.float32)]).numpy()[0]


def test_thresholds_nms_order_and_padding():
    rois = [[0.1, 0.1, 0.5, 0.5],    # class 1, 0.9
            [0.1, 0.1, 0.5, 0.52],   # class 1, 0.8 -> IoU 0.95 with the first: suppressed
            [0.1, 0.1, 0.5, 0.5],    # class 2, 0.85 -> same box, other class: kept
            [0.6, 0.6, 0.9, 0.9],    # background wins: dropped
            [0.6, 0.6, 0.8, 0.8]]    # class 1 at 0.6 < min_confidence 0.7: dropped
    probs = [[0.1, 0.9, 0.0], [0.2, 0.8, 0.0], [0.15, 0.0, 0.85], [0.9, 0.05, 0.05],
             [0.4, 0.6, 0.0]]
    out = run(rois, probs, min_confidence=0.7, max_instances=4, nms_threshold=0.3)
    assert out.shape == (4, 6)
    np.testing.assert_allclose(out[0], [0.1, 0.1, 0.5, 0.5, 1, 0.9], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.1, 0.1, 0.5, 0.5, 2, 0.85], atol=1e-6)
    assert not out[2:].any()


def test_zero_confidence_keeps_all_foreground_and_caps_count():
    rois = [[0.0, 0.0, 0.1, 0.1], [0.2, 0.2, 0.3, 0.3], [0.4, 0.4, 0.5, 0.5]]
    probs = [[0.4, 0.6], [0.3, 0.7], [0.2, 0.8]]
    out = run(rois, probs, min_confidence=0.0, max_instances=2, nms_threshold=0.3)
    # The two best scores, best first.
    np.testing.assert_allclose(out[:, 5], [0.8, 0.7], atol=1e-6)
    np.testing.assert_allclose(out[:, :4], [[0.4, 0.4, 0.5, 0.5], [0.2, 0.2, 0.3, 0.3]],
                               atol=1e-6)


def test_deltas_of_the_winning_class_times_std_and_clip_to_window():
    rois = [[0.2, 0.2, 0.4, 0.4]]
    probs = [[0.0, 0.1, 0.9]]
    deltas = np.zeros((1, 1, 3, 4), np.float32)
    deltas[0, 0, 2] = [1.0, 0.0, 0.0, 0.0]     # dy 1 * 0.1 * height 0.2 = +0.02
    deltas[0, 0, 1] = [9.0, 9.0, 9.0, 9.0]     # another class's deltas are ignored
    out = run(rois, probs, deltas, min_confidence=0.5, max_instances=2, nms_threshold=0.3)
    np.testing.assert_allclose(out[0, :4], [0.22, 0.2, 0.42, 0.4], atol=1e-6)
    # Window is the top half of a 101-px image: rows 0..51 px -> normalized (51 - 1) / 100 = 0.5.
    rois = [[0.3, 0.1, 0.7, 0.4]]
    out = run(rois, probs, window=(0, 0, 51, 101), min_confidence=0.5, max_instances=1,
              nms_threshold=0.3)
    np.testing.assert_allclose(out[0, :4], [0.3, 0.1, 0.5, 0.4], atol=1e-6)


def test_nothing_detected_is_all_padding():
    out = run([[0.1, 0.1, 0.2, 0.2]], [[0.99, 0.01]], min_confidence=0.5, max_instances=3,
              nms_threshold=0.3)
    assert out.shape == (3, 6) and not out.any()


def test_get_config():
    layer = DetectionLayer(STD, 0.5, 7, 0.4, name="mrcnn_detection")
    clone = DetectionLayer.from_config(layer.get_config())
    assert (clone.min_confidence, clone.max_instances, clone.nms_threshold) == (0.5, 7, 0.4)
