"""Region Proposal Network: one small model shared by every pyramid level (``rpn_model``).

For a feature map [batch, h, w, depth] it gives, per anchor (cell row by row, then ratio; cells
every ``anchor_stride``): class logits [batch, anchors, 2] (background, foreground), their softmax,
and box deltas [batch, anchors, 4] (dy, dx, log dh, log dw), still divided by RPN_BBOX_STD_DEV.
"""
import keras
from keras import layers as KL

from mrcnn.layers.reshape import AnchorFlatten


def rpn_graph(feature_map, anchors_per_location, anchor_stride):
    """Apply the RPN head to one feature map; returns [logits, probs, deltas]."""
    shared = KL.Conv2D(512, (3, 3), padding="same", activation="relu", strides=anchor_stride,
                       name="rpn_conv_shared")(feature_map)
    x = KL.Conv2D(2 * anchors_per_location, (1, 1), padding="valid", activation="linear",
                  name="rpn_class_raw")(shared)
    rpn_class_logits = AnchorFlatten(2)(x)
    rpn_probs = KL.Activation("softmax", name="rpn_class_xxx")(rpn_class_logits)
    x = KL.Conv2D(anchors_per_location * 4, (1, 1), padding="valid", activation="linear",
                  name="rpn_bbox_pred")(shared)
    rpn_bbox = AnchorFlatten(4)(x)
    return [rpn_class_logits, rpn_probs, rpn_bbox]


def build_rpn_model(anchor_stride, anchors_per_location, depth):
    """The shared RPN as a Keras model named ``rpn_model`` (its weights are one ``.h5`` group)."""
    input_feature_map = keras.Input(shape=[None, None, depth], name="input_rpn_feature_map")
    outputs = rpn_graph(input_feature_map, anchors_per_location, anchor_stride)
    return keras.Model([input_feature_map], outputs, name="rpn_model")
