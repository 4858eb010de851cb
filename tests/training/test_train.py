"""Training: steps lower the loss, empty images train as background, train() writes checkpoints
and TensorBoard logs, resumes at the next epoch, and stops with a clear message on NaN."""
import glob
import math
import os

import keras
import numpy as np
import pytest

from mrcnn.data.pipeline import build_batch
from mrcnn.maskrcnn import MaskRCNN
from mrcnn.training.callbacks import StopOnNaN, TrainingDivergedError
from mrcnn.training.presets import layer_regex, set_trainable
from tiny import rectangles_dataset, tiny_config

LOSSES = ["rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
          "mrcnn_mask_loss"]


def compiled(model, lr):
    set_trainable(model.keras_model, layer_regex("all"), train_bn=False)
    model.keras_model.compile(optimizer=keras.optimizers.SGD(lr, momentum=0.9),
                              jit_compile=False)
    return model.keras_model


def test_steps_lower_the_loss_and_losses_are_finite(training_model, tiny):
    keras.utils.set_random_seed(0)
    dataset = rectangles_dataset(count=2)
    batch = build_batch(dataset, tiny, dataset.image_ids, rng=np.random.default_rng(0))
    km = compiled(training_model, lr=0.002)
    history = [km.train_on_batch(batch, return_dict=True) for _ in range(6)]
    for logs in history:
        assert all(math.isfinite(logs[name]) for name in LOSSES + ["loss"])
    # The RPN losses depend on the batch alone (no sampling): they must go down.
    rpn = [logs["rpn_class_loss"] + logs["rpn_bbox_loss"] for logs in history]
    assert rpn[-1] < rpn[0]
    assert history[-1]["loss"] < history[0]["loss"]


def test_image_without_instances_trains_as_background(training_model, tiny):
    dataset = rectangles_dataset(count=2, empty_ids=(0, 1))
    batch = build_batch(dataset, tiny, dataset.image_ids, rng=np.random.default_rng(0))
    assert not batch["input_gt_class_ids"].any()
    km = compiled(training_model, lr=0.001)
    km.reset_metrics()
    logs = km.train_on_batch(batch, return_dict=True)
    assert all(math.isfinite(logs[name]) for name in LOSSES)
    # No positives anywhere: box and mask losses are exactly zero, classifiers still learn.
    assert logs["rpn_bbox_loss"] == 0 and logs["mrcnn_bbox_loss"] == 0
    assert logs["mrcnn_mask_loss"] == 0
    assert logs["rpn_class_loss"] > 0 and logs["mrcnn_class_loss"] > 0


def test_weight_decay_skips_batch_norm(training_model):
    km = training_model.keras_model
    set_trainable(km, layer_regex("heads"), train_bn=False)
    expected = sum(float(np.mean(np.square(v.numpy()))) for v in km.trainable_weights
                   if v.name not in ("gamma", "beta"))
    assert float(km.l2_loss()) == pytest.approx(km.weight_decay * expected, rel=1e-4)
    set_trainable(km, layer_regex("all"), train_bn=None)     # BN trainable: gamma/beta appear
    assert any(v.name == "gamma" for v in km.trainable_weights)
    expected = sum(float(np.mean(np.square(v.numpy()))) for v in km.trainable_weights
                   if v.name not in ("gamma", "beta"))
    assert float(km.l2_loss()) == pytest.approx(km.weight_decay * expected, rel=1e-4)


@pytest.mark.slow
def test_train_checkpoints_logs_and_resume(tmp_path):
    config = tiny_config(STEPS_PER_EPOCH=2, VALIDATION_STEPS=1)
    train_set, val_set = rectangles_dataset(4, seed=1), rectangles_dataset(2, seed=2)
    model = MaskRCNN("training", config, tmp_path)

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    # Asked for 3 epochs, stopped by a callback after one: the model is at epoch 1.
    history = model.train(train_set, val_set, learning_rate=0.001, epochs=3, layers="heads",
                          custom_callbacks=[StopAfterFirstEpoch()], seed=0, workers=1, verbose=0)
    assert model.epoch == 1
    for name in LOSSES + ["loss"]:
        assert math.isfinite(history.history[name][0])
        assert math.isfinite(history.history["val_" + name][0])
    first = os.path.join(model.log_dir, "mask_rcnn_tiny_0001.h5")
    assert os.path.isfile(first)
    assert glob.glob(os.path.join(model.log_dir, "train", "events.out.tfevents.*"))
    assert glob.glob(os.path.join(model.log_dir, "validation", "events.out.tfevents.*"))

    # A new process would do this: find the last checkpoint, load it, go on to epoch 2.
    resumed = MaskRCNN("training", config, tmp_path)
    last = resumed.find_last()
    assert last == first
    resumed.load_weights(last, by_name=True)
    assert resumed.epoch == 1 and resumed.log_dir == model.log_dir
    assert resumed.train(train_set, val_set, 0.001, epochs=1, layers="heads", verbose=0) is None
    resumed.train(train_set, val_set, 0.001, epochs=2, layers="all", seed=0, workers=1,
                  verbose=0)
    assert resumed.epoch == 2
    assert sorted(os.listdir(model.log_dir)) == ["checkpoints.json", "config.yaml",
                                                  "mask_rcnn_tiny_0001.h5",
                                                  "mask_rcnn_tiny_0002.h5", "train",
                                                  "validation"]
    assert resumed.find_last().endswith("mask_rcnn_tiny_0002.h5")
    # The checkpoint also loads into the inference graph.
    inference = MaskRCNN("inference", config, tmp_path)
    inference.load_weights(resumed.find_last(), by_name=True)
    np.testing.assert_array_equal(inference.keras_model.get_layer("mrcnn_mask").weights[0].numpy(),
                                  resumed.keras_model.get_layer("mrcnn_mask").weights[0].numpy())


def test_stop_on_nan_names_epoch_step_and_losses():
    callback = StopOnNaN()
    callback.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    callback.on_epoch_begin(2)
    callback.on_train_batch_end(0, {"loss": 1.0, "rpn_class_loss": 0.5})
    with pytest.raises(TrainingDivergedError) as err:
        callback.on_train_batch_end(4, {"loss": float("nan"), "rpn_class_loss": 0.5,
                                        "mrcnn_mask_loss": float("inf")})
    text = str(err.value)
    assert "epoch 3, step 5" in text and "loss=nan" in text and "mrcnn_mask_loss=inf" in text
    assert callback.model.stop_training


def test_train_argument_errors(training_model, inference_model):
    dataset = rectangles_dataset(2)
    with pytest.raises(RuntimeError, match="mode='training'"):
        inference_model.train(dataset, None, 0.001, 1, "heads")
    with pytest.raises(ValueError, match="neither a preset"):
        training_model.train(dataset, None, 0.001, 1, "(bad")
    from mrcnn.datasets.base import Dataset
    empty = Dataset()
    empty.prepare()
    with pytest.raises(ValueError, match="train_dataset has no images"):
        training_model.train(empty, None, 0.001, 1, "heads")
