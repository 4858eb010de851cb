"""Whole graphs through Keras serialization: the tiny inference and training models saved with
``model.save("*.keras")`` and reloaded by ``keras.saving.load_model`` (safe mode, no custom_objects:
the layers' and the training model's registrations under "mrcnn>" are what finds them) give
the same layers, weights and outputs. Each layer alone goes through the same round trip in
tests/layers/test_every_layer.py.
"""
import keras
import numpy as np
import tensorflow as tf

from mrcnn.core.anchors import get_anchors
from mrcnn.core.contracts import INFERENCE_INPUT_NAMES, INPUT_NAMES
from mrcnn.core.meta import compose_image_meta
from mrcnn.data.pipeline import build_batch
from tiny import rectangles_dataset


def reload(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.saving.load_model(path)


def assert_same_model(model, loaded):
    assert type(loaded) is type(model)
    assert [(layer.name, type(layer)) for layer in loaded.layers] == \
        [(layer.name, type(layer)) for layer in model.layers]
    # Layer by layer (variable paths differ: a reloaded TimeDistributed, Keras' own too, builds
    # its inner layer outside the wrapper's name scope; nothing here reads variable paths).
    for layer, again in zip(model.layers, loaded.layers):
        weights, reloaded = layer.get_weights(), again.get_weights()
        assert len(weights) == len(reloaded), layer.name
        for a, b in zip(weights, reloaded):
            np.testing.assert_array_equal(b, a, err_msg=layer.name)


def assert_same_outputs(expected, actual):
    assert len(expected) == len(actual)
    for i, (e, a) in enumerate(zip(expected, actual)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-5, atol=1e-5,
                                   err_msg=f"output {i}")


def test_inference_model_save_and_reload(inference_model, tmp_path):
    config = inference_model.config
    model = inference_model.keras_model
    loaded = reload(model, tmp_path)
    assert_same_model(model, loaded)

    size = config.IMAGE_MAX_DIM
    rng = np.random.default_rng(0)
    images = rng.normal(0, 40, (2, size, size, 3)).astype(np.float32)
    metas = np.stack([
        compose_image_meta(0, (size, size, 3), (size, size, 3), (0, 0, size, size), 1.0,
                           np.ones(config.NUM_CLASSES)),
        compose_image_meta(1, (size // 2, size, 3), (size, size, 3),
                           (size // 4, 0, 3 * size // 4, size), 1.0,
                           np.ones(config.NUM_CLASSES))]).astype(np.float32)
    anchors = get_anchors(config, (size, size, 3))
    anchors = np.broadcast_to(anchors, (2, *anchors.shape)).astype(np.float32)
    assert INFERENCE_INPUT_NAMES == ("input_image", "input_image_meta", "input_anchors")
    inputs = [images, metas, anchors]
    expected = model(inputs, training=False)
    assert_same_outputs(expected, loaded(inputs, training=False))
    # The detections are real ones, so the comparison covers the mask head's rows too.
    assert (np.asarray(expected[0])[..., 4] > 0).any()


def test_training_model_save_and_reload(training_model, tmp_path):
    config = training_model.config
    model = training_model.keras_model
    loaded = reload(model, tmp_path)
    assert_same_model(model, loaded)
    for name in ("mrcnn_loss_weights", "weight_decay", "gradient_clip_norm"):
        assert getattr(loaded, name) == getattr(model, name)

    dataset = rectangles_dataset(count=2, size=config.IMAGE_MAX_DIM)
    batch = build_batch(dataset, config, dataset.image_ids, rng=np.random.default_rng(0))
    batch["input_gt_masks"] = batch["input_gt_masks"].astype(np.uint8)
    inputs = [batch[name] for name in INPUT_NAMES]
    # DetectionTargetLayer samples at random: the same seed gives both models the same samples.
    tf.random.set_seed(3)
    expected = model(inputs, training=False)
    tf.random.set_seed(3)
    assert_same_outputs(expected, loaded(inputs, training=False))
    assert all(np.isfinite(np.asarray(loss)) for loss in expected[-5:])

