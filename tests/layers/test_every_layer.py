"""Every Keras layer of mrcnn through the shared check of tests/layer_check.py: output shapes,
compute_output_shape, eager vs tf.function with an unknown batch size, get_config ->
from_config, Keras serialization and a .keras save and reload.

Each case is a batch of two images with different contents. A layer class without a case fails
test_every_layer_class_has_a_check, so a new layer comes with its check. The layers' own behaviour
is tested in the other files of this folder; the few value checks here only make sure the cases
exercise what they claim to.
"""
import importlib
import inspect
import json
import pkgutil
from collections.abc import Callable
from typing import NamedTuple

import keras
import numpy as np
import pytest
import tensorflow as tf

import mrcnn.graph
import mrcnn.layers
from layer_check import MAX_CONFIG_CHARS, check_layer
from mrcnn.core.anchors import generate_pyramid_anchors, get_anchors
from mrcnn.core.boxes import norm_boxes
from mrcnn.core.meta import compose_image_meta
from mrcnn.layers.anchors import AnchorsLayer, PyramidAnchors
from mrcnn.layers.batch_norm import BatchNorm
from mrcnn.layers.detection import DetectionLayer
from mrcnn.layers.detection_rows import DetectedBoxes, DetectionMasks
from mrcnn.layers.detection_target import DetectionTargetLayer
from mrcnn.layers.inputs import ActiveClassIds, NormBoxes
from mrcnn.layers.losses import LossLayer
from mrcnn.layers.proposal import ProposalLayer
from mrcnn.layers.reshape import AnchorFlatten, Identity, LeadingRows
from mrcnn.layers.roi_align import PyramidROIAlign
from mrcnn.layers.time_distributed import TimeDistributed
from tiny import tiny_config

STD = (0.1, 0.1, 0.2, 0.2)
NUM_CLASSES = 4


class Case(NamedTuple):
    layer: keras.layers.Layer
    inputs: object                      # an array, or a list of arrays
    shapes: object                      # a shape, or a list of shapes
    options: dict = {}                  # check_layer's keyword arguments
    verify: Callable = None             # (inputs, outputs) -> None: a few value checks


def rng():
    return np.random.default_rng(7)


def random_boxes(generator, shape, low=0.0, high=1.0, min_side=0.1, max_side=0.4):
    """Normalized boxes [..., 4] inside low..high with sides in min_side..max_side."""
    size = generator.uniform(min_side, max_side, shape + (2,))
    corner = generator.uniform(low, high - size)
    return np.concatenate([corner, corner + size], axis=-1).astype(np.float32)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def image_meta(size=64):
    """Two image metas of a size x size molded image: different windows and active classes."""
    return np.stack([
        compose_image_meta(3, (size, size, 3), (size, size, 3), (0, 0, size, size), 1.0,
                           np.ones(NUM_CLASSES)),
        compose_image_meta(5, (size // 2, size, 3), (size, size, 3), (size // 4, 0, 3 * size // 4,
                                                                      size), 1.0,
                           np.array([1, 0, 1, 0]))]).astype(np.float32)


def detection_rows():
    """[2, 6, 6] DetectionLayer rows: 3 real detections in image 0, 2 in image 1, zero padding.
    Image 0 has the most, so its rows alone keep DetectedBoxes' K."""
    rows = np.zeros((2, 6, 6), np.float32)
    g = rng()
    rows[0, :3, :4] = random_boxes(g, (3,))
    rows[0, :3, 4:] = [[2, 0.9], [1, 0.8], [3, 0.6]]
    rows[1, :2, :4] = random_boxes(g, (2,))
    rows[1, :2, 4:] = [[1, 0.95], [1, 0.7]]
    return rows


# ------------------------------------------------------------------------------ the cases
def anchor_flatten():
    x = rng().normal(size=(2, 3, 5, 3 * 4)).astype(np.float32)
    return Case(AnchorFlatten(4, name="rpn_flat"), x, (2, 45, 4),
                verify=lambda x, out: np.testing.assert_array_equal(out[0], x.reshape(2, -1, 4)))


def leading_rows():
    x = rng().normal(size=(2, 5, 4)).astype(np.float32)
    return Case(LeadingRows(3, name="positive_rois"), x, (2, 3, 4),
                verify=lambda x, out: np.testing.assert_array_equal(out[0], x[:, :3]))


def leading_rows_int():
    x = np.arange(16, dtype=np.int32).reshape(2, 8)
    return Case(LeadingRows(3, name="positive_class_ids"), x, (2, 3),
                verify=lambda x, out: np.testing.assert_array_equal(out[0], x[:, :3]))


def identity():
    x = rng().normal(size=(2, 5, 4)).astype(np.float32)
    return Case(Identity(name="output_rois"), x, (2, 5, 4),
                verify=lambda x, out: np.testing.assert_array_equal(out[0], x))


def norm_boxes_float():
    boxes = np.array([[[0, 0, 32, 48], [8, 4, 20, 30], [0, 0, 0, 0]],
                      [[16, 12, 31, 47], [1, 2, 3, 4], [5, 5, 9, 9]]], np.float32)
    image = np.zeros((2, 32, 48, 3), np.float32)
    return Case(NormBoxes(name="norm_gt_boxes", dtype="float32"), [boxes, image], (2, 3, 4),
                options=dict(dynamic_shape=True),
                verify=lambda inputs, out: np.testing.assert_allclose(
                    out[0], norm_boxes(inputs[0], (32, 48)), rtol=1e-6))


def norm_boxes_int():
    boxes = np.array([[[0, 0, 32, 48], [8, 4, 20, 30]], [[16, 12, 31, 47], [1, 2, 3, 4]]],
                     np.int32)
    image = np.zeros((2, 32, 48, 3), np.float32)
    return Case(NormBoxes(name="norm_input_roi", dtype="float32"), [boxes, image], (2, 2, 4),
                verify=lambda inputs, out: np.testing.assert_allclose(
                    out[0], norm_boxes(inputs[0], (32, 48)), rtol=1e-6))


def active_class_ids():
    meta = image_meta()
    return Case(ActiveClassIds(name="active_class_ids", dtype="float32"), meta, (2, NUM_CLASSES),
                verify=lambda meta, out: np.testing.assert_array_equal(
                    out[0], [[1, 1, 1, 1], [1, 0, 1, 0]]))


def pyramid_anchors():
    scales, ratios, strides = (8, 16), (0.5, 1, 2), (4, 8)
    image = np.zeros((2, 32, 48, 3), np.float32)
    maps = [rng().normal(size=(2, 32 // s, 48 // s, 2)).astype(np.float32) for s in strides]

    def verify(inputs, out):
        expected = norm_boxes(generate_pyramid_anchors(scales, ratios, [(8, 12), (4, 6)],
                                                       strides, 1), (32, 48))
        np.testing.assert_allclose(out[0], np.broadcast_to(expected, (2,) + expected.shape),
                                   atol=1e-6)

    # The anchors are those of each batch's own image and feature map shapes: unknown height
    # and width too.
    return Case(PyramidAnchors(scales, ratios, strides, 1, name="anchors", dtype="float32"),
                [image] + maps, (2, 3 * (8 * 12 + 4 * 6), 4), options=dict(dynamic_shape=True),
                verify=verify)


def anchors_layer():
    anchors = random_boxes(rng(), (10,))
    image = rng().normal(size=(2, 16, 16, 3)).astype(np.float32)
    return Case(AnchorsLayer(anchors, name="anchors"), image, (2, 10, 4),
                verify=lambda image, out: np.testing.assert_array_equal(
                    out[0], np.broadcast_to(anchors, (2, 10, 4))))


def batch_norm(frozen):
    def case():
        x = rng().normal(size=(2, 4, 4, 3)).astype(np.float32)
        x[1] += 3.0
        return Case(BatchNorm(frozen=frozen, name="bn_conv1"), x, (2, 4, 4, 3))
    return case


def time_distributed(inner, shape, out_shape):
    def case():
        x = rng().normal(size=shape).astype(np.float32)
        return Case(TimeDistributed(inner(), name="mrcnn_head"), x, out_shape)
    return case


def proposal():
    g = rng()
    probs = softmax(g.normal(size=(2, 16, 2)) * 2)
    deltas = (g.normal(size=(2, 16, 4)) * 0.5).astype(np.float32)
    anchors = random_boxes(g, (2, 16))
    return Case(ProposalLayer(proposal_count=5, nms_threshold=0.7, rpn_bbox_std_dev=STD,
                              pre_nms_limit=12, name="ROI", dtype="float32"),
                [probs, deltas, anchors], (2, 5, 4))


def roi_align():
    g = rng()
    # Sides from 4 to 60 pixels of a 64 x 64 image: every level 2..5 is used.
    boxes = np.concatenate([random_boxes(g, (2, 3), min_side=0.06, max_side=0.2),
                            random_boxes(g, (2, 3), min_side=0.5, max_side=0.95)], axis=1)
    maps = [g.normal(size=(2, 64 // 2 ** k, 64 // 2 ** k, 3)).astype(np.float32)
            for k in range(2, 6)]
    return Case(PyramidROIAlign((3, 3), name="roi_align_classifier"),
                [boxes, image_meta()] + maps, (2, 6, 3, 3, 3))


def detection():
    g = rng()
    rois = random_boxes(g, (2, 8))
    probs = softmax(g.normal(size=(2, 8, NUM_CLASSES)) * 3)
    deltas = (g.normal(size=(2, 8, NUM_CLASSES, 4)) * 0.5).astype(np.float32)

    def verify(inputs, out):
        assert (out[0][..., 4] > 0).sum(axis=1).min() > 0, "every image has detections"

    return Case(DetectionLayer(bbox_std_dev=STD, min_confidence=0.3, max_instances=5,
                               nms_threshold=0.3, name="mrcnn_detection", dtype="float32"),
                [rois, probs, deltas, image_meta()], (2, 5, 6), verify=verify)


def detected_boxes():
    rows = detection_rows()
    return Case(DetectedBoxes(name="detection_boxes", dtype="float32"), rows, (2, 3, 4),
                verify=lambda rows, out: np.testing.assert_array_equal(out[0], rows[:, :3, :4]))


def detection_masks():
    rows = detection_rows()
    masks = rng().uniform(size=(2, 3, 4, 4, NUM_CLASSES)).astype(np.float32)

    def verify(inputs, out):
        masks, rows = inputs
        expected = np.zeros((2, 6, 4, 4, NUM_CLASSES), np.float32)
        expected[0, :3] = masks[0]
        expected[1, :2] = masks[1, :2]
        np.testing.assert_array_equal(out[0], expected)

    return Case(DetectionMasks(name="mrcnn_mask_rows", dtype="float32"), [masks, rows],
                (2, 6, 4, 4, NUM_CLASSES), verify=verify)


def sampled_rows(outputs):
    """DetectionTargetLayer's outputs without the order of their rows, which its random shuffle
    decides: per image, the rows (roi, class id, deltas, mask) sorted."""
    rois, class_ids, deltas, masks = outputs
    rows = np.concatenate([rois, class_ids[..., np.newaxis].astype(np.float32), deltas,
                           masks.reshape(masks.shape[:2] + (-1,))], axis=-1)
    return [np.stack([image[np.lexsort(image.T[::-1])] for image in rows])]


def detection_target():
    # The proposals fit the quotas (T = 6, ratio 0.5: at most 3 positives and as many
    # negatives), so the shuffles pick every one of them and only order the rows.
    gt_boxes = np.array([[[0.1, 0.1, 0.5, 0.5], [0.55, 0.5, 0.95, 0.9], [0, 0, 0, 0]],
                         [[0.2, 0.3, 0.6, 0.8], [0.0, 0.0, 0.3, 0.2], [0.6, 0.1, 0.9, 0.4]]],
                        np.float32)
    gt_class_ids = np.array([[1, 3, 0], [2, 2, 1]], np.int32)
    gt_masks = np.zeros((2, 8, 8, 3), np.uint8)
    gt_masks[0, :, :4, 0] = 1
    gt_masks[0, 2:6, 2:6, 1] = 1
    gt_masks[1, :4, :, 0] = 1
    gt_masks[1, :, :, 1] = 1
    gt_masks[1, 4:, 4:, 2] = 1
    proposals = np.array([
        [[0.1, 0.1, 0.5, 0.5], [0.56, 0.52, 0.94, 0.9], [0.6, 0.05, 0.9, 0.3],
         [0.05, 0.6, 0.3, 0.95], [0, 0, 0, 0]],
        [[0.2, 0.3, 0.6, 0.8], [0.0, 0.0, 0.28, 0.2], [0.62, 0.1, 0.9, 0.38],
         [0.7, 0.6, 0.95, 0.95], [0.35, 0.85, 0.5, 1.0]]], np.float32)

    def verify(inputs, out):
        rois, class_ids, deltas, masks = out
        assert (class_ids > 0).sum(axis=1).tolist() == [2, 3]
        assert (np.abs(rois).sum(axis=2) > 0).sum(axis=1).tolist() == [4, 5]

    return Case(DetectionTargetLayer(train_rois_per_image=6, roi_positive_ratio=0.5,
                                     bbox_std_dev=STD, mask_shape=(4, 4), use_mini_mask=True,
                                     name="proposal_targets", dtype="float32"),
                [proposals, gt_class_ids, gt_boxes, gt_masks],
                [(2, 6, 4), (2, 6), (2, 6, 4), (2, 6, 4, 4)],
                options=dict(normalize=sampled_rows), verify=verify)


def loss(name):
    def case():
        g = rng()
        rpn_match = np.zeros((2, 10, 1), np.int32)
        rpn_match[0, [1, 4, 7]] = 1
        rpn_match[0, [0, 2]] = -1
        rpn_match[1, [3, 9]] = 1
        rpn_match[1, [5, 6, 8]] = -1
        class_ids = np.array([[1, 3, 0, 0, 0, 0], [2, 1, 1, 0, 0, 0]], np.int32)
        inputs = {
            "rpn_class_loss": [rpn_match, g.normal(size=(2, 10, 2))],
            "rpn_bbox_loss": [g.normal(size=(2, 5, 4)), rpn_match, g.normal(size=(2, 10, 4))],
            "mrcnn_class_loss": [class_ids, g.normal(size=(2, 6, NUM_CLASSES)),
                                 np.array([[1, 1, 1, 1], [1, 1, 1, 0]])],
            "mrcnn_bbox_loss": [g.normal(size=(2, 6, 4)), class_ids,
                                g.normal(size=(2, 6, NUM_CLASSES, 4))],
            "mrcnn_mask_loss": [(g.uniform(size=(2, 6, 4, 4)) > 0.5), class_ids,
                                g.uniform(0.05, 0.95, size=(2, 6, 4, 4, NUM_CLASSES))],
        }[name]
        inputs = [x.astype(np.int32) if x.dtype.kind in "iub" else x.astype(np.float32)
                  for x in inputs]

        def verify(inputs, out):
            assert np.isfinite(out[0]) and out[0] > 0

        # A loss is one number for the batch: the first image alone gives another.
        return Case(LossLayer(name), inputs, (), options=dict(rows_independent=False),
                    verify=verify)
    return case


CASES = {
    "AnchorFlatten": anchor_flatten,
    "LeadingRows": leading_rows,
    "LeadingRows-int": leading_rows_int,
    "Identity": identity,
    "NormBoxes": norm_boxes_float,
    "NormBoxes-int": norm_boxes_int,
    "ActiveClassIds": active_class_ids,
    "PyramidAnchors": pyramid_anchors,
    "AnchorsLayer": anchors_layer,
    "BatchNorm-frozen": batch_norm(True),
    "BatchNorm-trainable": batch_norm(False),
    "TimeDistributed-Conv2D": time_distributed(lambda: keras.layers.Conv2D(3, (2, 2)),
                                               (2, 3, 5, 5, 2), (2, 3, 4, 4, 3)),
    "TimeDistributed-BatchNorm": time_distributed(lambda: BatchNorm(frozen=True),
                                                  (2, 3, 4, 4, 2), (2, 3, 4, 4, 2)),
    "TimeDistributed-Dense": time_distributed(lambda: keras.layers.Dense(5), (2, 3, 7),
                                              (2, 3, 5)),
    "ProposalLayer": proposal,
    "PyramidROIAlign": roi_align,
    "DetectionLayer": detection,
    "DetectedBoxes": detected_boxes,
    "DetectionMasks": detection_masks,
    "DetectionTargetLayer": detection_target,
    **{f"LossLayer-{name}": loss(name) for name in
       ("rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
        "mrcnn_mask_loss")},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer(name):
    case = CASES[name]()
    outputs = check_layer(case.layer, case.inputs, case.shapes, **case.options)
    if case.verify:
        case.verify(case.inputs, outputs)


def layer_classes(*packages):
    """The Keras layer classes defined in the modules of ``packages``."""
    found = set()
    for package in packages:
        for module_info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(module_info.name)
            found |= {obj for _, obj in inspect.getmembers(module, inspect.isclass)
                      if issubclass(obj, keras.layers.Layer) and obj.__module__ == module.__name__}
    return found


def test_every_layer_class_has_a_check():
    checked = {type(CASES[name]().layer) for name in CASES}
    classes = layer_classes(mrcnn.layers, mrcnn.graph)
    assert len(classes) >= 16
    missing = sorted(cls.__qualname__ for cls in classes - checked)
    assert not missing, f"layers without a case in CASES: {missing}"


# ------------------------------------------------------------------------------ AnchorsLayer
def test_anchors_layer_config_holds_no_anchors():
    anchors = get_anchors(tiny_config(), (1024, 1024, 3))        # 65,472 anchors
    layer = AnchorsLayer(anchors, name="anchors")
    config = layer.get_config()
    assert "anchors" not in config and config["anchor_count"] == len(anchors) > 60000
    assert len(json.dumps(config)) < MAX_CONFIG_CHARS
    assert layer.get_weights() == [] and layer.weights == []
    assert layer.compute_output_shape((None, 1024, 1024, 3)) == (None, len(anchors), 4)


def test_anchors_layer_from_config_needs_its_variables():
    layer = AnchorsLayer(random_boxes(rng(), (10,)), name="anchors")
    clone = AnchorsLayer.from_config(layer.get_config())
    image = tf.zeros((2, 8, 8, 3))
    with pytest.raises(ValueError, match="no anchors yet"):
        clone(image)
    store = {}
    layer.save_own_variables(store)
    wrong = AnchorsLayer(anchor_count=9)
    with pytest.raises(ValueError, match="expects 9 anchors"):
        wrong.load_own_variables(store)
    clone.load_own_variables(store)
    np.testing.assert_array_equal(clone(image), layer(image))
    with pytest.raises(ValueError, match="needs its anchors"):
        AnchorsLayer()
    with pytest.raises(ValueError, match="anchor_count 3 but 10 anchors"):
        AnchorsLayer(layer.anchors, anchor_count=3)


def test_anchors_layer_loads_a_config_of_the_old_form():
    anchors = random_boxes(rng(), (4,))
    old = {"name": "anchors", "trainable": True, "dtype": "float32", "anchors": anchors.tolist()}
    layer = AnchorsLayer.from_config(old)
    np.testing.assert_array_equal(layer(tf.zeros((2, 8, 8, 3))), np.broadcast_to(anchors,
                                                                                (2, 4, 4)))
    assert "anchors" not in layer.get_config()
