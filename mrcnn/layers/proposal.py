"""Region proposals: turn RPN scores and deltas into a fixed number of ROIs per image.

Glossary: boxes are normalized (y1, x1, y2, x2); deltas are (dy, dx, log dh, log dw) scaled by
``RPN_BBOX_STD_DEV``; rows of zeros pad the output to ``proposal_count``.
"""
import keras
import numpy as np
import tensorflow as tf

from mrcnn.core.boxes import BBOX_STD_DEV
from mrcnn.ops.boxes import apply_box_deltas_graph, clip_boxes_graph


@keras.saving.register_keras_serializable(package="mrcnn")
class ProposalLayer(keras.layers.Layer):
    """Select the top anchors, refine them by the RPN deltas, clip, and keep the NMS winners.

    Inputs:
        rpn_probs: [batch, num_anchors, 2] (background, foreground) probabilities
        rpn_bbox:  [batch, num_anchors, 4] deltas, still divided by ``rpn_bbox_std_dev``
        anchors:   [batch, num_anchors, 4] normalized anchors
    Returns:
        proposals: [batch, proposal_count, 4] normalized boxes, best first, zero-padded.

    Steps as Matterport: top ``pre_nms_limit`` anchors by foreground score, deltas times the std dev
    applied to them, boxes clipped to the image (0..1), greedy NMS at ``nms_threshold`` keeping at
    most ``proposal_count``.

    jit_compatible: False runs ``tf.image.non_max_suppression`` per image in ``tf.map_fn``
        (dynamic shapes: XLA cannot compile it); True runs the batched
        ``tf.image.non_max_suppression_padded`` (the same greedy NMS with static shapes), so the
        layer compiles with XLA.
    """

    def __init__(self, proposal_count, nms_threshold, rpn_bbox_std_dev=BBOX_STD_DEV,
                 pre_nms_limit=6000, jit_compatible=False, **kwargs):
        super().__init__(**kwargs)
        self.proposal_count = int(proposal_count)
        self.nms_threshold = float(nms_threshold)
        self.rpn_bbox_std_dev = tuple(float(v) for v in np.reshape(rpn_bbox_std_dev, [4]))
        self.pre_nms_limit = int(pre_nms_limit)
        self.jit_compatible = bool(jit_compatible)
        # tf.image.non_max_suppression inside map_fn does not compile
        self.supports_jit = self.jit_compatible

    def call(self, inputs):
        probs, deltas, anchors = inputs
        scores = probs[:, :, 1]
        deltas = deltas * tf.constant(self.rpn_bbox_std_dev, shape=[1, 1, 4], dtype=deltas.dtype)
        pre_nms_limit = tf.minimum(self.pre_nms_limit, tf.shape(anchors)[1])
        top = tf.nn.top_k(scores, pre_nms_limit, sorted=True, name="top_anchors")
        scores = top.values
        deltas = tf.gather(deltas, top.indices, batch_dims=1)
        pre_nms_anchors = tf.gather(tf.cast(anchors, deltas.dtype), top.indices, batch_dims=1)
        boxes = apply_box_deltas_graph(pre_nms_anchors, deltas)
        boxes = clip_boxes_graph(boxes, tf.constant([0.0, 0.0, 1.0, 1.0], dtype=boxes.dtype))
        boxes = tf.cast(boxes, tf.float32)
        scores = tf.cast(scores, tf.float32)
        if self.jit_compatible:
            return self._padded_nms(boxes, scores)

        def nms(args):
            image_boxes, image_scores = args
            keep = tf.image.non_max_suppression(
                image_boxes, image_scores, self.proposal_count, self.nms_threshold,
                name="rpn_non_max_suppression")
            proposals = tf.gather(image_boxes, keep)
            padding = tf.maximum(self.proposal_count - tf.shape(proposals)[0], 0)
            return tf.pad(proposals, [(0, padding), (0, 0)])

        proposals = tf.map_fn(
            nms, (boxes, scores),
            fn_output_signature=tf.TensorSpec([self.proposal_count, 4], tf.float32))
        return proposals

    def _padded_nms(self, boxes, scores):
        """Greedy NMS of every image at once with static shapes: [batch, proposal_count, 4]."""
        keep, valid = tf.image.non_max_suppression_padded(
            boxes, scores, self.proposal_count, iou_threshold=self.nms_threshold,
            pad_to_max_output_size=True, sorted_input=True, name="rpn_non_max_suppression")
        proposals = tf.gather(boxes, keep, batch_dims=1)
        # The padded op keeps at most as many rows as there are boxes: pad to proposal_count.
        padding = self.proposal_count - keep.shape[1] if keep.shape[1] is not None else 0
        if padding > 0:
            proposals = tf.pad(proposals, [(0, 0), (0, padding), (0, 0)])
        rows = tf.range(self.proposal_count)[tf.newaxis, :] < valid[:, tf.newaxis]
        return tf.where(rows[..., tf.newaxis], proposals, 0.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.proposal_count, 4)

    def get_config(self):
        return {**super().get_config(), "proposal_count": self.proposal_count,
                "nms_threshold": self.nms_threshold,
                "rpn_bbox_std_dev": list(self.rpn_bbox_std_dev),
                "pre_nms_limit": self.pre_nms_limit, "jit_compatible": self.jit_compatible}
