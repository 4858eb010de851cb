"""Reading the model's inputs inside the graph: pixel box inputs as normalized boxes, and the
active class ids of the image meta.

Glossary: boxes are (y1, x1, y2, x2); the model's box inputs (``input_gt_boxes``,
``input_roi``) are in pixels of the molded image, y2/x2 exclusive, and leave these layers
normalized (:func:`mrcnn.ops.boxes.norm_boxes_graph`). Zero rows are padding; a zero pixel row
does not stay zero once normalized (its y2, x2 turn negative), as in Matterport. The image meta
row is laid out as :data:`mrcnn.core.meta.META_FIELDS`.
"""
import keras
import tensorflow as tf

from mrcnn.ops.boxes import norm_boxes_graph
from mrcnn.ops.meta import parse_image_meta_graph


@keras.saving.register_keras_serializable(package="mrcnn")
class NormBoxes(keras.layers.Layer):
    """Pixel boxes [B, N, 4] -> normalized boxes, for the shape of the image it is given."""

    def call(self, inputs):
        boxes, image = inputs
        return norm_boxes_graph(boxes, tf.shape(image)[1:3])


@keras.saving.register_keras_serializable(package="mrcnn")
class ActiveClassIds(keras.layers.Layer):
    """The active_class_ids part of image_meta: [B, NUM_CLASSES]."""

    def call(self, image_meta):
        return parse_image_meta_graph(image_meta)["active_class_ids"]
