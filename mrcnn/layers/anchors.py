"""Anchor layers: the anchors of the image shape the graph is given, or of a fixed shape.

Anchors are normalized boxes (y1, x1, y2, x2) in the order of
:func:`mrcnn.core.anchors.generate_pyramid_anchors` (pyramid level, then feature-map cell row by
row, then ratio). Matterport's training graph kept them in a ``tf.Variable`` inside a Lambda, which
breaks ``predict`` in Keras 3, and baked them for ``IMAGE_SHAPE``, so other input shapes trained on
anchors of another size. ``PyramidAnchors`` (the training graph's layer "anchors") computes them
from the feature maps of the batch it runs on; neither layer has weights, so no file sets them.
"""
import keras
import numpy as np
import tensorflow as tf

from mrcnn.core.anchors import cell_anchors
from mrcnn.ops.anchors import pyramid_anchors_graph


@keras.saving.register_keras_serializable(package="mrcnn")
class PyramidAnchors(keras.layers.Layer):
    """The anchors of the input's own shape: [image, P2, ..., P6] -> [batch, N, 4] float32.

    scales: one anchor side in pixels per pyramid level (RPN_ANCHOR_SCALES); ratios: width /
    height ratios used at every level (RPN_ANCHOR_RATIOS); feature_strides: pixels per cell of
    each level (BACKBONE_STRIDES); anchor_stride: RPN_ANCHOR_STRIDE. The cells of each level are
    read from its feature map's shape when the graph runs, and the boxes normalized to the image's
    height and width, so every batch shape gets the anchors get_anchors gives for it.
    """

    def __init__(self, scales, ratios, feature_strides, anchor_stride, **kwargs):
        super().__init__(**kwargs)
        self.scales = [float(s) for s in np.reshape(scales, [-1])]
        self.ratios = [float(r) for r in np.reshape(ratios, [-1])]
        self.feature_strides = [int(s) for s in np.reshape(feature_strides, [-1])]
        self.anchor_stride = int(anchor_stride)
        if len(self.scales) != len(self.feature_strides):
            raise ValueError(f"one anchor scale per pyramid level: {len(self.scales)} scales, "
                             f"{len(self.feature_strides)} feature strides")

    def call(self, inputs):
        image, *feature_maps = inputs
        if len(feature_maps) != len(self.scales):
            raise ValueError(f"PyramidAnchors has {len(self.scales)} levels but got "
                             f"{len(feature_maps)} feature maps")
        anchors = pyramid_anchors_graph(
            [cell_anchors(scale, self.ratios) for scale in self.scales],
            [tf.shape(p)[1:3] for p in feature_maps], self.feature_strides, self.anchor_stride,
            tf.shape(image)[1:3])
        return tf.broadcast_to(anchors[tf.newaxis], [tf.shape(image)[0], tf.shape(anchors)[0], 4])

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], None, 4)

    def get_config(self):
        return {**super().get_config(), "scales": self.scales, "ratios": self.ratios,
                "feature_strides": self.feature_strides, "anchor_stride": self.anchor_stride}


@keras.saving.register_keras_serializable(package="mrcnn")
class AnchorsLayer(keras.layers.Layer):
    """Emit ``anchors`` [N, 4] broadcast to the batch of its input: [batch, N, 4] float32.

    The anchors are the layer's state, not its configuration: ``get_config`` holds their count N
    only (a 1024x1024 image has 65,472 anchors at RPN_ANCHOR_STRIDE 2, 261,888 at 1: megabytes
    of JSON in a config), and a ``.keras`` save keeps the array in its weights file
    (``save_own_variables``). They are no Keras variable, so the layer still has no weights
    (``get_weights()`` is empty and ``.h5`` weight files are as before). A layer made from its
    config alone (``from_config``) has no anchors until ``load_own_variables``
    (``keras.saving.load_model`` calls it) gives them; a config of the old form, with the array
    under "anchors", still loads.
    """

    def __init__(self, anchors=None, anchor_count=None, **kwargs):
        super().__init__(**kwargs)
        if anchors is None:
            if anchor_count is None:
                raise ValueError("AnchorsLayer needs its anchors (or, from a config, "
                                 "anchor_count and then load_own_variables)")
            self.anchors = None
            self.anchor_count = int(anchor_count)
        else:
            self._set_anchors(anchors)
            if anchor_count is not None and int(anchor_count) != self.anchor_count:
                raise ValueError(f"anchor_count {anchor_count} but {self.anchor_count} anchors")

    def _set_anchors(self, anchors):
        self.anchors = np.asarray(anchors, dtype=np.float32).reshape(-1, 4)
        self.anchor_count = self.anchors.shape[0]

    def call(self, image):
        if self.anchors is None:
            raise ValueError(f"AnchorsLayer {self.name!r} was made from its config and has no "
                             "anchors yet: load its variables (keras.saving.load_model does)")
        batch = tf.shape(image)[0]
        anchors = tf.constant(self.anchors)
        return tf.broadcast_to(anchors[tf.newaxis], [batch, self.anchor_count, 4])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.anchor_count, 4)

    def get_config(self):
        return {**super().get_config(), "anchor_count": self.anchor_count}

    def save_own_variables(self, store):
        if self.anchors is not None:
            store["anchors"] = self.anchors

    def load_own_variables(self, store):
        if "anchors" not in store.keys():
            return
        anchors = np.asarray(store["anchors"], dtype=np.float32).reshape(-1, 4)
        if anchors.shape[0] != self.anchor_count:
            raise ValueError(f"AnchorsLayer {self.name!r} expects {self.anchor_count} anchors, "
                             f"the file holds {anchors.shape[0]}")
        self._set_anchors(anchors)
