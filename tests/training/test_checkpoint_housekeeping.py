"""Checkpoint housekeeping: the last K checkpoints and the best one stay, the rest of the run's
go; find_last is unchanged; only the chief deletes; stray temporaries of a killed run go."""
import json
import os
import time
from types import SimpleNamespace

import keras
import pytest

from mrcnn.config import ConfigError
from mrcnn.maskrcnn import MaskRCNN
from mrcnn.training.callbacks import CheckpointCallback
from mrcnn.training.housekeeping import RECORD_NAME
from mrcnn.weights import save_weights
from tiny import tiny_config

# Best val_loss: epoch 2 (1-based).
VAL_LOSS = [3.0, 1.0, 2.0, 2.5, 1.5, 1.2]


@pytest.fixture(scope="module")
def small_model():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="dense")])


def run_folder(tmp_path):
    return tmp_path / "tiny20260101T0000"


def callback_for(tmp_path, model, **kwargs):
    callback = CheckpointCallback(str(run_folder(tmp_path) / "mask_rcnn_tiny_{epoch:04d}.h5"),
                                  **kwargs)
    callback.set_model(model)
    os.makedirs(run_folder(tmp_path), exist_ok=True)
    return callback


def run_epochs(callback, logs_per_epoch, first=0):
    for epoch, logs in enumerate(logs_per_epoch, start=first):
        callback.on_epoch_end(epoch, dict(logs))


def epochs_in(tmp_path):
    names = [n for n in os.listdir(run_folder(tmp_path)) if n.endswith(".h5")]
    return sorted(int(n[-7:-3]) for n in names)


def find_last(tmp_path):
    # MaskRCNN.find_last reads only config.NAME and model_dir: no graph needed to call it.
    holder = SimpleNamespace(config=SimpleNamespace(NAME="tiny"), model_dir=str(tmp_path))
    return MaskRCNN.find_last(holder)


def test_keeps_last_two_and_the_best_by_val_loss(tmp_path, small_model):
    callback = callback_for(tmp_path, small_model, keep=2)
    after = []
    for epoch, value in enumerate(VAL_LOSS):
        callback.on_epoch_end(epoch, {"loss": 9.0, "val_loss": value})
        after.append(epochs_in(tmp_path))
    # By hand: the last two, plus epoch 2 (val_loss 1.0) once it is not among them.
    assert after == [[1], [1, 2], [2, 3], [2, 3, 4], [2, 4, 5], [2, 5, 6]]
    assert [os.path.basename(p) for p in callback.removed] == [
        "mask_rcnn_tiny_0001.h5", "mask_rcnn_tiny_0003.h5", "mask_rcnn_tiny_0004.h5"]
    assert find_last(tmp_path).endswith("mask_rcnn_tiny_0006.h5")
    with open(run_folder(tmp_path) / RECORD_NAME) as f:
        record = json.load(f)["checkpoints"]
    assert record == {"mask_rcnn_tiny_0002.h5": {"val_loss": 1.0},
                      "mask_rcnn_tiny_0005.h5": {"val_loss": 1.5},
                      "mask_rcnn_tiny_0006.h5": {"val_loss": 1.2}}


@pytest.mark.parametrize("keep", [None, 0])
def test_keep_none_or_zero_keeps_all(tmp_path, small_model, keep):
    callback = callback_for(tmp_path, small_model, keep=keep)
    run_epochs(callback, [{"val_loss": v} for v in VAL_LOSS])
    assert epochs_in(tmp_path) == [1, 2, 3, 4, 5, 6]
    assert callback.removed == []
    assert find_last(tmp_path).endswith("mask_rcnn_tiny_0006.h5")


def test_val_map_picks_the_highest_map_not_the_lowest_loss(tmp_path, small_model):
    val_map = [0.1, 0.2, 0.6, 0.3, 0.4, 0.5]           # best: epoch 3; best val_loss: epoch 2
    callback = callback_for(tmp_path, small_model, keep=2)
    run_epochs(callback, [{"val_loss": v, "val_mAP50": m} for v, m in zip(VAL_LOSS, val_map)])
    assert epochs_in(tmp_path) == [3, 5, 6]


def test_val_map_of_every_other_epoch(tmp_path, small_model):
    # MeanAPCallback(every=2): only epochs 2, 4, 6 have a mAP; the best of them is epoch 4,
    # although epoch 2 has the lowest val_loss.
    logs = [{"val_loss": v} for v in VAL_LOSS]
    for epoch, value in ((2, 0.2), (4, 0.7), (6, 0.5)):
        logs[epoch - 1]["val_mAP50"] = value
    callback = callback_for(tmp_path, small_model, keep=1)
    run_epochs(callback, logs)
    assert epochs_in(tmp_path) == [4, 6]


def test_without_validation_only_the_last_stay(tmp_path, small_model):
    callback = callback_for(tmp_path, small_model, keep=2)
    run_epochs(callback, [{"loss": 1.0}] * 4)
    assert epochs_in(tmp_path) == [3, 4]


def test_nan_val_loss_is_never_the_best(tmp_path, small_model):
    callback = callback_for(tmp_path, small_model, keep=1)
    run_epochs(callback, [{"val_loss": float("nan")}, {"val_loss": 2.0}, {"val_loss": 3.0}])
    assert epochs_in(tmp_path) == [2, 3]


def test_a_resumed_run_keeps_the_best_of_the_run_before(tmp_path, small_model):
    first = callback_for(tmp_path, small_model, keep=2)
    run_epochs(first, [{"val_loss": v} for v in VAL_LOSS[:3]])       # epochs 1-3, best 2
    # A Matterport-era file in the folder (no scores recorded): it cannot be judged, it stays.
    save_weights(small_model, str(run_folder(tmp_path) / "mask_rcnn_tiny_0000.h5"))
    resumed = callback_for(tmp_path, small_model, keep=2)           # a new process
    run_epochs(resumed, [{"val_loss": v} for v in VAL_LOSS[3:]], first=3)
    assert epochs_in(tmp_path) == [0, 2, 5, 6]


def test_later_epochs_of_another_run_are_kept(tmp_path, small_model):
    # Epochs 1-5 trained, then training restarted from epoch 2's weights: epochs 4 and 5 of the
    # first run are newer than what the second writes and find_last returns 5; they stay.
    callback = callback_for(tmp_path, small_model, keep=1)
    run_epochs(callback, [{"val_loss": v} for v in VAL_LOSS[:5]])
    assert epochs_in(tmp_path) == [2, 5]
    restarted = callback_for(tmp_path, small_model, keep=1)
    run_epochs(restarted, [{"val_loss": 5.0}, {"val_loss": 6.0}], first=2)   # epochs 3, 4
    assert epochs_in(tmp_path) == [2, 4, 5]
    assert find_last(tmp_path).endswith("mask_rcnn_tiny_0005.h5")


def test_non_chief_writes_and_deletes_nothing(tmp_path, small_model):
    chief = callback_for(tmp_path, small_model)                       # keep all
    run_epochs(chief, [{"val_loss": v} for v in VAL_LOSS[:4]])
    before = sorted(os.listdir(run_folder(tmp_path)))
    worker = callback_for(tmp_path, small_model, enabled=False, keep=1)
    run_epochs(worker, [{"val_loss": 0.1}, {"val_loss": 0.05}], first=4)
    assert sorted(os.listdir(run_folder(tmp_path))) == before
    assert worker.saved == [] and worker.removed == []


def test_stale_temporaries_of_this_run_are_removed(tmp_path, small_model):
    folder = run_folder(tmp_path)
    os.makedirs(folder)
    old = time.time() - 3600

    def touch(name, mtime):
        path = folder / name
        path.write_bytes(b"partial")
        os.utime(path, (mtime, mtime))
        return name

    stale = touch(".mask_rcnn_tiny_0003.h5.k2j3h4_x.h5.tmp", old)        # a killed run's
    fresh = touch(".mask_rcnn_tiny_0004.h5.a1b2c3d4.h5.tmp", time.time())  # being written
    other_run = touch(".mask_rcnn_other_0003.h5.k2j3h4_x.h5.tmp", old)
    unrelated = touch("notes.tmp", old)
    callback = callback_for(tmp_path, small_model)
    callback.on_epoch_end(0, {"val_loss": 1.0})
    names = set(os.listdir(folder))
    assert stale not in names
    assert {fresh, other_run, unrelated, "mask_rcnn_tiny_0001.h5"} <= names
    assert [os.path.basename(p) for p in callback.removed] == [stale]


def test_bad_keep_settings_are_refused():
    with pytest.raises(ValueError, match="keep"):
        CheckpointCallback("x_{epoch:04d}.h5", keep=-1)
    with pytest.raises(ConfigError, match="KEEP_CHECKPOINTS is -1"):
        tiny_config(KEEP_CHECKPOINTS=-1)
    with pytest.raises(ConfigError, match="KEEP_CHECKPOINTS"):
        tiny_config(KEEP_CHECKPOINTS="three")
    assert tiny_config(KEEP_CHECKPOINTS=None).KEEP_CHECKPOINTS is None
