"""Wire the Mask R-CNN graph for training or inference. The only graph code that reads ``Config``.

Both modes share a trunk (inputs, backbone, FPN, anchors, RPN, proposals: ``_trunk``); then
``_training_heads`` (detection targets, heads, losses) or ``_inference_heads`` (detections, the
mask head on their rows) give the outputs.

Inputs (names are API; the data pipeline feeds them by name):
    training:  input_image [B, H, W, C] molded float32, input_image_meta [B, 12 + NUM_CLASSES],
               input_rpn_match [B, anchors, 1] int32,
               input_rpn_bbox [B, RPN_TRAIN_ANCHORS_PER_IMAGE, 4],
               input_gt_class_ids [B, MAX_GT_INSTANCES] int32,
               input_gt_boxes [B, MAX_GT_INSTANCES, 4] in pixels,
               input_gt_masks [B, h, w, MAX_GT_INSTANCES] uint8 0/1, bool accepted (mini-masks
               when USE_MINI_MASK),
               and input_roi [B, POST_NMS_ROIS_TRAINING, 4] pixels when not USE_RPN_ROIS.
    inference: input_image, input_image_meta, input_anchors [B, anchors, 4] normalized.
Outputs, in Matterport's order:
    training:  rpn_class_logits, rpn_class, rpn_bbox, mrcnn_class_logits, mrcnn_class, mrcnn_bbox,
               mrcnn_mask (with TRAIN_BN False for the leading
               int(TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO) ROIs, the only ones that can be
               positive; else for all ROIs), ROI (rpn_rois), output_rois, then the five
               losses (float32 scalars)
               rpn_class_loss, rpn_bbox_loss, mrcnn_class_loss, mrcnn_bbox_loss, mrcnn_mask_loss.
    inference: mrcnn_detection [B, DETECTION_MAX_INSTANCES, 6], mrcnn_class, mrcnn_bbox,
               mrcnn_mask_rows [B, DETECTION_MAX_INSTANCES, h, w, NUM_CLASSES] (zero in the rows
               without a detection; the mask head, layer "mrcnn_mask", runs on the first K rows
               only, K the largest number of detections of an image in the batch), ROI,
               rpn_class, rpn_bbox.
"""
from typing import NamedTuple

import keras
from keras import layers as KL

from mrcnn.core.contracts import INFERENCE_INPUT_NAMES, INPUT_NAMES, INPUT_ROI, LOSS_NAMES
from mrcnn.graph.fpn import fpn_graph
from mrcnn.graph.heads import build_fpn_mask_graph, fpn_classifier_graph
from mrcnn.graph.precision import FLOAT32, dtype_policy
from mrcnn.graph.resnet import resnet_graph
from mrcnn.graph.rpn import build_rpn_model
from mrcnn.layers.anchors import PyramidAnchors
from mrcnn.layers.detection import DetectionLayer
from mrcnn.layers.detection_rows import DetectedBoxes, DetectionMasks
from mrcnn.layers.detection_target import DetectionTargetLayer
from mrcnn.layers.inputs import ActiveClassIds, NormBoxes
from mrcnn.layers.losses import LossLayer
from mrcnn.layers.proposal import ProposalLayer
from mrcnn.layers.reshape import Identity, LeadingRows


def _backbone(input_image, config):
    """C2..C5 from the configured backbone (a name, or Matterport's callable contract)."""
    if callable(config.BACKBONE):
        _, C2, C3, C4, C5 = config.BACKBONE(input_image, stage5=True, train_bn=config.TRAIN_BN)
    else:
        _, C2, C3, C4, C5 = resnet_graph(input_image, config.BACKBONE, stage5=True,
                                         train_bn=config.TRAIN_BN)
    return C2, C3, C4, C5


def build_inputs(mode, config):
    """The model's Input tensors as an ordered dict name -> KerasTensor, in the order of
    :data:`mrcnn.core.contracts.INPUT_NAMES` (then INPUT_ROI) or INFERENCE_INPUT_NAMES."""
    inputs = {
        "input_image": keras.Input(shape=[None, None, config.IMAGE_CHANNEL_COUNT],
                                   name="input_image"),
        "input_image_meta": keras.Input(shape=[config.IMAGE_META_SIZE], name="input_image_meta"),
    }
    if mode == "training":
        # Full-size masks follow the batch's image shape, which varies outside "square"/"crop".
        mask_hw = list(config.MINI_MASK_SHAPE) if config.USE_MINI_MASK else [None, None]
        inputs.update({
            "input_rpn_match": keras.Input(shape=[None, 1], name="input_rpn_match", dtype="int32"),
            "input_rpn_bbox": keras.Input(shape=[None, 4], name="input_rpn_bbox"),
            "input_gt_class_ids": keras.Input(shape=[None], name="input_gt_class_ids",
                                              dtype="int32"),
            "input_gt_boxes": keras.Input(shape=[None, 4], name="input_gt_boxes"),
            # 0/1 uint8 (bool arrays are cast on the way in): fit() under MirroredStrategy
            # averages a first batch over the replicas to build the model, which bool fails.
            "input_gt_masks": keras.Input(shape=mask_hw + [None], name="input_gt_masks",
                                          dtype="uint8"),
        })
        if not config.USE_RPN_ROIS:
            inputs[INPUT_ROI] = keras.Input(shape=[config.POST_NMS_ROIS_TRAINING, 4],
                                            name=INPUT_ROI, dtype="int32")
        order = INPUT_NAMES + ((INPUT_ROI,) if INPUT_ROI in inputs else ())
    else:
        inputs["input_anchors"] = keras.Input(shape=[None, 4], name="input_anchors")
        order = INFERENCE_INPUT_NAMES
    return {name: inputs[name] for name in order}


def build_graph(mode, config, model_class=keras.Model):
    """Build the Mask R-CNN Keras model for ``mode`` ("training" or "inference").

    ``model_class`` lets the training code use a ``keras.Model`` subclass with its own
    ``train_step``; it is called as ``model_class(inputs=..., outputs=..., name="mask_rcnn")``.
    """
    if mode not in ("training", "inference"):
        raise ValueError(f"mode must be 'training' or 'inference', not {mode!r}")
    config.validate()
    with dtype_policy(config.MIXED_PRECISION):
        inputs, outputs = _wire(mode, config)
        return model_class(inputs=list(inputs.values()), outputs=outputs, name="mask_rcnn")


class _Trunk(NamedTuple):
    """What both modes share: the inputs, the heads' feature maps and the RPN's outputs."""

    inputs: dict                # name -> Input, as build_inputs
    mrcnn_feature_maps: list    # P2..P5, the heads' ROI Align levels
    rpn_class_logits: object    # [B, anchors, 2]
    rpn_class: object           # [B, anchors, 2] softmax
    rpn_bbox: object            # [B, anchors, 4] deltas, still divided by RPN_BBOX_STD_DEV
    rpn_rois: object            # [B, proposal_count, 4] normalized proposals (layer "ROI")


def _wire(mode, config):
    """Inputs (ordered dict) and outputs (list) of the graph of ``mode``."""
    trunk = _trunk(mode, config)
    heads = _training_heads if mode == "training" else _inference_heads
    return trunk.inputs, heads(trunk, config)


def _trunk(mode, config):
    """The inputs, backbone, FPN, anchors, RPN and proposals of ``mode``'s graph."""
    inputs = build_inputs(mode, config)
    input_image = inputs["input_image"]

    C2, C3, C4, C5 = _backbone(input_image, config)
    P2, P3, P4, P5, P6 = fpn_graph(C2, C3, C4, C5, config.TOP_DOWN_PYRAMID_SIZE)
    rpn_feature_maps = [P2, P3, P4, P5, P6]
    mrcnn_feature_maps = [P2, P3, P4, P5]

    if mode == "training":
        # The anchors of the batch's own shape (the data pipeline builds the RPN targets from
        # get_anchors of the same shape), so rectangular and varying image sizes train right.
        anchors = PyramidAnchors(config.RPN_ANCHOR_SCALES, config.RPN_ANCHOR_RATIOS,
                                 config.BACKBONE_STRIDES, config.RPN_ANCHOR_STRIDE,
                                 name="anchors", dtype=FLOAT32)([input_image] + rpn_feature_maps)
    else:
        anchors = inputs["input_anchors"]

    rpn = build_rpn_model(config.RPN_ANCHOR_STRIDE, len(config.RPN_ANCHOR_RATIOS),
                          config.TOP_DOWN_PYRAMID_SIZE)
    level_outputs = [rpn([p]) for p in rpn_feature_maps]
    rpn_class_logits, rpn_class, rpn_bbox = [
        KL.Concatenate(axis=1, name=name, dtype=FLOAT32)([out[i] for out in level_outputs])
        for i, name in enumerate(["rpn_class_logits", "rpn_class", "rpn_bbox"])]

    proposal_count = (config.POST_NMS_ROIS_TRAINING if mode == "training"
                      else config.POST_NMS_ROIS_INFERENCE)
    # JIT_COMPILE: the training graph's layers take their static-shape route (XLA compiles it).
    jit = bool(config.JIT_COMPILE) and mode == "training"
    rpn_rois = ProposalLayer(proposal_count=proposal_count, nms_threshold=config.RPN_NMS_THRESHOLD,
                             rpn_bbox_std_dev=config.RPN_BBOX_STD_DEV,
                             pre_nms_limit=config.PRE_NMS_LIMIT, jit_compatible=jit,
                             name="ROI", dtype=FLOAT32)([rpn_class, rpn_bbox, anchors])
    return _Trunk(inputs, mrcnn_feature_maps, rpn_class_logits, rpn_class, rpn_bbox, rpn_rois)


def _training_heads(trunk, config):
    """The training graph's outputs: detection targets, the classifier and mask heads on the
    sampled ROIs, and the five losses, in Matterport's order."""
    inputs = trunk.inputs
    input_image = inputs["input_image"]
    input_image_meta = inputs["input_image_meta"]
    mrcnn_feature_maps = trunk.mrcnn_feature_maps
    rpn_class_logits, rpn_class, rpn_bbox = trunk.rpn_class_logits, trunk.rpn_class, trunk.rpn_bbox
    rpn_rois = trunk.rpn_rois
    jit = bool(config.JIT_COMPILE)
    # ROI Align crops with gathers in training whatever JIT_COMPILE (the inference graph keeps
    # tf.image.crop_and_resize, Matterport's values): TensorFlow's CPU kernel of the
    # CropAndResize image gradient adds the boxes' shares from several threads without
    # synchronisation and loses some where boxes overlap (tensorflow/tensorflow#42033; at
    # 1024x1024 with 200 ROIs two runs differed by up to 2.9 on gradients of about 10), so the
    # backbone and FPN got wrong, irreproducible gradients. The gather route's are exact, and a
    # 128x128 batch-8 ResNet50 step took the same time within noise (4.66 against 5.10 s median,
    # interleaved in one process).
    roi_gather = True

    active_class_ids = ActiveClassIds(name="active_class_ids", dtype=FLOAT32)(input_image_meta)
    gt_boxes = NormBoxes(name="norm_gt_boxes", dtype=FLOAT32)(
        [inputs["input_gt_boxes"], input_image])
    if config.USE_RPN_ROIS:
        target_rois = rpn_rois
    else:
        target_rois = NormBoxes(name="norm_input_roi", dtype=FLOAT32)(
            [inputs[INPUT_ROI], input_image])
    rois, target_class_ids, target_bbox, target_mask = DetectionTargetLayer(
        train_rois_per_image=config.TRAIN_ROIS_PER_IMAGE,
        roi_positive_ratio=config.ROI_POSITIVE_RATIO, bbox_std_dev=config.BBOX_STD_DEV,
        mask_shape=config.MASK_SHAPE, use_mini_mask=config.USE_MINI_MASK,
        jit_compatible=jit, name="proposal_targets", dtype=FLOAT32)(
            [target_rois, inputs["input_gt_class_ids"], gt_boxes, inputs["input_gt_masks"]])
    mrcnn_class_logits, mrcnn_class, mrcnn_bbox = fpn_classifier_graph(
        rois, mrcnn_feature_maps, input_image_meta, config.POOL_SIZE, config.NUM_CLASSES,
        train_bn=config.TRAIN_BN, fc_layers_size=config.FPN_CLASSIF_FC_LAYERS_SIZE,
        jit_compatible=roi_gather)
    # Only positive ROIs have a mask loss, and DetectionTargetLayer puts them first, at most
    # int(TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO) of them: with frozen BatchNorm the mask
    # head runs on those rows alone (the same loss as Matterport's, for a third of the mask
    # head's work). When its BatchNorm trains (TRAIN_BN True or None) the batch statistics
    # depend on every row, so it runs on all ROIs as Matterport's did.
    positive_rows = (max(1, int(config.TRAIN_ROIS_PER_IMAGE * config.ROI_POSITIVE_RATIO))
                     if config.TRAIN_BN is False else config.TRAIN_ROIS_PER_IMAGE)
    mask_rois = LeadingRows(positive_rows, name="positive_rois")(rois)
    target_mask = LeadingRows(positive_rows, name="positive_target_mask")(target_mask)
    mask_class_ids = LeadingRows(positive_rows, name="positive_class_ids")(target_class_ids)
    mrcnn_mask = build_fpn_mask_graph(mask_rois, mrcnn_feature_maps, input_image_meta,
                                      config.MASK_POOL_SIZE, config.NUM_CLASSES,
                                      train_bn=config.TRAIN_BN, jit_compatible=roi_gather)
    output_rois = Identity(name="output_rois")(rois)
    loss_inputs = {
        "rpn_class_loss": [inputs["input_rpn_match"], rpn_class_logits],
        "rpn_bbox_loss": [inputs["input_rpn_bbox"], inputs["input_rpn_match"], rpn_bbox],
        "mrcnn_class_loss": [target_class_ids, mrcnn_class_logits, active_class_ids],
        "mrcnn_bbox_loss": [target_bbox, target_class_ids, mrcnn_bbox],
        "mrcnn_mask_loss": [target_mask, mask_class_ids, mrcnn_mask],
    }
    losses = [LossLayer(name, jit_compatible=jit)(loss_inputs[name]) for name in LOSS_NAMES]
    return [rpn_class_logits, rpn_class, rpn_bbox, mrcnn_class_logits, mrcnn_class,
            mrcnn_bbox, mrcnn_mask, rpn_rois, output_rois] + losses


def _inference_heads(trunk, config):
    """The inference graph's outputs: the classifier on the proposals, the detections, and the
    mask head on the detections' rows, in Matterport's order."""
    input_image_meta = trunk.inputs["input_image_meta"]
    mrcnn_feature_maps = trunk.mrcnn_feature_maps
    rpn_rois = trunk.rpn_rois

    mrcnn_class_logits, mrcnn_class, mrcnn_bbox = fpn_classifier_graph(
        rpn_rois, mrcnn_feature_maps, input_image_meta, config.POOL_SIZE, config.NUM_CLASSES,
        train_bn=config.TRAIN_BN, fc_layers_size=config.FPN_CLASSIF_FC_LAYERS_SIZE)
    detections = DetectionLayer(
        bbox_std_dev=config.BBOX_STD_DEV, min_confidence=config.DETECTION_MIN_CONFIDENCE,
        max_instances=config.DETECTION_MAX_INSTANCES,
        nms_threshold=config.DETECTION_NMS_THRESHOLD,
        name="mrcnn_detection", dtype=FLOAT32)(
            [rpn_rois, mrcnn_class, mrcnn_bbox, input_image_meta])
    # The mask head runs on the rows that hold detections (Matterport ran it on the zero
    # padding too: most of detect()'s time when there are few objects).
    detection_boxes = DetectedBoxes(name="detection_boxes", dtype=FLOAT32)(detections)
    mrcnn_mask = build_fpn_mask_graph(detection_boxes, mrcnn_feature_maps, input_image_meta,
                                      config.MASK_POOL_SIZE, config.NUM_CLASSES,
                                      train_bn=config.TRAIN_BN)
    mrcnn_mask = DetectionMasks(name="mrcnn_mask_rows", dtype=FLOAT32)([mrcnn_mask, detections])
    return [detections, mrcnn_class, mrcnn_bbox, mrcnn_mask, trunk.rpn_rois, trunk.rpn_class,
            trunk.rpn_bbox]
