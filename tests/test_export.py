"""SavedModel export: the exported graph's anchors, refusals, and an exported model reloaded in a
fresh Python that has never imported mrcnn, matched against detect(). The in-graph molding and
unmolding ops are tested in tests/ops/test_molding.py."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from mrcnn.config import ConfigError
from mrcnn.export import SERVING_OUTPUTS, export_saved_model
from mrcnn.maskrcnn import MaskRCNN
from tiny import tiny_config

# ------------------------------------------------------------------------------ anchors

@pytest.mark.parametrize("mode", ["square", "scale_pad64", "pad64"])
def test_export_anchors_are_get_anchors(mode):
    from mrcnn.core.anchors import get_anchors
    from mrcnn.export import _anchors_graph
    config = tiny_config(IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128, IMAGE_RESIZE_MODE=mode,
                         RPN_ANCHOR_STRIDE=2)
    for size in ([(128, 128)] if mode == "square" else [(64, 128), (192, 64), (128, 128)]):
        got = _anchors_graph(config, tf.constant(size, tf.int32)).numpy()
        np.testing.assert_array_equal(got, get_anchors(config, size))


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
