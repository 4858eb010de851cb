"""Training targets for the classifier and mask heads: sample ROIs and assign them to ground truth.

Glossary: boxes are normalized (y1, x1, y2, x2); class 0 is background; negative class ids are crowd
regions (never positives; ROIs overlapping them are not used as negatives); zero rows are padding.
Ground-truth masks are mini-masks (the box content resized to MINI_MASK_SHAPE) when
``use_mini_mask`` is true, else full-image masks.
"""
import keras
import numpy as np
import tensorflow as tf

from mrcnn.core.boxes import BBOX_STD_DEV
from mrcnn.core.contracts import CROWD_IOU, ROI_FOREGROUND_IOU
from mrcnn.ops.boxes import box_refinement_graph, overlaps_graph, trim_zeros_graph
from mrcnn.ops.crop import crop_and_resize


def _in_gt_box_frame(rois, gt_boxes):
    """The ROIs [..., 4] in the coordinates of their GT boxes [..., 4] (0..1 spans the GT box),
    which is what a mini-mask spans."""
    y1, x1, y2, x2 = tf.unstack(rois, 4, axis=-1)
    gt_y1, gt_x1, gt_y2, gt_x2 = tf.unstack(gt_boxes, 4, axis=-1)
    gt_h = gt_y2 - gt_y1
    gt_w = gt_x2 - gt_x1
    return tf.stack([(y1 - gt_y1) / gt_h, (x1 - gt_x1) / gt_w,
                     (y2 - gt_y1) / gt_h, (x2 - gt_x1) / gt_w], axis=-1)


def detection_targets_graph(proposals, gt_class_ids, gt_boxes, gt_masks, train_rois_per_image,
                            roi_positive_ratio, bbox_std_dev, mask_shape, use_mini_mask):
    """Targets of one image.

    proposals: [P, 4]; gt_class_ids: [G]; gt_boxes: [G, 4]; gt_masks: [h, w, G] (all zero-padded).
    Returns, each padded to T = ``train_rois_per_image`` rows:
        rois [T, 4], class_ids int32 [T], deltas [T, 4] (divided by ``bbox_std_dev``),
        masks [T, mask_h, mask_w] (0/1 floats; only rows of positive ROIs are non-zero).

    Matterport's sampling: positives are ROIs with IoU >= 0.5 with some GT box, a random subset
    of at most T * ``roi_positive_ratio``; negatives have IoU < 0.5 with every box and < 0.001 with
    every crowd box, as many as keep the positive ratio. Difference: an image without (non-crowd)
    ground truth takes T * (1 - ratio) negatives, so it trains the heads on background instead of
    nothing.
    """
    proposals, _ = trim_zeros_graph(proposals, name="trim_proposals")
    gt_boxes, non_zeros = trim_zeros_graph(gt_boxes, name="trim_gt_boxes")
    gt_class_ids = tf.boolean_mask(gt_class_ids, non_zeros)
    gt_masks = tf.gather(gt_masks, tf.where(non_zeros)[:, 0], axis=2)

    crowd_ix = tf.where(gt_class_ids < 0)[:, 0]
    non_crowd_ix = tf.where(gt_class_ids > 0)[:, 0]
    crowd_boxes = tf.gather(gt_boxes, crowd_ix)
    gt_class_ids = tf.gather(gt_class_ids, non_crowd_ix)
    gt_boxes = tf.gather(gt_boxes, non_crowd_ix)
    gt_masks = tf.gather(gt_masks, non_crowd_ix, axis=2)

    overlaps = overlaps_graph(proposals, gt_boxes)
    crowd_overlaps = overlaps_graph(proposals, crowd_boxes)
    crowd_iou_max = tf.reduce_max(tf.pad(crowd_overlaps, [(0, 0), (0, 1)]), axis=1)
    no_crowd = crowd_iou_max < CROWD_IOU
    roi_iou_max = tf.reduce_max(tf.pad(overlaps, [(0, 0), (0, 1)]), axis=1)

    positive_indices = tf.where(roi_iou_max >= ROI_FOREGROUND_IOU)[:, 0]
    negative_indices = tf.where(tf.logical_and(roi_iou_max < ROI_FOREGROUND_IOU, no_crowd))[:, 0]

    positive_quota = int(train_rois_per_image * roi_positive_ratio)
    positive_indices = tf.random.shuffle(positive_indices)[:positive_quota]
    positive_count = tf.shape(positive_indices)[0]
    r = 1.0 / roi_positive_ratio
    negative_count = tf.cast(r * tf.cast(positive_count, tf.float32), tf.int32) - positive_count
    negative_count = tf.where(tf.shape(gt_boxes)[0] > 0, negative_count,
                              train_rois_per_image - positive_quota)
    negative_indices = tf.random.shuffle(negative_indices)[:negative_count]

    positive_rois = tf.gather(proposals, positive_indices)
    negative_rois = tf.gather(proposals, negative_indices)

    positive_overlaps = tf.gather(overlaps, positive_indices)
    assignment = tf.cond(
        tf.shape(positive_overlaps)[1] > 0,
        true_fn=lambda: tf.argmax(positive_overlaps, axis=1),
        false_fn=lambda: tf.zeros([0], tf.int64))
    roi_gt_boxes = tf.gather(gt_boxes, assignment)
    roi_gt_class_ids = tf.gather(gt_class_ids, assignment)

    deltas = box_refinement_graph(positive_rois, roi_gt_boxes)
    deltas /= tf.constant(bbox_std_dev, tf.float32)

    transposed_masks = tf.expand_dims(tf.transpose(gt_masks, [2, 0, 1]), -1)
    roi_masks = tf.gather(transposed_masks, assignment)
    boxes = positive_rois
    if use_mini_mask:
        boxes = _in_gt_box_frame(positive_rois, roi_gt_boxes)
    box_ids = tf.range(0, tf.shape(roi_masks)[0])
    masks = tf.image.crop_and_resize(tf.cast(roi_masks, tf.float32), boxes, box_ids,
                                     list(mask_shape))
    masks = tf.round(tf.squeeze(masks, axis=3))

    rois = tf.concat([positive_rois, negative_rois], axis=0)
    n = tf.shape(negative_rois)[0]
    p = tf.maximum(train_rois_per_image - tf.shape(rois)[0], 0)
    rois = tf.pad(rois, [(0, p), (0, 0)])
    roi_gt_class_ids = tf.pad(tf.cast(roi_gt_class_ids, tf.int32), [(0, n + p)])
    deltas = tf.pad(deltas, [(0, n + p), (0, 0)])
    masks = tf.pad(masks, [(0, n + p), (0, 0), (0, 0)])
    return rois, roi_gt_class_ids, deltas, masks


def detection_targets_static(proposals, gt_class_ids, gt_boxes, gt_masks, train_rois_per_image,
                             roi_positive_ratio, bbox_std_dev, mask_shape, use_mini_mask):
    """:func:`detection_targets_graph` for a whole batch with static shapes (XLA compiles it).

    proposals: [B, P, 4]; gt_class_ids: [B, G]; gt_boxes: [B, G, 4]; gt_masks: [B, h, w, G]
    (all zero-padded). Returns rois [B, T, 4], class_ids int32 [B, T], deltas [B, T, 4],
    masks [B, T, mask_h, mask_w], T = ``train_rois_per_image``, as detection_targets_graph.

    The same sampling: the positives (IoU >= 0.5 with a non-crowd GT box) and the negatives
    (IoU < 0.5 with every box, < 0.001 with every crowd box) are each ordered by uniform random
    keys (``tf.random.uniform``, which XLA compiles; ``tf.random.shuffle`` it does not), which
    makes the first k of them a uniformly random subset of k, as shuffling and slicing did;
    the same quotas; positives first, then negatives, then zero rows. Masks are cropped with
    :func:`mrcnn.ops.crop.crop_and_resize` (equal to tf.image.crop_and_resize within 1e-5,
    before the rounding to 0/1).
    """
    t = int(train_rois_per_image)
    proposals = tf.cast(proposals, tf.float32)
    gt_boxes = tf.cast(gt_boxes, tf.float32)
    gt_class_ids = tf.cast(gt_class_ids, tf.int32)
    batch = tf.shape(proposals)[0]
    num_proposals = tf.shape(proposals)[1]
    num_gt = tf.shape(gt_boxes)[1]

    proposal_valid = tf.reduce_sum(tf.abs(proposals), axis=2) > 0          # [B, P]
    gt_valid = tf.reduce_sum(tf.abs(gt_boxes), axis=2) > 0                 # [B, G]
    non_crowd = tf.logical_and(gt_valid, gt_class_ids > 0)
    crowd = tf.logical_and(gt_valid, gt_class_ids < 0)

    overlaps = overlaps_graph(proposals, gt_boxes)                          # [B, P, G]
    roi_iou_max = tf.reduce_max(tf.where(non_crowd[:, tf.newaxis, :], overlaps, 0.0), axis=2)
    crowd_iou_max = tf.reduce_max(tf.where(crowd[:, tf.newaxis, :], overlaps, 0.0), axis=2)
    positive = tf.logical_and(proposal_valid, roi_iou_max >= ROI_FOREGROUND_IOU)
    negative = tf.logical_and(
        proposal_valid,
        tf.logical_and(roi_iou_max < ROI_FOREGROUND_IOU, crowd_iou_max < CROWD_IOU))

    # Random order of each set (others sort after them: keys in [0, 1), others 2).
    positive_order = tf.argsort(
        tf.where(positive, tf.random.uniform(tf.shape(positive)), 2.0), axis=1)
    negative_order = tf.argsort(
        tf.where(negative, tf.random.uniform(tf.shape(negative)), 2.0), axis=1)

    positive_quota = int(t * roi_positive_ratio)
    positive_count = tf.minimum(tf.reduce_sum(tf.cast(positive, tf.int32), axis=1),
                                positive_quota)                              # [B]
    r = 1.0 / roi_positive_ratio
    negative_count = tf.cast(r * tf.cast(positive_count, tf.float32), tf.int32) - positive_count
    has_gt = tf.reduce_any(non_crowd, axis=1)
    negative_count = tf.where(has_gt, negative_count, t - positive_quota)
    negative_count = tf.minimum(negative_count,
                                tf.reduce_sum(tf.cast(negative, tf.int32), axis=1))

    row = tf.range(t)[tf.newaxis, :]                                         # [1, T]
    is_positive = row < positive_count[:, tf.newaxis]
    is_negative = tf.logical_and(tf.logical_not(is_positive),
                                 row < (positive_count + negative_count)[:, tf.newaxis])
    last = num_proposals - 1
    source = tf.where(
        is_positive,
        tf.gather(positive_order, tf.clip_by_value(tf.broadcast_to(row, [batch, t]), 0, last),
                  batch_dims=1),
        tf.gather(negative_order,
                  tf.clip_by_value(row - positive_count[:, tf.newaxis], 0, last), batch_dims=1))
    used = tf.logical_or(is_positive, is_negative)
    rois = tf.where(used[..., tf.newaxis], tf.gather(proposals, source, batch_dims=1), 0.0)

    # GT box of each positive: the best non-crowd overlap.
    gt_overlaps = tf.where(non_crowd[:, tf.newaxis, :], overlaps, -1.0)
    assignment = tf.gather(tf.argmax(gt_overlaps, axis=2, output_type=tf.int32), source,
                           batch_dims=1)                                     # [B, T]
    roi_gt_boxes = tf.gather(gt_boxes, assignment, batch_dims=1)
    class_ids = tf.where(is_positive, tf.gather(gt_class_ids, assignment, batch_dims=1), 0)

    # Rows that are not positive get a unit box and a unit GT box (no log(0) or 0 / 0), and
    # zero targets.
    unit = tf.constant([0.0, 0.0, 1.0, 1.0])
    positive_rois = tf.where(is_positive[..., tf.newaxis], rois, unit)
    roi_gt_boxes = tf.where(is_positive[..., tf.newaxis], roi_gt_boxes, unit)
    deltas = box_refinement_graph(tf.reshape(positive_rois, [-1, 4]),
                                  tf.reshape(roi_gt_boxes, [-1, 4]))
    deltas /= tf.constant(bbox_std_dev, tf.float32)
    deltas = tf.where(is_positive[..., tf.newaxis], tf.reshape(deltas, [batch, t, 4]), 0.0)

    boxes = positive_rois
    if use_mini_mask:
        boxes = _in_gt_box_frame(positive_rois, roi_gt_boxes)
    # [B, h, w, G] -> [B * G, h, w, 1]: the mask of GT box g of image b is image b * G + g.
    mask_images = tf.transpose(tf.cast(gt_masks, tf.float32), [0, 3, 1, 2])[..., tf.newaxis]
    mask_images = tf.reshape(mask_images, tf.concat([[-1], tf.shape(mask_images)[2:]], axis=0))
    mask_indices = tf.range(batch)[:, tf.newaxis] * num_gt + assignment
    masks = crop_and_resize(mask_images, tf.reshape(boxes, [-1, 4]),
                            tf.reshape(mask_indices, [-1]), list(mask_shape))
    masks = tf.reshape(tf.round(masks), [batch, t, *mask_shape])
    masks = tf.where(is_positive[..., tf.newaxis, tf.newaxis], masks, 0.0)
    return rois, class_ids, deltas, masks


@keras.saving.register_keras_serializable(package="mrcnn")
class DetectionTargetLayer(keras.layers.Layer):
    """Subsample proposals and build the heads' targets (see :func:`detection_targets_graph`).

    Inputs:
        proposals:    [batch, P, 4] normalized, zero-padded
        gt_class_ids: [batch, MAX_GT_INSTANCES] int
        gt_boxes:     [batch, MAX_GT_INSTANCES, 4] normalized
        gt_masks:     [batch, h, w, MAX_GT_INSTANCES] bool
    Returns:
        rois [batch, T, 4], target_class_ids int32 [batch, T], target_deltas [batch, T, 4],
        target_mask [batch, T, mask_h, mask_w].

    jit_compatible: False runs :func:`detection_targets_graph` per image in ``tf.map_fn``
        (dynamic shapes, ``tf.random.shuffle``, ``CropAndResize``: XLA cannot compile it); True
        runs :func:`detection_targets_static` on the batch, so the layer compiles with XLA.
    """

    def __init__(self, train_rois_per_image=200, roi_positive_ratio=0.33,
                 bbox_std_dev=BBOX_STD_DEV, mask_shape=(28, 28), use_mini_mask=True,
                 jit_compatible=False, **kwargs):
        super().__init__(**kwargs)
        self.train_rois_per_image = int(train_rois_per_image)
        self.roi_positive_ratio = float(roi_positive_ratio)
        self.bbox_std_dev = tuple(float(v) for v in np.reshape(bbox_std_dev, [4]))
        self.mask_shape = tuple(int(v) for v in mask_shape)
        self.use_mini_mask = bool(use_mini_mask)
        self.jit_compatible = bool(jit_compatible)
        self.supports_jit = self.jit_compatible   # tf.random.shuffle and CropAndResize

    def call(self, inputs):
        proposals, gt_class_ids, gt_boxes, gt_masks = inputs
        t = self.train_rois_per_image
        if self.jit_compatible:
            targets = detection_targets_static(
                proposals, gt_class_ids, gt_boxes, gt_masks, t, self.roi_positive_ratio,
                self.bbox_std_dev, self.mask_shape, self.use_mini_mask)
            return [tf.stop_gradient(x) for x in targets]

        def targets(args):
            return detection_targets_graph(
                tf.cast(args[0], tf.float32), tf.cast(args[1], tf.int32),
                tf.cast(args[2], tf.float32), args[3], t, self.roi_positive_ratio,
                self.bbox_std_dev, self.mask_shape, self.use_mini_mask)

        signature = (tf.TensorSpec([t, 4], tf.float32), tf.TensorSpec([t], tf.int32),
                     tf.TensorSpec([t, 4], tf.float32),
                     tf.TensorSpec([t, *self.mask_shape], tf.float32))
        rois, class_ids, deltas, masks = tf.map_fn(
            targets, (proposals, gt_class_ids, gt_boxes, gt_masks), fn_output_signature=signature)
        return [tf.stop_gradient(rois), tf.stop_gradient(class_ids), tf.stop_gradient(deltas),
                tf.stop_gradient(masks)]

    def compute_output_shape(self, input_shape):
        b = input_shape[0][0]
        t = self.train_rois_per_image
        return [(b, t, 4), (b, t), (b, t, 4), (b, t, *self.mask_shape)]

    def get_config(self):
        return {**super().get_config(), "train_rois_per_image": self.train_rois_per_image,
                "roi_positive_ratio": self.roi_positive_ratio,
                "bbox_std_dev": list(self.bbox_std_dev), "mask_shape": list(self.mask_shape),
                "use_mini_mask": self.use_mini_mask, "jit_compatible": self.jit_compatible}
