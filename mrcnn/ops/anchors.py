"""Anchors on tensors: the graph twin of :func:`mrcnn.core.anchors.generate_pyramid_anchors`,
for an input shape known only when the graph runs (rectangular and variable image sizes).

Glossary
--------
- ``cell_anchors``: per pyramid level, float64 [k, (y1, x1, y2, x2)] offsets of one cell's anchors
  from the cell centre (:func:`mrcnn.core.anchors.cell_anchors`, the one owner of that layout).
- ``feature_shapes``: int32 [levels, (height, width)] of the feature maps the RPN scores.
- Cell centres are ``(cell_y * feature_stride, cell_x * feature_stride)`` pixels on every
  ``anchor_stride``-th cell; anchors are ordered level, then cell row by row (y outer, x inner),
  then the cell's anchors: exactly the NumPy order, which the RPN targets use.
- Results are normalized boxes (:func:`mrcnn.core.boxes.norm_boxes`: ``(y1, x1, y2 - 1, x2 - 1)``
  over ``(h - 1, w - 1, h - 1, w - 1)``), computed in float64 as the NumPy code does and then cast
  to float32, so they equal :func:`mrcnn.core.anchors.get_anchors` bit for bit.
"""
import tensorflow as tf

__all__ = ["level_anchors_graph", "pyramid_anchors_graph"]


def level_anchors_graph(cell_anchors, feature_shape, feature_stride, anchor_stride):
    """Pixel anchors of one feature map: float64 [cells * k, 4] (see the glossary).

    cell_anchors: float64 [k, 4]; feature_shape: int32 [2]; feature_stride, anchor_stride: ints.
    """
    shifts_y = tf.cast(tf.range(0, feature_shape[0], anchor_stride) * feature_stride, tf.float64)
    shifts_x = tf.cast(tf.range(0, feature_shape[1], anchor_stride) * feature_stride, tf.float64)
    shifts_x, shifts_y = tf.meshgrid(shifts_x, shifts_y)
    centers = tf.stack([tf.reshape(shifts_y, [-1]), tf.reshape(shifts_x, [-1])], axis=1)
    centers = tf.concat([centers, centers], axis=1)
    offsets = tf.constant(cell_anchors, tf.float64)
    return tf.reshape(centers[:, tf.newaxis, :] + offsets[tf.newaxis], [-1, 4])


def pyramid_anchors_graph(cell_anchors, feature_shapes, feature_strides, anchor_stride,
                          image_shape):
    """Normalized anchors of every level, concatenated: float32 [N, (y1, x1, y2, x2)].

    cell_anchors: one float64 [k, 4] array per level; feature_shapes: one int32 [2] tensor per
    level; feature_strides: one int per level; image_shape: int32 [2] (height, width) of the
    network input the anchors are normalized to.
    """
    pixels = tf.concat([level_anchors_graph(cells, shape, stride, anchor_stride)
                        for cells, shape, stride in zip(cell_anchors, feature_shapes,
                                                        feature_strides)], axis=0)
    h, w = tf.unstack(tf.cast(image_shape, tf.float64))
    scale = tf.stack([h - 1, w - 1, h - 1, w - 1])
    shift = tf.constant([0.0, 0.0, 1.0, 1.0], tf.float64)
    return tf.cast((pixels - shift) / scale, tf.float32)
