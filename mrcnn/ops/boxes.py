"""Box arithmetic on tensors: the TensorFlow twins of :mod:`mrcnn.core.boxes`.

Glossary
--------
- A box is ``(y1, x1, y2, x2)``. Tensors here hold *normalized* boxes (see
  :func:`norm_boxes_graph`: 0 and 1 are the centres of the first and last pixels, (y2, x2) lies one
  pixel outside the box) unless the name ends in ``_px``.
- Deltas are ``(dy, dx, log(dh), log(dw))`` relative to a box's centre and size.
- Rows of zeros are padding (fixed-size tensors keep the graph static).
"""
import tensorflow as tf

from mrcnn.core.boxes import MAX_LOG_SIZE_RATIO


def apply_box_deltas_graph(boxes, deltas):
    """Apply deltas to boxes.

    boxes: [..., 4] (y1, x1, y2, x2); deltas: [..., 4] (dy, dx, log(dh), log(dw)).
    Returns [..., 4] refined boxes. log(dh), log(dw) are clamped at MAX_LOG_SIZE_RATIO, as
    mrcnn.core.boxes.apply_box_deltas.
    """
    height = boxes[..., 2] - boxes[..., 0]
    width = boxes[..., 3] - boxes[..., 1]
    center_y = boxes[..., 0] + 0.5 * height
    center_x = boxes[..., 1] + 0.5 * width
    center_y += deltas[..., 0] * height
    center_x += deltas[..., 1] * width
    height *= tf.exp(tf.minimum(deltas[..., 2], MAX_LOG_SIZE_RATIO))
    width *= tf.exp(tf.minimum(deltas[..., 3], MAX_LOG_SIZE_RATIO))
    y1 = center_y - 0.5 * height
    x1 = center_x - 0.5 * width
    return tf.stack([y1, x1, y1 + height, x1 + width], axis=-1, name="apply_box_deltas_out")


def clip_boxes_graph(boxes, window):
    """Clip boxes to a window.

    boxes: [..., 4]; window: [4] (y1, x1, y2, x2) or broadcastable to boxes[..., :1].
    """
    wy1, wx1, wy2, wx2 = tf.unstack(tf.cast(window, boxes.dtype), 4, axis=-1)
    wy1, wx1, wy2, wx2 = [w[..., tf.newaxis] if w.shape.rank else w for w in (wy1, wx1, wy2, wx2)]
    y1, x1, y2, x2 = tf.unstack(boxes, 4, axis=-1)
    y1 = tf.maximum(tf.minimum(y1, wy2), wy1)
    x1 = tf.maximum(tf.minimum(x1, wx2), wx1)
    y2 = tf.maximum(tf.minimum(y2, wy2), wy1)
    x2 = tf.maximum(tf.minimum(x2, wx2), wx1)
    return tf.stack([y1, x1, y2, x2], axis=-1, name="clipped_boxes")


def overlaps_graph(boxes1, boxes2):
    """IoU between two sets of boxes: boxes1 [N1, 4], boxes2 [N2, 4] -> [N1, N2], or per image
    of a batch: [B, N1, 4] and [B, N2, 4] -> [B, N1, N2].

    Empty inputs give an empty [N1, N2] matrix; zero-area pairs give 0, never NaN.
    """
    b1 = boxes1[..., :, tf.newaxis, :]
    b2 = boxes2[..., tf.newaxis, :, :]
    y1 = tf.maximum(b1[..., 0], b2[..., 0])
    x1 = tf.maximum(b1[..., 1], b2[..., 1])
    y2 = tf.minimum(b1[..., 2], b2[..., 2])
    x2 = tf.minimum(b1[..., 3], b2[..., 3])
    intersection = tf.maximum(x2 - x1, 0) * tf.maximum(y2 - y1, 0)
    area1 = (b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])
    area2 = (b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])
    union = area1 + area2 - intersection
    return tf.math.divide_no_nan(intersection, union)


def box_refinement_graph(box, gt_box):
    """Deltas that turn ``box`` [N, 4] into ``gt_box`` [N, 4] -> [N, 4] (dy, dx, log dh, log dw)."""
    box = tf.cast(box, tf.float32)
    gt_box = tf.cast(gt_box, tf.float32)
    height = box[:, 2] - box[:, 0]
    width = box[:, 3] - box[:, 1]
    center_y = box[:, 0] + 0.5 * height
    center_x = box[:, 1] + 0.5 * width
    gt_height = gt_box[:, 2] - gt_box[:, 0]
    gt_width = gt_box[:, 3] - gt_box[:, 1]
    gt_center_y = gt_box[:, 0] + 0.5 * gt_height
    gt_center_x = gt_box[:, 1] + 0.5 * gt_width
    dy = (gt_center_y - center_y) / height
    dx = (gt_center_x - center_x) / width
    dh = tf.math.log(gt_height / height)
    dw = tf.math.log(gt_width / width)
    return tf.stack([dy, dx, dh, dw], axis=1)


def trim_zeros_graph(boxes, name="trim_zeros"):
    """Drop all-zero rows of boxes [N, 4] -> (boxes [M, 4], non_zeros bool [N])."""
    non_zeros = tf.cast(tf.reduce_sum(tf.abs(boxes), axis=1), tf.bool)
    return tf.boolean_mask(boxes, non_zeros, name=name), non_zeros


def norm_boxes_graph(boxes, shape):
    """Pixel boxes -> normalized boxes. boxes [..., 4]; shape [2] (height, width)."""
    h, w = tf.split(tf.cast(shape, tf.float32), 2)
    scale = tf.concat([h, w, h, w], axis=-1) - tf.constant(1.0)
    shift = tf.constant([0.0, 0.0, 1.0, 1.0])
    return tf.divide(tf.cast(boxes, tf.float32) - shift, scale)


def denorm_boxes_graph(boxes, shape):
    """Normalized boxes -> int32 pixel boxes. boxes [..., 4]; shape [2] (height, width)."""
    h, w = tf.split(tf.cast(shape, tf.float32), 2)
    scale = tf.concat([h, w, h, w], axis=-1) - tf.constant(1.0)
    shift = tf.constant([0.0, 0.0, 1.0, 1.0])
    return tf.cast(tf.round(tf.multiply(boxes, scale) + shift), tf.int32)
