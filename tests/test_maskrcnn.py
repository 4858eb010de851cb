"""The MaskRCNN facade: detect() outputs, molding, log dirs and find_last, run_graph."""
import os

import numpy as np
import pytest

from mrcnn.maskrcnn import MaskRCNN


def check_result(result, image):
    h, w = image.shape[:2]
    n = result["rois"].shape[0]
    assert result["rois"].dtype == np.int32 and result["rois"].shape == (n, 4)
    assert result["class_ids"].dtype == np.int32 and result["class_ids"].shape == (n,)
    assert result["scores"].dtype == np.float32 and result["scores"].shape == (n,)
    assert result["masks"].dtype == bool and result["masks"].shape == (h, w, n)
    if n:
        assert (result["rois"][:, :2] >= 0).all()
        assert (result["rois"][:, 2] <= h).all() and (result["rois"][:, 3] <= w).all()
        assert (result["class_ids"] >= 1).all() and (result["class_ids"] < 4).all()
        assert np.all(np.diff(result["scores"]) <= 0)


@pytest.fixture(scope="module")
def detecting_model(tmp_path_factory):
    """A seeded tiny inference model whose classifier never says background, so every image
    has detections to unmold whatever the random weights (the session model, unseeded, can
    predict background for every proposal and detect nothing)."""
    import keras

    from tiny import tiny_config
    keras.utils.set_random_seed(0)
    model = MaskRCNN("inference", tiny_config(), tmp_path_factory.mktemp("logs"))
    logits = model.keras_model.get_layer("mrcnn_class_logits")
    kernel, bias = logits.get_weights()
    bias[0] = -10.0
    logits.set_weights([kernel * 0.0, bias])
    return model


@pytest.mark.parametrize("count", [0, 1, 5])
def test_detect_any_number_of_images(detecting_model, count, rng):
    sizes = [(64, 64), (50, 80), (90, 40), (64, 64), (30, 30)][:count]
    images = [rng.integers(0, 255, size + (3,), dtype=np.uint8) for size in sizes]
    results = detecting_model.detect(images)
    assert len(results) == count
    for result, image in zip(results, images):
        check_result(result, image)
        # No confidence threshold and no background: there are detections to unmold.
        assert result["rois"].shape[0] > 0


def test_detect_nothing_gives_empty_arrays(tmp_path, rng):
    from tiny import tiny_config
    model = MaskRCNN("inference", tiny_config(DETECTION_MIN_CONFIDENCE=0.5), tmp_path)
    # Zero logits: every class at 0.25, below the threshold (and arg-max is background).
    for v in model.keras_model.get_layer("mrcnn_class_logits").weights:
        v.assign(np.zeros(v.shape, np.float32))
    image = rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)
    result = model.detect([image])[0]
    check_result(result, image)
    assert result["rois"].shape == (0, 4) and result["masks"].shape == (40, 70, 0)


def test_detect_molded_matches_detect(inference_model, rng):
    image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    molded, metas, windows = inference_model.mold_inputs([image])
    assert molded.shape == (1, 64, 64, 3) and molded.dtype == np.float32
    np.testing.assert_array_equal(windows[0], [8, 0, 56, 64])
    a = inference_model.detect([image])[0]
    b = inference_model.detect_molded(molded, metas)[0]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_unmold_detections_by_hand(inference_model):
    # Molded 64x64 image holding a 32x64 original in rows 16..48 (scale 1).
    detections = np.zeros((6, 6), np.float32)
    # Normalized box in the molded image: pixels y 16..32, x 0..32 -> norm (16/63, 0, 31/63, 31/63)
    detections[0] = [16 / 63, 0, 31 / 63, 31 / 63, 2, 0.9]
    masks = np.zeros((6, 28, 28, 4), np.float32)
    masks[0, :, :, 2] = 1.0
    boxes, class_ids, scores, full = inference_model.unmold_detections(
        detections, masks, (32, 64, 3), (64, 64, 3), np.array([16, 0, 48, 64]))
    np.testing.assert_array_equal(boxes, [[0, 0, 16, 32]])
    assert class_ids.tolist() == [2] and scores.tolist() == [pytest.approx(0.9)]
    assert full.shape == (32, 64, 1)
    assert full[:16, :32, 0].all() and not full[16:, :, 0].any() and not full[:, 32:, 0].any()


def test_wrong_channel_count_is_a_clear_error(inference_model):
    with pytest.raises(ValueError, match="IMAGE_CHANNEL_COUNT"):
        inference_model.detect([np.zeros((64, 64), np.uint8)])


def test_training_model_refuses_detect(training_model):
    with pytest.raises(RuntimeError, match="mode='inference'"):
        training_model.detect([np.zeros((64, 64, 3), np.uint8)])


def test_set_log_dir_parses_matterport_checkpoint_names(inference_model, tmp_path):
    model = inference_model
    path = os.path.join("logs", "tiny20181027T1340", "mask_rcnn_tiny_0007.h5")
    model.set_log_dir(path)
    assert model.epoch == 7
    assert model.log_dir.endswith("tiny20181027T1340")
    assert model.checkpoint_path.endswith(os.path.join("tiny20181027T1340",
                                                       "mask_rcnn_tiny_{epoch:04d}.h5"))
    model.set_log_dir("some/other/weights.h5")
    assert model.epoch == 0


def _checkpoint(path):
    """A minimal readable by-name weights file (find_last skips unreadable ones)."""
    import h5py
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"head"]
        group = f.create_group("head")
        group.attrs["weight_names"] = [b"head/kernel:0"]
        group.create_dataset("head/kernel:0", data=np.zeros(2, np.float32))


def test_find_last(tmp_path):
    from tiny import tiny_config

    class Stub(MaskRCNN):      # skip building a graph: find_last only reads folders
        def build(self, mode, config):
            return None

    model = Stub("inference", tiny_config(), tmp_path)
    with pytest.raises(FileNotFoundError):
        model.find_last()
    old = tmp_path / "tiny20200101T0000"
    new = tmp_path / "tiny20210101T0000"
    other = tmp_path / "shapes20990101T0000"
    for folder in (old, new, other):
        folder.mkdir()
    _checkpoint(old / "mask_rcnn_tiny_0003.h5")
    _checkpoint(other / "mask_rcnn_shapes_0009.h5")
    # The newest folder has no checkpoint yet: the last one of an older folder is found.
    assert model.find_last() == str(old / "mask_rcnn_tiny_0003.h5")
    _checkpoint(new / "mask_rcnn_tiny_0001.h5")
    _checkpoint(new / "mask_rcnn_tiny_0002.h5")
    (new / "mask_rcnn_tiny_0002.h5.tmp").write_bytes(b"partial")
    assert model.find_last() == str(new / "mask_rcnn_tiny_0002.h5")


def test_run_graph_returns_named_arrays(inference_model, rng, capsys):
    km = inference_model.keras_model
    image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = inference_model.run_graph([image], [
        ("proposals", km.get_layer("ROI").output),
        ("probs", km.get_layer("mrcnn_class").output),
        ("detections", km.get_layer("mrcnn_detection").output),
    ])
    assert list(out) == ["proposals", "probs", "detections"]
    assert out["proposals"].shape == (1, 20, 4)
    assert out["probs"].shape == (1, 20, 4)
    assert out["detections"].shape == (1, 6, 6)
    assert "proposals" in capsys.readouterr().out


def test_get_anchors_keeps_pixel_anchors(inference_model):
    anchors = inference_model.get_anchors((64, 64, 3))
    assert anchors.shape == inference_model.anchors.shape
    assert inference_model.anchors.dtype == np.int32
    assert np.abs(anchors).max() > 0.5


def test_set_trainable_heads(training_model):
    training_model.set_trainable(r"(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)", verbose=0)
    km = training_model.keras_model
    assert not km.get_layer("conv1").trainable
    assert km.get_layer("fpn_p2").trainable
    assert km.get_layer("mrcnn_mask").trainable and km.get_layer("mrcnn_mask").layer.trainable
    assert all(layer.trainable for layer in km.get_layer("rpn_model").layers if layer.weights)
    # TRAIN_BN is False: BatchNorm stays frozen even where the regex matches.
    assert not km.get_layer("mrcnn_class_bn1").trainable
    training_model.set_trainable(".*", verbose=0)
    assert km.get_layer("conv1").trainable and not km.get_layer("bn_conv1").trainable
