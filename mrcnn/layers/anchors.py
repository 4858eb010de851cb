"""The anchors of a fixed image shape as a graph constant.

Anchors are normalized boxes (y1, x1, y2, x2) in the order of
:func:`mrcnn.core.anchors.generate_pyramid_anchors` (pyramid level, then feature-map cell row by
row, then ratio). Matterport's training graph kept them in a ``tf.Variable`` inside a Lambda, which
breaks ``predict`` in Keras 3; here they are a constant, never a weight, so no file sets them.
"""
import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mrcnn")
class AnchorsLayer(keras.layers.Layer):
    """Emit ``anchors`` [N, 4] broadcast to the batch of its input: [batch, N, 4] float32."""

    def __init__(self, anchors, **kwargs):
        super().__init__(**kwargs)
        self.anchors = np.asarray(anchors, dtype=np.float32).reshape(-1, 4)

    def call(self, image):
        batch = tf.shape(image)[0]
        anchors = tf.constant(self.anchors)
        return tf.broadcast_to(anchors[tf.newaxis], [batch, self.anchors.shape[0], 4])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.anchors.shape[0], 4)

    def get_config(self):
        return {**super().get_config(), "anchors": self.anchors.tolist()}
