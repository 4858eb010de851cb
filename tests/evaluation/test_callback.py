"""Tests of mrcnn/evaluation/callback.py: MeanAPCallback on a tiny model (val_mAP50 in the logs,
in TensorBoard and in fit()'s History) and copy_weights."""
import os
import types

import numpy as np
import pytest

from handmade import no_detection
from mrcnn.evaluate import MeanAPCallback  # through the facade's lazy attribute (loads Keras)
from tiny import rectangles_dataset, tiny_config

# pycocotools' mask.decode trips a NumPy 2 deprecation inside pycocotools itself.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_mean_ap_callback_logs_val_map50(training_model, tmp_path):
    import tensorflow as tf

    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.weights import weighted_layers

    built = []

    def factory():
        built.append(MaskRCNN("inference", tiny_config(), str(tmp_path / "logs")))
        return built[-1]

    dataset = rectangles_dataset(count=2)
    callback = MeanAPCallback(factory, dataset, every=2, log_dir=str(tmp_path / "tb"),
                              verbose=0)
    callback.set_model(training_model.keras_model)
    logs = {"loss": 1.0}
    callback.on_epoch_end(0, logs)                      # epoch 1 of every 2: nothing
    assert "val_mAP50" not in logs and not built
    callback.on_epoch_end(1, logs)
    value = logs["val_mAP50"]
    assert 0.0 <= value <= 1.0 and callback.history == [(2, value)]
    # The inference model now holds the training weights, layer by layer.
    source = weighted_layers(training_model.keras_model)
    target = weighted_layers(built[0].keras_model)
    for name in ("conv1", "rpn_model", "mrcnn_mask"):
        for a, b in zip(source[name].weights, target[name].weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # TensorBoard gets it where Keras writes val_* metrics.
    callback.on_train_end()
    events = [os.path.join(tmp_path, "tb", "validation", f)
              for f in os.listdir(tmp_path / "tb" / "validation")]
    values = [(e.step, float(tf.make_ndarray(v.tensor)))
              for path in events for e in tf.compat.v1.train.summary_iterator(path)
              for v in e.summary.value if v.tag == "epoch_mAP50"]
    assert values == [(1, pytest.approx(value))]


def test_mean_ap_reaches_fit_history():
    # fit() hands the epoch logs to History after the user's callbacks: val_mAP50 arrives there.
    # The "inference model" is a stand-in sharing the Keras model, whose detect() finds nothing
    # (mAP 0 on images with ground truth).
    import keras

    inputs = keras.Input((3,))
    keras_model = keras.Model(inputs, keras.layers.Dense(1, name="head")(inputs))
    keras_model.compile(optimizer="sgd", loss="mse")
    dataset = rectangles_dataset(count=2, size=32)
    finder = types.SimpleNamespace(
        mode="inference", keras_model=keras_model, config=types.SimpleNamespace(BATCH_SIZE=1),
        detect=lambda images, verbose=0: [no_detection(image.shape[:2]) for image in images])
    history = keras_model.fit(np.zeros((4, 3)), np.zeros((4, 1)), epochs=2, verbose=0,
                              callbacks=[MeanAPCallback(finder, dataset, verbose=0)])
    assert history.history["val_mAP50"] == [0.0, 0.0]


def test_copy_weights_refuses_other_shapes():
    import keras

    from mrcnn.evaluation.callback import copy_weights

    def model(units):
        inputs = keras.Input((3,))
        return keras.Model(inputs, keras.layers.Dense(units, name="head")(
            keras.layers.Dense(4, name="body")(inputs)))

    source, same, other = model(2), model(2), model(5)
    assert copy_weights(source, same) == ["body", "head"]
    np.testing.assert_array_equal(same.get_layer("head").kernel.numpy(),
                                  source.get_layer("head").kernel.numpy())
    with pytest.raises(ValueError, match="'head'"):
        copy_weights(source, other)
    with pytest.raises(TypeError, match="inference_model_or_factory"):
        MeanAPCallback(None, rectangles_dataset(count=1))
