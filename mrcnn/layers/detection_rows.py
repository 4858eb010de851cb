"""Detection rows into and out of the mask head: the inference graph runs the mask head on the
rows that hold detections only, then pads its masks back to every row.

Glossary: a detection row is (y1, x1, y2, x2, class_id, score) (:mod:`mrcnn.core.contracts`),
the box normalized to the molded image; DetectionLayer puts the real detections (class id > 0)
first, and rows of zeros (class 0, background) after them pad to ``DETECTION_MAX_INSTANCES``.
K is the largest number of detections of an image in the batch (at least 1).
"""
import keras
import tensorflow as tf

from mrcnn.core.contracts import DETECTION_BOX, DETECTION_CLASS_ID


@keras.saving.register_keras_serializable(package="mrcnn")
class DetectedBoxes(keras.layers.Layer):
    """The boxes of the real detections: rows [B, N, 6] -> (y1, x1, y2, x2) [B, K, 4].

    DetectionLayer puts the real detections (class id > 0) first and zero rows after them; K is
    the largest count in the batch (at least 1), so the mask head skips the padding rows.
    """

    def call(self, detections):
        counts = tf.reduce_sum(tf.cast(detections[..., DETECTION_CLASS_ID] > 0, tf.int32), axis=1)
        rows = tf.maximum(tf.reduce_max(counts), 1)
        return detections[:, :rows, DETECTION_BOX]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None, 4)


@keras.saving.register_keras_serializable(package="mrcnn")
class DetectionMasks(keras.layers.Layer):
    """The mask head's output for DetectedBoxes back in the detections' rows.

    Inputs: masks [B, K, h, w, NUM_CLASSES] of the first K rows, detections [B, N, 6].
    Returns [B, N, h, w, NUM_CLASSES]: the masks, zero in every row without a detection.
    """

    def call(self, inputs):
        masks, detections = inputs
        rows = tf.shape(detections)[1]
        padded = tf.pad(masks, tf.concat([[[0, 0], [0, rows - tf.shape(masks)[1]]],
                                          tf.zeros([3, 2], tf.int32)], axis=0))
        real = tf.cast(detections[..., DETECTION_CLASS_ID] > 0, padded.dtype)
        return padded * real[:, :, tf.newaxis, tf.newaxis, tf.newaxis]

    def compute_output_shape(self, input_shape):
        masks, detections = input_shape
        return tuple(detections[:2]) + tuple(masks[2:])
