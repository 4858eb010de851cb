"""Callbacks of ``MaskRCNN.train``: by-name checkpoints written atomically, and a NaN guard.

Checkpoints are written to a temporary file, flushed to disk (fsync) and renamed
(:func:`mrcnn.files.atomic_path`): a kill leaves the previous checkpoint and a stray temporary
file, never a partial checkpoint. :func:`checkpoint_problem` tells a readable file from one a
crash of the disk (or a cut copy) spoiled, for ``find_last`` to fall back on the one before.
"""
import math

import keras

from mrcnn.training.housekeeping import tidy_checkpoints
from mrcnn.weights import save_weights


class CheckpointCallback(keras.callbacks.Callback):
    """Save the weights after every epoch to ``checkpoint_path.format(epoch=n)`` (n 1-based).

    Files are Matterport's by-name HDF5 layout (they load into the training and the inference
    graph), written to a temporary file, flushed to disk and renamed, so ``find_last`` never
    sees a partial file.
    ``enabled=False`` (non-chief workers) writes and deletes nothing.
    keep: after each save, keep the ``keep`` newest checkpoints and the best one and delete the
    others of this run (:func:`mrcnn.training.housekeeping.tidy_checkpoints`); None or 0 keeps
    all (Matterport). ``removed`` lists the deleted paths.
    metadata: stored in each checkpoint (:func:`mrcnn.weights.weights_metadata`: the config and
    class names), so that it loads without repeating them.
    """

    def __init__(self, checkpoint_path, enabled=True, keep=None, metadata=None):
        super().__init__()
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int)
                                 or keep < 0):
            raise ValueError(f"keep must be None or a number of checkpoints >= 0, got {keep!r}")
        self.checkpoint_path = checkpoint_path
        self.enabled = enabled
        self.keep = keep
        self.metadata = metadata
        self.saved = []
        self.removed = []

    def on_epoch_end(self, epoch, logs=None):
        if not self.enabled:
            return
        path = self.checkpoint_path.format(epoch=epoch + 1)
        save_weights(self.model, path, metadata=self.metadata)
        self.saved.append(path)
        self.removed += tidy_checkpoints(self.checkpoint_path, epoch + 1, logs, self.keep)


def checkpoint_problem(path):
    """Why the weights file at ``path`` cannot be read (a message), or None when it can.

    Cheap: HDF5 checks the file's size against its superblock when opening (a truncated file
    fails there), then the layer list and every dataset's header are read, not the weights.
    ``find_last`` (hence ``train(resume=True)``) skips a checkpoint that fails this.
    """
    from mrcnn.weights import WeightsFileError, _read_layers
    try:
        _read_layers(path, lambda dataset: dataset.shape)
    except (WeightsFileError, OSError, KeyError, ValueError, RuntimeError) as e:
        return str(e) or type(e).__name__
    return None


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN or infinite during training."""


class StopOnNaN(keras.callbacks.Callback):
    """Stop training with a message naming the epoch, the step and every loss when one is not
    finite. (Keras' TerminateOnNaN only says "Batch N: Invalid loss".)"""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        values = {k: float(v) for k, v in logs.items() if k.endswith("loss")}
        if any(not math.isfinite(v) for v in values.values()):
            self.model.stop_training = True
            text = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
            raise TrainingDivergedError(
                f"Training diverged at epoch {self.epoch + 1}, step {batch + 1}: {text}. "
                f"Lower the learning rate, check the ground truth of the images in this batch "
                f"(boxes, masks), or lower GRADIENT_CLIP_NORM.")
