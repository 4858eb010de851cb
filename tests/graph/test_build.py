"""Both graphs build for each backbone and channel count, with Matterport's layer names."""
import keras
import numpy as np
import pytest

from mrcnn.graph.build import build_graph
from tiny import tiny_config

# Layer names are API (DESIGN §2): .h5 loading, the layers= presets and run_graph use them.
COMMON_LAYERS = [
    "input_image", "input_image_meta", "conv1", "bn_conv1", "res2a_branch2a", "bn2a_branch2a",
    "res2a_branch1", "res2c_out", "res3d_out", "res4f_out", "res5a_branch2c", "res5c_out",
    "fpn_c5p5", "fpn_c4p4", "fpn_c3p3", "fpn_c2p2", "fpn_p5upsampled", "fpn_p4add", "fpn_p2",
    "fpn_p3", "fpn_p4", "fpn_p5", "fpn_p6", "rpn_model", "rpn_class",
    "rpn_bbox", "ROI", "roi_align_classifier", "mrcnn_class_conv1", "mrcnn_class_bn1",
    "mrcnn_class_conv2", "mrcnn_class_bn2", "pool_squeeze", "mrcnn_class_logits", "mrcnn_class",
    "mrcnn_bbox_fc", "mrcnn_bbox", "roi_align_mask", "mrcnn_mask_conv1", "mrcnn_mask_bn1",
    "mrcnn_mask_conv4", "mrcnn_mask_bn4", "mrcnn_mask_deconv", "mrcnn_mask",
]
TRAINING_LAYERS = [
    "rpn_class_logits", "input_rpn_match", "input_rpn_bbox", "input_gt_class_ids", "input_gt_boxes",
    "input_gt_masks", "anchors", "proposal_targets", "output_rois", "rpn_class_loss",
    "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss", "mrcnn_mask_loss",
]
INFERENCE_LAYERS = ["input_anchors", "mrcnn_detection"]
RPN_SUBLAYERS = ["rpn_conv_shared", "rpn_class_raw", "rpn_bbox_pred"]


def names(model):
    return {layer.name for layer in model.layers}


def test_layer_names_snapshot(training_model, inference_model):
    for model, extra in [(training_model.keras_model, TRAINING_LAYERS),
                         (inference_model.keras_model, INFERENCE_LAYERS)]:
        missing = set(COMMON_LAYERS + extra) - names(model)
        assert not missing
        rpn = model.get_layer("rpn_model")
        assert RPN_SUBLAYERS == [layer.name for layer in rpn.layers if layer.weights]
    # res4 of ResNet50 ends at block f (a + 5 identity blocks).
    assert "res4g_out" not in names(inference_model.keras_model)


def test_outputs_in_matterport_order(training_model, inference_model):
    tr = [t._keras_history[0].name for t in training_model.keras_model.outputs]
    assert tr == ["rpn_class_logits", "rpn_class", "rpn_bbox", "mrcnn_class_logits",
                  "mrcnn_class", "mrcnn_bbox", "mrcnn_mask", "ROI", "output_rois",
                  "rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
                  "mrcnn_mask_loss"]
    inf = [t._keras_history[0].name for t in inference_model.keras_model.outputs]
    # The masks come out of the mask head ("mrcnn_mask") padded back to DETECTION_MAX_INSTANCES.
    assert inf == ["mrcnn_detection", "mrcnn_class", "mrcnn_bbox", "mrcnn_mask_rows", "ROI",
                   "rpn_class", "rpn_bbox"]


def test_roi_align_gathers_in_training_and_crops_and_resizes_in_inference(training_model,
                                                                            inference_model):
    """Training takes the gather route, whose feature-map gradient is exact (TensorFlow's CPU
    CropAndResize image gradient loses updates between threads); inference keeps
    tf.image.crop_and_resize, the values Matterport's weights were trained and checked with."""
    for name in ("roi_align_classifier", "roi_align_mask"):
        assert training_model.keras_model.get_layer(name).jit_compatible is True, name
        assert inference_model.keras_model.get_layer(name).jit_compatible is False, name


def test_frozen_batch_norm_by_default(inference_model):
    bn = inference_model.keras_model.get_layer("bn_conv1")
    assert bn.frozen is True
    assert inference_model.keras_model.get_layer("mrcnn_mask_bn1").layer.frozen is True


@pytest.mark.parametrize("backbone,channels,mode", [
    ("resnet101", 3, "inference"),
    ("resnet18", 3, "training"),
    ("resnet50", 1, "training"),
    ("resnet50", 4, "inference"),
])
def test_builds_for_backbone_and_channels(backbone, channels, mode):
    config = tiny_config(BACKBONE=backbone, IMAGE_CHANNEL_COUNT=channels,
                         MEAN_PIXEL=np.full(channels, 100.0))
    model = build_graph(mode, config)
    assert model.get_layer("conv1").kernel.shape == (7, 7, channels, 64)
    assert ("res4w_out" in names(model)) == (backbone == "resnet101")
    if backbone == "resnet18":
        # Two basic blocks per stage, 64..512 channels; the presets' names apply.
        assert {"res2b_out", "res3a_branch1", "res5b_out"} <= names(model)
        assert "res2c_out" not in names(model) and "res2a_branch2c" not in names(model)
        assert model.get_layer("res5b_branch2b").kernel.shape == (3, 3, 512, 512)
    assert model.inputs[0].shape[-1] == channels


def test_anchor_stride_sets_rpn_output_size():
    # 64 px image, P2..P6 maps 16, 8, 4, 2, 1; stride 2 keeps cells 8, 4, 2, 1, 1 per side.
    for stride, per_level in [(1, [256, 64, 16, 4, 1]), (2, [64, 16, 4, 1, 1])]:
        config = tiny_config(RPN_ANCHOR_STRIDE=stride)
        model = build_graph("inference", config)
        probe = keras.Model(model.inputs, model.get_layer("rpn_class").output)
        image = np.zeros((1, 64, 64, 3), np.float32)
        meta = np.zeros((1, config.IMAGE_META_SIZE), np.float32)
        anchors = np.zeros((1, 1, 4), np.float32)
        out = probe.predict_on_batch([image, meta, anchors])
        assert out.shape == (1, 3 * sum(per_level), 2)


def test_callable_backbone():
    from mrcnn.graph.resnet import resnet_graph

    def backbone(image, stage5=True, train_bn=None):
        return resnet_graph(image, "resnet50", stage5=stage5, train_bn=train_bn)

    config = tiny_config(BACKBONE=staticmethod(backbone),
                         COMPUTE_BACKBONE_SHAPE=staticmethod(
                             lambda shape: np.array([[shape[0] // s, shape[1] // s]
                                                     for s in (4, 8, 16, 32, 64)])))
    model = build_graph("training", config)
    assert "res5c_out" in names(model)


def test_bad_mode():
    with pytest.raises(ValueError, match="mode must be"):
        build_graph("train", tiny_config())


def test_detected_boxes_and_detection_masks():
    from mrcnn.layers.detection_rows import DetectedBoxes, DetectionMasks
    detections = np.zeros((2, 5, 6), np.float32)
    detections[0, :2] = [0.1, 0.1, 0.5, 0.5, 1, 0.9]
    detections[1, :3] = [0.2, 0.2, 0.6, 0.6, 2, 0.8]
    boxes = DetectedBoxes()(detections)
    np.testing.assert_array_equal(boxes, detections[:, :3, :4])
    # Without a detection in the batch, one (zero) row stays for the mask head.
    assert DetectedBoxes()(np.zeros((2, 5, 6), np.float32)).shape == (2, 1, 4)
    masks = np.random.default_rng(0).random((2, 3, 4, 4, 2)).astype(np.float32) + 0.1
    rows = np.asarray(DetectionMasks()([masks, detections]))
    assert rows.shape == (2, 5, 4, 4, 2)
    np.testing.assert_array_equal(rows[0, :2], masks[0, :2])
    np.testing.assert_array_equal(rows[1, :3], masks[1])
    assert not rows[0, 2:].any() and not rows[1, 3:].any()


def test_mask_head_runs_on_the_detections_only(tmp_path, rng):
    """Rows of the masks output past an image's detections are zero; the others hold masks.

    The model's classifier never says background (every proposal is a candidate), and
    DETECTION_MAX_INSTANCES exceeds the proposals, so each image has detections and padding
    whatever the random weights (the session model, unseeded, can detect nothing)."""
    from mrcnn.maskrcnn import MaskRCNN
    keras.utils.set_random_seed(0)
    config = tiny_config(IMAGES_PER_GPU=2, DETECTION_MAX_INSTANCES=30)
    model = MaskRCNN("inference", config, tmp_path)
    logits = model.keras_model.get_layer("mrcnn_class_logits")
    kernel, bias = logits.get_weights()
    bias[0] = -10.0
    logits.set_weights([kernel * 0.0, bias])
    images = [rng.integers(0, 255, (64, 64, 3)).astype(np.uint8) for _ in range(2)]
    molded, metas, _ = model.mold_inputs(images)
    anchors = model.get_anchors(molded[0].shape)
    anchors = np.ascontiguousarray(np.broadcast_to(anchors, (2,) + anchors.shape))
    outputs = model.keras_model.predict_on_batch([molded, metas.astype(np.float32), anchors])
    detections, masks = np.asarray(outputs[0]), np.asarray(outputs[3])
    assert masks.shape == (2, 30) + tuple(config.MASK_SHAPE) + (config.NUM_CLASSES,)
    for b in range(2):
        count = int((detections[b, :, 4] > 0).sum())
        assert 0 < count <= config.POST_NMS_ROIS_INFERENCE < 30
        assert (masks[b, :count] > 0).all() and not masks[b, count:].any()


@pytest.mark.parametrize("train_bn,rows", [(False, 2), (None, 8)])
def test_training_mask_head_rows_follow_train_bn(train_bn, rows):
    """The mask head runs on the leading int(TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO) ROIs only
    while its BatchNorm is frozen; with TRAIN_BN None or True (batch statistics over every row,
    tests/training/test_train_step.py) on all TRAIN_ROIS_PER_IMAGE = 8 ROIs, as Matterport."""
    model = build_graph("training", tiny_config(BACKBONE="resnet18", TRAIN_BN=train_bn))
    assert model.outputs[6].shape[1] == rows
    assert model.get_layer("mrcnn_mask_bn1").layer.frozen is (train_bn is False)
