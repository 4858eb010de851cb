"""Layers that only move, select or rename values: the RPN's per-anchor flattening, the leading
rows of a padded tensor, and a pass-through under another layer name.

Glossary: tensors are [batch, rows, ...]; rows hold boxes (y1, x1, y2, x2), normalized, or their
per-row values, and rows of zeros are padding. Anchors are in the order of
:func:`mrcnn.core.anchors.generate_pyramid_anchors` (feature-map cell row by row, then ratio).
None of these layers has weights.
"""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mrcnn")
class AnchorFlatten(keras.layers.Layer):
    """[batch, h, w, anchors_per_location * depth] -> [batch, h * w * anchors_per_location,
    depth]."""

    def __init__(self, depth, **kwargs):
        super().__init__(**kwargs)
        self.depth = int(depth)

    def call(self, x):
        return tf.reshape(x, [tf.shape(x)[0], -1, self.depth])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None, self.depth)

    def get_config(self):
        return {**super().get_config(), "depth": self.depth}


@keras.saving.register_keras_serializable(package="mrcnn")
class LeadingRows(keras.layers.Layer):
    """The first ``count`` rows along axis 1: [B, N, ...] -> [B, count, ...]."""

    def __init__(self, count, **kwargs):
        super().__init__(**kwargs)
        self.count = int(count)

    def call(self, x):
        return x[:, :self.count]

    def get_config(self):
        return {**super().get_config(), "count": self.count}


@keras.saving.register_keras_serializable(package="mrcnn")
class Identity(keras.layers.Layer):
    """Pass a tensor through under another name (``output_rois``)."""

    def call(self, x):
        return tf.identity(x)
