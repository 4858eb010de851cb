"""Final detections: refine the classifier's ROIs, drop background and weak ones, per-class NMS.

Glossary: boxes are normalized (y1, x1, y2, x2); class 0 is background; output rows of zeros are
padding up to ``max_instances``.
"""
import keras
import numpy as np
import tensorflow as tf

from mrcnn.core.boxes import BBOX_STD_DEV
from mrcnn.core.contracts import DETECTION_ROW_SIZE
from mrcnn.ops.boxes import apply_box_deltas_graph, clip_boxes_graph, norm_boxes_graph
from mrcnn.ops.meta import parse_image_meta_graph


def refine_detections_graph(rois, probs, deltas, window, bbox_std_dev, min_confidence,
                            max_instances, nms_threshold):
    """Detections of one image.

    rois: [N, 4] normalized; probs: [N, num_classes]; deltas: [N, num_classes, 4] class-specific,
    still divided by ``bbox_std_dev``; window: [4] normalized part of the image that is not padding.
    Returns [max_instances, 6] rows (y1, x1, y2, x2, class_id, score), best score first,
    zero-padded.

    Same selection as Matterport: each ROI takes its arg-max class, its box is refined by that
    class's deltas and clipped to the window; background and scores under ``min_confidence`` go;
    NMS runs per class (at most ``max_instances`` per class); the ``max_instances`` best remain.
    Per-class NMS is done in one call by shifting each class's boxes to their own region of the
    plane (class_id * 2 apart; boxes lie in 0..1), which keeps exactly the boxes per-class NMS
    keeps.
    """
    class_ids = tf.argmax(probs, axis=1, output_type=tf.int32)
    class_scores = tf.gather(probs, class_ids, batch_dims=1)
    deltas_specific = tf.gather(deltas, class_ids, batch_dims=1)
    refined = apply_box_deltas_graph(rois, deltas_specific * tf.constant(bbox_std_dev, tf.float32))
    refined = clip_boxes_graph(refined, window)

    keep = class_ids > 0
    if min_confidence:
        keep = tf.logical_and(keep, class_scores >= min_confidence)
    keep = tf.where(keep)[:, 0]
    pre_ids = tf.gather(class_ids, keep)
    pre_scores = tf.gather(class_scores, keep)
    pre_boxes = tf.gather(refined, keep)
    offsets = tf.cast(pre_ids, tf.float32)[:, tf.newaxis] * 2.0
    selected = tf.image.non_max_suppression(
        pre_boxes + offsets, pre_scores, max_output_size=max_instances,
        iou_threshold=nms_threshold)
    # The row layout of mrcnn.core.contracts: box, class id, score.
    detections = tf.concat([
        tf.gather(pre_boxes, selected),
        tf.cast(tf.gather(pre_ids, selected), tf.float32)[:, tf.newaxis],
        tf.gather(pre_scores, selected)[:, tf.newaxis]], axis=1)
    gap = max_instances - tf.shape(detections)[0]
    return tf.pad(detections, [(0, gap), (0, 0)])


@keras.saving.register_keras_serializable(package="mrcnn")
class DetectionLayer(keras.layers.Layer):
    """Turn classifier outputs into final detections.

    Inputs:
        rois:        [batch, N, 4] normalized proposals
        mrcnn_class: [batch, N, num_classes] probabilities
        mrcnn_bbox:  [batch, N, num_classes, 4] deltas
        image_meta:  [batch, 12 + NUM_CLASSES]
    Returns:
        [batch, max_instances, 6] rows (y1, x1, y2, x2, class_id, score), normalized, zero-padded.
    """

    def __init__(self, bbox_std_dev=BBOX_STD_DEV, min_confidence=0.7, max_instances=100,
                 nms_threshold=0.3, **kwargs):
        super().__init__(**kwargs)
        self.bbox_std_dev = tuple(float(v) for v in np.reshape(bbox_std_dev, [4]))
        self.min_confidence = float(min_confidence)
        self.max_instances = int(max_instances)
        self.nms_threshold = float(nms_threshold)
        self.supports_jit = False

    def call(self, inputs):
        rois, probs, deltas, image_meta = [tf.cast(t, tf.float32) for t in inputs]
        meta = parse_image_meta_graph(image_meta)
        image_shape = meta["image_shape"][0]
        windows = norm_boxes_graph(meta["window"], image_shape[:2])

        def refine(args):
            return refine_detections_graph(*args, self.bbox_std_dev, self.min_confidence,
                                           self.max_instances, self.nms_threshold)

        return tf.map_fn(refine, (rois, probs, deltas, windows),
                         fn_output_signature=tf.TensorSpec(
                             [self.max_instances, DETECTION_ROW_SIZE], tf.float32))

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.max_instances, DETECTION_ROW_SIZE)

    def get_config(self):
        return {**super().get_config(), "bbox_std_dev": list(self.bbox_std_dev),
                "min_confidence": self.min_confidence, "max_instances": self.max_instances,
                "nms_threshold": self.nms_threshold}
