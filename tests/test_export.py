"""SavedModel export: in-graph molding and unmolding against the NumPy code, and an exported model
reloaded in a fresh Python that has never imported mrcnn, matched against detect()."""
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

from mrcnn.config import ConfigError
from mrcnn.core.boxes import norm_boxes
from mrcnn.core.images import resize
from mrcnn.core.masks import unmold_mask
from mrcnn.export import SERVING_OUTPUTS, export_saved_model
from mrcnn.maskrcnn import MaskRCNN
from mrcnn.ops.molding import (
    mold_images_graph,
    paste_masks_graph,
    resample_bilinear,
    unmold_detections_graph,
)
from tiny import tiny_config

# ------------------------------------------------------------------- the ops against NumPy

@pytest.mark.parametrize("source, target", [
    ((28, 28), (37, 53)), ((50, 70), (128, 91)), ((300, 200), (128, 85)), ((5, 7), (1, 2)),
    ((4, 4), (8, 8))])
def test_resample_is_skimage_resize(source, target, rng):
    image = rng.random(source + (3,)) * 255
    expected = resize(image, target, preserve_range=True)
    scale = np.array([[source[0] / target[0], source[1] / target[1]]], np.float32)
    got = resample_bilinear(tf.constant(image[None], tf.float32), target, tf.zeros([1, 2]),
                            tf.constant(scale))[0].numpy()
    # resize clips to the input's range, the op leaves that to its callers.
    np.testing.assert_allclose(np.clip(got, image.min(), image.max()), expected, atol=0.01)


@pytest.mark.parametrize("mode, size, molded_size", [
    ("square", (40, 90), (128, 128)), ("square", (64, 64), (128, 128)),
    ("square", (100, 37), (128, 128)), ("square", (128, 200), (128, 128)),
    ("square", (130, 128), (128, 128)), ("square", (300, 301), (128, 128)),
    ("square", (1, 50), (128, 128)),
    # 40x90: scale 64/40 = 1.6 -> 64x144 > 128 -> 128/90 -> 57x128 -> padded 64x128
    ("scale_pad64", (40, 90), (64, 128)), ("scale_pad64", (300, 201), (128, 128)),
    ("scale_pad64", (100, 37), (128, 64)),      # 64/37 -> 173x64 > 128 -> 128x47 -> 128x64
    ("pad64", (40, 90), (64, 192)), ("pad64", (130, 128), (192, 128)),
    ("none", (64, 128), (64, 128)),
])
def test_mold_images_graph_is_mold_inputs(mode, size, molded_size, rng):
    config = tiny_config(IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128, IMAGE_RESIZE_MODE=mode)
    image = rng.integers(0, 256, size + (3,)).astype(np.uint8)
    molded, metas, windows = MaskRCNN.mold_inputs(types.SimpleNamespace(config=config), [image])
    got, got_metas, got_window, got_size = mold_images_graph(
        tf.constant(np.stack([image, image])), config.IMAGE_MIN_DIM, config.IMAGE_MAX_DIM,
        config.MEAN_PIXEL, config.NUM_CLASSES, mode=mode)
    assert molded.shape[1:3] == molded_size
    assert got.shape[1:3] == molded_size and tuple(got_size.numpy()) == molded_size
    np.testing.assert_array_equal(got_window, windows[0])
    np.testing.assert_allclose(got_metas, np.repeat(metas, 2, axis=0), rtol=1e-6)
    # Resampled values agree to float rounding, so truncation to uint8 moves a few by one.
    difference = np.abs(got.numpy() - molded)
    assert difference.max() <= 1.0 + 1e-4
    assert (difference > 0.5).mean() < 0.002


@pytest.mark.parametrize("mode", ["square", "scale_pad64", "pad64"])
def test_export_anchors_are_get_anchors(mode):
    from mrcnn.core.anchors import get_anchors
    from mrcnn.export import _anchors_graph
    config = tiny_config(IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128, IMAGE_RESIZE_MODE=mode,
                         RPN_ANCHOR_STRIDE=2)
    for size in ([(128, 128)] if mode == "square" else [(64, 128), (192, 64), (128, 128)]):
        got = _anchors_graph(config, tf.constant(size, tf.int32)).numpy()
        np.testing.assert_array_equal(got, get_anchors(config, size))


def test_paste_masks_is_unmold_mask(rng):
    for _ in range(20):
        mask = rng.random((7, 7)).astype(np.float32)
        y1, x1 = rng.integers(-5, 50, 2)
        height, width = rng.integers(1, 40, 2)
        box = np.array([y1, x1, y1 + height, x1 + width])
        expected = unmold_mask(mask, box, (60, 50))
        got = paste_masks_graph(tf.constant(mask[None]), tf.constant(box[None], tf.int32),
                                (60, 50))[0].numpy()
        assert (got != expected).sum() <= 1, box


def synthetic_detections(rng, image_shape, molded_side, window):
    """Two images' padded detections (normalized to the molded image) and masks: image 0 with
    three real rows, the last one a box of no height (dropped by unmolding), image 1 with one;
    then zero rows."""
    wy1, wx1, wy2, wx2 = norm_boxes(window, (molded_side, molded_side))
    shift = np.array([wy1, wx1, wy1, wx1])
    span = np.array([wy2 - wy1, wx2 - wx1, wy2 - wy1, wx2 - wx1])

    def molded(pixel_boxes):
        return norm_boxes(np.array(pixel_boxes), image_shape[:2]) * span + shift

    detections = np.zeros((2, 5, 6), np.float32)
    detections[0, :3, :4] = molded([[2, 3, 20, 25], [10, 0, 40, 90], [5, 10, 5, 30]])
    detections[0, :3, 4:] = [[1, 0.9], [3, 0.8], [2, 0.7]]
    detections[1, :1, :4] = molded([[5, 5, 30, 40]])
    detections[1, :1, 4:] = [[2, 0.95]]
    masks = rng.random((2, 5, 14, 14, 4)).astype(np.float32)
    return detections, masks


def test_unmold_detections_graph_is_unmold_detections(rng):
    image_shape, side, window = (40, 90, 3), 64, np.array([14, 0, 50, 64])
    detections, masks = synthetic_detections(rng, image_shape, side, window)
    got = unmold_detections_graph(detections, masks, image_shape[:2], [side, side], window)
    np.testing.assert_array_equal(got["num_detections"], [2, 1])
    assert got["rois"].shape == (2, 2, 4) and got["masks"].shape == (2, 40, 90, 2)
    for i in range(2):
        rois, class_ids, scores, full = MaskRCNN.unmold_detections(
            None, detections[i], masks[i], image_shape, (side, side, 3), window)
        n = len(class_ids)
        np.testing.assert_array_equal(got["rois"][i, :n], rois)
        np.testing.assert_array_equal(got["class_ids"][i, :n], class_ids)
        np.testing.assert_allclose(got["scores"][i, :n], scores)
        assert (got["masks"][i, :, :, :n].numpy() != full).sum() <= n
        # Rows past the image's count are zero.
        assert not got["rois"][i, n:].numpy().any() and not got["masks"][i, ..., n:].numpy().any()
        assert not got["class_ids"][i, n:].numpy().any()


def test_unmold_detections_graph_without_detections():
    got = unmold_detections_graph(np.zeros((1, 5, 6), np.float32),
                                  np.zeros((1, 5, 14, 14, 4), np.float32), (30, 20), (64, 64),
                                  np.array([0, 11, 64, 53]))
    np.testing.assert_array_equal(got["num_detections"], [0])
    assert got["rois"].shape == (1, 0, 4) and got["masks"].shape == (1, 30, 20, 0)


# --------------------------------------------------------------------------------- errors

def test_export_refuses_crop_mode(tmp_path):
    config = tiny_config(IMAGE_RESIZE_MODE="crop", IMAGE_MIN_DIM=64)
    with pytest.raises(ConfigError, match="export needs IMAGE_RESIZE_MODE 'square', "
                                          "'scale_pad64', 'pad64', 'none'.*'crop'.*'pad64'"):
        export_saved_model(None, config, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_export_checks_class_names_and_folder(tmp_path):
    with pytest.raises(ValueError, match="class_names has 2 names but NUM_CLASSES is 4"):
        export_saved_model(None, tiny_config(), tmp_path / "model", class_names=["BG", "a"])
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="exists and is not a SavedModel"):
        export_saved_model(None, tiny_config(), tmp_path)
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_export_needs_an_inference_model(training_model, tmp_path):
    with pytest.raises(RuntimeError, match="export\\(\\) needs a model built with "
                                           "mode='inference'"):
        training_model.export(tmp_path / "model")


# ------------------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def decisive_model(tmp_path_factory):
    """A seeded random inference model made to give varied detections: small RPN box deltas and
    class logits (boxes near anchors, scores below 1), mask logits x 3 (masks with pixels on, yet
    not saturated to exact 0 and 1, whose bilinear averages would sit exactly on the 0.5
    threshold, where float32 and float64 round apart)."""
    import keras
    keras.utils.set_random_seed(3)
    config = tiny_config(IMAGES_PER_GPU=1)
    model = MaskRCNN("inference", config, tmp_path_factory.mktemp("logs"))
    for name, factor in (("mrcnn_mask", 3.0), ("mrcnn_class_logits", 0.05),
                         ("mrcnn_bbox_fc", 0.01)):
        layer = model.keras_model.get_layer(name)
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel * factor, bias])
    rpn = model.keras_model.get_layer("rpn_model")
    deltas = 4 * len(config.RPN_ANCHOR_RATIOS)
    rpn.set_weights([w * 0.01 if w.shape[-1] == deltas else w for w in rpn.get_weights()])
    return model


FRESH_PYTHON = r"""
import json, sys
import numpy as np
import tensorflow as tf
images = np.load(sys.argv[1])
serve = tf.saved_model.load(sys.argv[2]).signatures["serving_default"]
outputs = {}
for key in images.files:
    for name, value in serve(images=tf.constant(images[key])).items():
        value = value.numpy()
        if value.dtype == object:                        # strings: bytes -> str
            value = np.char.decode(value.astype(bytes))
        outputs[key + "/" + name] = value
np.savez(sys.argv[3], **outputs)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "mrcnn")))
"""


def exported_outputs(path, batches, tmp_path):
    """Run the SavedModel at ``path`` on ``batches`` ({key: uint8 [B, H, W, C]}) in a fresh
    Python that imports nothing of mrcnn; returns outputs(key) -> {output name: array}."""
    np.savez(tmp_path / "images.npz", **batches)
    # Run from an empty folder, so nothing of the checkout is importable from the working dir.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", FRESH_PYTHON, str(tmp_path / "images.npz"),
                           os.fspath(path), str(tmp_path / "outputs.npz")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []   # nothing of mrcnn was imported
    saved = np.load(tmp_path / "outputs.npz")

    def outputs(key):
        return {name.split("/")[1]: saved[name] for name in saved.files
                if name.startswith(key + "/")}
    return outputs


def assert_same_detections(expected, outputs, b):
    """Image ``b`` of an exported batch's ``outputs`` holds ``expected`` (a detect() dict):
    the same count, and each detection has an exported twin of the same class, box within a
    pixel, score within 1e-3 and mask within 2 % of its pixels (near-equal scores may swap)."""
    n = int(outputs["num_detections"][b])
    assert n == len(expected["class_ids"])
    rois, class_ids = outputs["rois"][b, :n], outputs["class_ids"][b, :n]
    scores, masks = outputs["scores"][b, :n], outputs["masks"][b, ..., :n]
    assert masks.shape == expected["masks"].shape
    unmatched = set(range(n))
    for i in range(n):
        twins = [j for j in unmatched if class_ids[j] == expected["class_ids"][i]
                 and np.abs(rois[j] - expected["rois"][i]).max() <= 1
                 and abs(scores[j] - expected["scores"][i]) <= 1e-3]
        assert twins, f"detection {i} of detect() has no twin in the export"
        j = min(twins, key=lambda j: (masks[..., j] != expected["masks"][..., i]).sum())
        differ = (masks[..., j] != expected["masks"][..., i]).sum()
        assert differ <= max(2, 0.02 * expected["masks"][..., i].sum())
        unmatched.remove(j)
    assert outputs["rois"].dtype == np.int32 and outputs["masks"].dtype == bool


@pytest.mark.slow
def test_exported_model_detects_as_detect_in_a_fresh_python(decisive_model, tmp_path, rng):
    path = decisive_model.export(tmp_path / "model", class_names=["BG", "a", "b", "c"])
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    images = [rng.integers(0, 256, size + (3,)).astype(np.uint8)
              for size in [(64, 64), (40, 90), (100, 37), (130, 128)]]
    pair = rng.integers(0, 256, (2, 50, 70, 3)).astype(np.uint8)
    batches = {f"single{i}": image[None] for i, image in enumerate(images)}
    batches["pair"] = pair

    outputs = exported_outputs(path, batches, tmp_path)
    results = decisive_model.detect(images + list(pair))
    assert sum(len(r["class_ids"]) for r in results) > 10
    for i, expected in enumerate(results[:len(images)]):
        assert_same_detections(expected, outputs(f"single{i}"), 0)
    for b, expected in enumerate(results[len(images):]):
        assert_same_detections(expected, outputs("pair"), b)
    named = outputs("single0")
    assert set(named) == set(SERVING_OUTPUTS)
    n = int(named["num_detections"][0])
    assert named["class_names"][0, :n].tolist() == \
        [["BG", "a", "b", "c"][c] for c in named["class_ids"][0, :n]]


@pytest.mark.slow
def test_exported_pad64_model_detects_as_detect_on_two_sizes(decisive_model, tmp_path, rng):
    config = tiny_config(IMAGES_PER_GPU=1, IMAGE_RESIZE_MODE="pad64", IMAGE_MIN_DIM=64)
    model = MaskRCNN("inference", config, tmp_path / "logs")
    model.keras_model.set_weights(decisive_model.keras_model.get_weights())
    path = model.export(tmp_path / "model")
    # pad64 molds these to 64x128 and 192x128: two anchor sets, neither IMAGE_SHAPE's.
    images = [rng.integers(0, 256, size + (3,)).astype(np.uint8)
              for size in [(50, 100), (150, 100)]]
    outputs = exported_outputs(path, {f"single{i}": image[None]
                                      for i, image in enumerate(images)}, tmp_path)
    results = model.detect(images)
    assert all(len(r["class_ids"]) > 0 for r in results)
    for i, expected in enumerate(results):
        assert expected["masks"].shape[:2] == images[i].shape[:2]
        assert_same_detections(expected, outputs(f"single{i}"), 0)
