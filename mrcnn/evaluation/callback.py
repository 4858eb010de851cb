"""A Keras callback that measures mAP@0.5 on the validation set during training.

Glossary: the *training model* is the Keras model ``fit()`` runs (``self.model`` of the callback,
e.g. ``MaskRCNN("training", ...).keras_model``); the *inference model* is a
``MaskRCNN("inference", ...)`` of the same config; weights go from the first to the second by
layer name (layer names are the same in both graphs).
"""
import os

import keras
import numpy as np

from mrcnn.evaluation.evaluator import evaluate_model
from mrcnn.weights import weighted_layers

__all__ = ["MeanAPCallback", "copy_weights"]


def copy_weights(source_model, target_model):
    """Copy the weights of every layer of ``target_model`` that ``source_model`` also has, by
    layer name (nested models such as ``rpn_model`` count as one layer).

    Returns the names of the copied layers. Raises ValueError when no layer is shared or a shared
    layer's weights have other shapes (a model of another config).
    """
    source, target = weighted_layers(source_model), weighted_layers(target_model)
    names = [name for name in target if name in source]
    if not names:
        raise ValueError("the training and the inference model share no layer with weights")
    pairs = []
    for name in names:
        values = [np.asarray(v.numpy()) for v in source[name].weights]
        shapes = [tuple(v.shape) for v in target[name].weights]
        if [tuple(v.shape) for v in values] != shapes:
            raise ValueError(f"layer {name!r} has weights of shapes "
                             f"{[tuple(v.shape) for v in values]} in the training model but "
                             f"{shapes} in the inference model; build both from one config")
        pairs.append((target[name], values))
    for layer, values in pairs:
        for variable, value in zip(layer.weights, values):
            variable.assign(value)
    return names


class MeanAPCallback(keras.callbacks.Callback):
    """Every ``every`` epochs, copy the training weights into an inference model, run it on the
    validation images and put their mAP@0.5 (VOC, mean over images with ground truth) into the
    epoch logs as ``val_mAP50``, so History, the progress bar and callbacks after this one see it;
    it is also printed.

    inference_model_or_factory: a MaskRCNN in inference mode, or a function without arguments
        returning one (called at the first evaluation, so the graph is built only when needed).
    dataset: the validation Dataset (prepared).
    every: evaluate after epochs every, 2 * every, ... (1-based epoch numbers).
    image_ids: the images to evaluate (default: all of dataset).
    log_dir: if given, the value is also written for TensorBoard under
        ``<log_dir>/validation`` as ``epoch_mAP50``, where Keras' TensorBoard callback puts
        ``val_*`` logs. Pass the training's log dir when a TensorBoard callback runs before this
        one (MaskRCNN.train puts its own first), since that one has written the epoch already.
    batch_size: images per detect() call (default: the inference config's BATCH_SIZE).
    verbose: 1 prints the value, 0 is silent.

    ``history`` lists (epoch, mAP) of every evaluation.
    """

    def __init__(self, inference_model_or_factory, dataset, every=1, image_ids=None,
                 log_dir=None, batch_size=None, verbose=1):
        super().__init__()
        if not (hasattr(inference_model_or_factory, "detect")
                or callable(inference_model_or_factory)):
            raise TypeError("inference_model_or_factory must be a MaskRCNN in inference mode or "
                            f"a function returning one, got {type(inference_model_or_factory)}")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive number of epochs, got {every!r}")
        self._inference = inference_model_or_factory
        self.dataset = dataset
        self.every = every
        self.image_ids = image_ids
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.batch_size = batch_size
        self.verbose = verbose
        self.history = []
        self._writer = None

    def inference_model(self):
        """The inference MaskRCNN (built by the factory on first use)."""
        if not hasattr(self._inference, "detect"):
            self._inference = self._inference()
            if getattr(self._inference, "mode", None) != "inference":
                raise ValueError("the factory of MeanAPCallback must return a MaskRCNN built "
                                 "with mode='inference'")
        return self._inference

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        model = self.inference_model()
        copy_weights(self.model, model.keras_model)
        results = evaluate_model(model, self.dataset, image_ids=self.image_ids,
                                 batch_size=self.batch_size, verbose=0, iou_types=())
        value = results["voc/mAP@0.5"]
        self.history.append((epoch + 1, value))
        if logs is not None:
            logs["val_mAP50"] = value
        if self.log_dir is not None:
            self._write_summary(epoch, value)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: val_mAP50 = {value:.4f} "
                  f"({results['num_images_with_gt']} images with ground truth)")

    def _write_summary(self, epoch, value):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir,
                                                                      "validation"))
        with self._writer.as_default():
            tf.summary.scalar("epoch_mAP50", value, step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
