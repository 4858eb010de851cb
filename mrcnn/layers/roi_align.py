"""Multi-level ROI Align over the feature pyramid.

Glossary: boxes are normalized (y1, x1, y2, x2); zero rows are padding (they are pooled too, from
the level their zero area maps to, and ignored downstream). Feature maps are P2..P5 in that order.
"""
import keras
import tensorflow as tf

from mrcnn.ops.crop import pyramid_crop_and_resize
from mrcnn.ops.meta import parse_image_meta_graph


def roi_level_graph(boxes, image_shape):
    """Pyramid level (2..5) of each box, eq. 1 of the FPN paper with the 224 canonical size.

    boxes: [batch, N, 4] normalized; image_shape: [3] (the molded image's H, W, C).
    Returns int32 [batch, N].
    """
    y1, x1, y2, x2 = tf.unstack(boxes, 4, axis=-1)
    h = y2 - y1
    w = x2 - x1
    # Boxes are normalized, so the image area is folded into the canonical size:
    # level = 4 + log2(sqrt(h*w) / (224 / sqrt(image_area))).
    image_area = tf.cast(image_shape[0] * image_shape[1], tf.float32)
    level = tf.math.log(tf.sqrt(h * w) / (224.0 / tf.sqrt(image_area))) / tf.math.log(2.0)
    level = 4 + tf.cast(tf.round(level), tf.int32)
    return tf.minimum(5, tf.maximum(2, level))


@keras.saving.register_keras_serializable(package="mrcnn")
class PyramidROIAlign(keras.layers.Layer):
    """Crop and resize each box from the pyramid level that its size selects.

    Inputs:
        boxes:        [batch, num_boxes, 4] normalized
        image_meta:   [batch, 12 + NUM_CLASSES] (the molded image shape is read from it)
        feature_maps: P2, P3, P4, P5, each [batch, height, width, channels]
    Returns:
        pooled: [batch, num_boxes, pool_height, pool_width, channels], in the order of the boxes.

    Sampling as Matterport: ``tf.image.crop_and_resize`` (bilinear, one sample per output cell at
    the cell's corner-aligned position), boxes treated as constants for the gradient.

    jit_compatible: False routes the boxes per level with ``tf.where`` (dynamic shapes) into
        ``tf.image.crop_and_resize``, which XLA cannot compile; True crops every box in one pass
        of gathers over all levels (:func:`mrcnn.ops.crop.pyramid_crop_and_resize`: static
        shapes, equal to crop_and_resize within 1e-5), so the layer compiles with XLA, and the
        gradient with respect to the feature maps is exact (TensorFlow's CPU kernel of the
        CropAndResize image gradient loses some boxes' shares between threads,
        tensorflow/tensorflow#42033): the training graph takes this route.
    """

    def __init__(self, pool_shape, jit_compatible=False, **kwargs):
        super().__init__(**kwargs)
        self.pool_shape = tuple(int(v) for v in pool_shape)
        self.jit_compatible = bool(jit_compatible)
        self.supports_jit = self.jit_compatible   # XLA cannot compile CropAndResize

    def call(self, inputs):
        boxes = tf.cast(inputs[0], tf.float32)
        image_meta = inputs[1]
        feature_maps = inputs[2:]
        image_shape = parse_image_meta_graph(image_meta)["image_shape"][0]
        roi_level = roi_level_graph(boxes, image_shape)
        if self.jit_compatible:
            return self._gather_crops(boxes, roi_level, feature_maps)

        pooled = []
        box_to_level = []
        for i, level in enumerate(range(2, 6)):
            ix = tf.where(tf.equal(roi_level, level))
            level_boxes = tf.stop_gradient(tf.gather_nd(boxes, ix))
            box_indices = tf.stop_gradient(tf.cast(ix[:, 0], tf.int32))
            box_to_level.append(ix)
            feature_map = feature_maps[i]
            crops = tf.image.crop_and_resize(
                tf.cast(feature_map, tf.float32), level_boxes, box_indices, self.pool_shape,
                method="bilinear")
            pooled.append(tf.cast(crops, feature_map.dtype))
        pooled = tf.concat(pooled, axis=0)

        # Put the crops back in box order: sort by (image, box index).
        box_to_level = tf.concat(box_to_level, axis=0)
        num_boxes = tf.cast(tf.shape(boxes)[1], tf.int64)
        order = tf.argsort(box_to_level[:, 0] * num_boxes + box_to_level[:, 1])
        pooled = tf.gather(pooled, order)
        shape = tf.concat([tf.shape(boxes)[:2], tf.shape(pooled)[1:]], axis=0)
        return tf.reshape(pooled, shape)

    def _gather_crops(self, boxes, roi_level, feature_maps):
        """The static-shape route: [batch, N, pool_h, pool_w, C] in one gather pass."""
        shape = tf.shape(boxes)
        batch, count = shape[0], shape[1]
        flat_boxes = tf.stop_gradient(tf.reshape(boxes, [-1, 4]))
        box_indices = tf.repeat(tf.range(batch), count)
        levels = tf.reshape(roi_level, [-1]) - 2
        pooled = pyramid_crop_and_resize(
            [tf.cast(f, tf.float32) for f in feature_maps], flat_boxes, box_indices, levels,
            self.pool_shape)
        pooled = tf.cast(pooled, feature_maps[0].dtype)
        channels = feature_maps[0].shape[-1]
        channels = channels if channels is not None else tf.shape(feature_maps[0])[-1]
        return tf.reshape(pooled, [batch, count, *self.pool_shape, channels])

    def compute_output_shape(self, input_shape):
        return input_shape[0][:2] + self.pool_shape + (input_shape[2][-1],)

    def get_config(self):
        return {**super().get_config(), "pool_shape": list(self.pool_shape),
                "jit_compatible": self.jit_compatible}
