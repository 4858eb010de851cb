"""The five Mask R-CNN losses as plain functions, and the layers that put them in the graph.

Glossary: rpn_match is 1 (positive anchor), -1 (negative), 0 (neutral); class 0 is background;
padding ROIs carry class 0. Every loss returns a float32 scalar, and 0 (never NaN) when the batch
holds nothing for it to measure (no positive anchors, no positive ROIs, ...).
Keras 3 has no ``Model.add_loss(tensor)``: each loss is a layer whose output is the scalar, and the
training model adds the outputs (see DESIGN §4).
"""
import keras
import tensorflow as tf

from mrcnn.core.contracts import LOSS_NAMES


def smooth_l1_loss(y_true, y_pred):
    """Element-wise smooth-L1 (Huber with delta 1): [N, 4] -> [N, 4]."""
    diff = tf.abs(y_true - y_pred)
    less_than_one = tf.cast(diff < 1.0, tf.float32)
    return less_than_one * 0.5 * diff ** 2 + (1 - less_than_one) * (diff - 0.5)


def _mean_or_zero(x):
    return tf.math.divide_no_nan(tf.reduce_sum(x), tf.cast(tf.size(x), tf.float32))


def rpn_class_loss_graph(rpn_match, rpn_class_logits):
    """RPN anchor classifier loss: cross-entropy over non-neutral anchors.

    rpn_match: [batch, anchors, 1] int; rpn_class_logits: [batch, anchors, 2].
    """
    rpn_match = tf.squeeze(tf.cast(rpn_match, tf.int32), -1)
    anchor_class = tf.cast(tf.equal(rpn_match, 1), tf.int32)
    indices = tf.where(tf.not_equal(rpn_match, 0))
    logits = tf.cast(tf.gather_nd(rpn_class_logits, indices), tf.float32)
    anchor_class = tf.gather_nd(anchor_class, indices)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=anchor_class, logits=logits)
    return _mean_or_zero(loss)


def rpn_bbox_loss_graph(target_bbox, rpn_match, rpn_bbox):
    """RPN box regression loss over positive anchors.

    target_bbox: [batch, RPN_TRAIN_ANCHORS_PER_IMAGE, 4], the deltas of each image's positive
        anchors in anchor order, zero-padded; rpn_match: [batch, anchors, 1];
        rpn_bbox: [batch, anchors, 4].
    (Matterport packed the targets with a Python loop over IMAGES_PER_GPU; a mask does it for any
    batch size.)
    """
    rpn_match = tf.squeeze(tf.cast(rpn_match, tf.int32), -1)
    positive = tf.equal(rpn_match, 1)
    pred = tf.cast(tf.boolean_mask(rpn_bbox, positive), tf.float32)
    counts = tf.reduce_sum(tf.cast(positive, tf.int32), axis=1)
    rows = tf.range(tf.shape(target_bbox)[1])[tf.newaxis, :] < counts[:, tf.newaxis]
    target = tf.cast(tf.boolean_mask(target_bbox, rows), tf.float32)
    return _mean_or_zero(smooth_l1_loss(target, pred))


def mrcnn_class_loss_graph(target_class_ids, pred_class_logits, active_class_ids):
    """Classifier head loss: cross-entropy, ignoring predictions of classes not in the image's
    source.

    target_class_ids: [batch, rois] (padding rows are 0, i.e. background); pred_class_logits:
    [batch, rois, num_classes]; active_class_ids: [batch, num_classes] 1/0.
    Matterport used the first image's active classes for the whole batch; here each image uses
    its own.
    """
    target_class_ids = tf.cast(target_class_ids, tf.int64)
    logits = tf.cast(pred_class_logits, tf.float32)
    pred_class_ids = tf.argmax(logits, axis=2)
    pred_active = tf.gather(tf.cast(active_class_ids, tf.float32), pred_class_ids, batch_dims=1)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target_class_ids, logits=logits)
    return tf.math.divide_no_nan(tf.reduce_sum(loss * pred_active), tf.reduce_sum(pred_active))


def mrcnn_bbox_loss_graph(target_bbox, target_class_ids, pred_bbox):
    """Box head loss: smooth-L1 of the true class's deltas over positive ROIs.

    target_bbox: [batch, rois, 4]; target_class_ids: [batch, rois]; pred_bbox:
    [batch, rois, num_classes, 4].
    """
    target_class_ids = tf.reshape(tf.cast(target_class_ids, tf.int64), (-1,))
    target_bbox = tf.reshape(tf.cast(target_bbox, tf.float32), (-1, 4))
    pred_bbox = tf.reshape(tf.cast(pred_bbox, tf.float32), (-1, tf.shape(pred_bbox)[2], 4))
    positive_ix = tf.where(target_class_ids > 0)[:, 0]
    positive_class_ids = tf.gather(target_class_ids, positive_ix)
    indices = tf.stack([positive_ix, positive_class_ids], axis=1)
    target_bbox = tf.gather(target_bbox, positive_ix)
    pred_bbox = tf.gather_nd(pred_bbox, indices)
    return _mean_or_zero(smooth_l1_loss(target_bbox, pred_bbox))


def mrcnn_mask_loss_graph(target_masks, target_class_ids, pred_masks):
    """Mask head loss: binary cross-entropy of the true class's mask over positive ROIs.

    target_masks: [batch, rois, h, w] 0/1; target_class_ids: [batch, rois];
    pred_masks: [batch, rois, h, w, num_classes] sigmoid probabilities.
    """
    target_class_ids = tf.reshape(tf.cast(target_class_ids, tf.int64), (-1,))
    mask_shape = tf.shape(target_masks)
    target_masks = tf.reshape(tf.cast(target_masks, tf.float32), (-1, mask_shape[2], mask_shape[3]))
    pred_shape = tf.shape(pred_masks)
    pred_masks = tf.reshape(tf.cast(pred_masks, tf.float32),
                            (-1, pred_shape[2], pred_shape[3], pred_shape[4]))
    pred_masks = tf.transpose(pred_masks, [0, 3, 1, 2])
    positive_ix = tf.where(target_class_ids > 0)[:, 0]
    positive_class_ids = tf.gather(target_class_ids, positive_ix)
    indices = tf.stack([positive_ix, positive_class_ids], axis=1)
    y_true = tf.gather(target_masks, positive_ix)
    y_pred = tf.gather_nd(pred_masks, indices)
    return _mean_or_zero(keras.ops.binary_crossentropy(y_true, y_pred))


# Static-shape twins of the losses above for XLA (``jit_compile=True``): the same values, with
# masks and weighted sums instead of ``tf.where`` / ``boolean_mask`` gathers of a data-dependent
# number of rows, which XLA cannot compile.

def _masked_mean(values, weights):
    """sum(values * weights) / sum(weights), 0 when the weights are all 0."""
    return tf.math.divide_no_nan(tf.reduce_sum(values * weights), tf.reduce_sum(weights))


def rpn_class_loss_static(rpn_match, rpn_class_logits):
    """:func:`rpn_class_loss_graph` with static shapes."""
    rpn_match = tf.squeeze(tf.cast(rpn_match, tf.int32), -1)
    anchor_class = tf.cast(tf.equal(rpn_match, 1), tf.int32)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=anchor_class, logits=tf.cast(rpn_class_logits, tf.float32))
    return _masked_mean(loss, tf.cast(tf.not_equal(rpn_match, 0), tf.float32))


def rpn_bbox_loss_static(target_bbox, rpn_match, rpn_bbox):
    """:func:`rpn_bbox_loss_graph` with static shapes: the k-th positive anchor of an image
    (anchor order) meets the image's k-th target row."""
    rpn_match = tf.squeeze(tf.cast(rpn_match, tf.int32), -1)
    positive = tf.equal(rpn_match, 1)
    rows = tf.shape(target_bbox)[1]
    rank = tf.cumsum(tf.cast(positive, tf.int32), axis=1) - 1            # [batch, anchors]
    used = tf.logical_and(positive, rank < rows)
    target = tf.gather(tf.cast(target_bbox, tf.float32), tf.clip_by_value(rank, 0, rows - 1),
                       batch_dims=1)
    loss = smooth_l1_loss(target, tf.cast(rpn_bbox, tf.float32))
    weights = tf.broadcast_to(tf.cast(used, tf.float32)[..., tf.newaxis], tf.shape(loss))
    return _masked_mean(loss, weights)


def mrcnn_bbox_loss_static(target_bbox, target_class_ids, pred_bbox):
    """:func:`mrcnn_bbox_loss_graph` with static shapes."""
    class_ids = tf.cast(target_class_ids, tf.int32)
    positive = tf.cast(class_ids > 0, tf.float32)[..., tf.newaxis]
    pred = tf.gather(tf.cast(pred_bbox, tf.float32), tf.maximum(class_ids, 0), batch_dims=2)
    loss = smooth_l1_loss(tf.cast(target_bbox, tf.float32), pred)
    return _masked_mean(loss, tf.broadcast_to(positive, tf.shape(loss)))


def mrcnn_mask_loss_static(target_masks, target_class_ids, pred_masks):
    """:func:`mrcnn_mask_loss_graph` with static shapes."""
    class_ids = tf.cast(target_class_ids, tf.int32)
    pred = tf.transpose(tf.cast(pred_masks, tf.float32), [0, 1, 4, 2, 3])   # [b, r, cls, h, w]
    pred = tf.gather(pred, tf.maximum(class_ids, 0), batch_dims=2)          # [b, r, h, w]
    loss = keras.ops.binary_crossentropy(tf.cast(target_masks, tf.float32), pred)
    positive = tf.cast(class_ids > 0, tf.float32)[..., tf.newaxis, tf.newaxis]
    return _masked_mean(loss, tf.broadcast_to(positive, tf.shape(loss)))


LOSS_FUNCTIONS = dict(zip(LOSS_NAMES, (rpn_class_loss_graph, rpn_bbox_loss_graph,
                                        mrcnn_class_loss_graph, mrcnn_bbox_loss_graph,
                                        mrcnn_mask_loss_graph)))
"""The loss names (Matterport's, also the keys of ``Config.LOSS_WEIGHTS``) and their functions."""

STATIC_LOSS_FUNCTIONS = dict(zip(LOSS_NAMES, (rpn_class_loss_static, rpn_bbox_loss_static,
                                               mrcnn_class_loss_graph, mrcnn_bbox_loss_static,
                                               mrcnn_mask_loss_static)))
"""The same losses with static shapes (XLA compiles them; equal values)."""


@keras.saving.register_keras_serializable(package="mrcnn")
class LossLayer(keras.layers.Layer):
    """Compute one named loss of :data:`LOSS_FUNCTIONS`; the output is a float32 scalar.

    The layer's name is the loss name (``rpn_class_loss``, ...), so ``get_layer(name).output`` and
    the logs use Matterport's names. jit_compatible: use :data:`STATIC_LOSS_FUNCTIONS` (same
    values, static shapes), so the layer compiles with XLA.
    """

    def __init__(self, loss_name=None, jit_compatible=False, **kwargs):
        loss_name = loss_name or kwargs.get("name")
        if loss_name not in LOSS_FUNCTIONS:
            raise ValueError(f"Unknown loss {loss_name!r}; "
                             f"expected one of {sorted(LOSS_FUNCTIONS)}")
        kwargs.setdefault("name", loss_name)
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.loss_name = loss_name
        self.jit_compatible = bool(jit_compatible)
        self.supports_jit = self.jit_compatible

    def call(self, inputs):
        functions = STATIC_LOSS_FUNCTIONS if self.jit_compatible else LOSS_FUNCTIONS
        return functions[self.loss_name](*inputs)

    def compute_output_shape(self, input_shape):
        return ()

    def get_config(self):
        return {**super().get_config(), "loss_name": self.loss_name,
                "jit_compatible": self.jit_compatible}
