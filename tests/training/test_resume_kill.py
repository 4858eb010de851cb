"""Resume that survives a kill: unreadable newest checkpoints are skipped with a warning naming
them, and training killed with SIGKILL mid-epoch or mid-checkpoint resumes to the same end.

Checkpoints are written to a temporary file, flushed (fsync) and renamed (tests/test_files.py),
so a kill leaves a stray temporary file, never a partial checkpoint under the final name; an
unreadable final file still happens when a disk loses unflushed data (power loss on a file
system that orders the rename first) or a copy is cut short, which the truncations here play.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mrcnn.maskrcnn import MaskRCNN
from mrcnn.training.callbacks import checkpoint_problem
from tiny import tiny_config

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(TESTS_DIR)


def _tiny_weights_file(path, seed=0):
    """A real by-name weights file, from a one-layer Keras model (no Mask R-CNN graph)."""
    import keras

    from mrcnn.weights import save_weights
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(inputs))
    model.get_layer("head").set_weights([np.full((3, 2), seed, np.float32),
                                         np.zeros(2, np.float32)])
    save_weights(model, path)
    return path


def _truncate(path, keep=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))


class Stub(MaskRCNN):
    """find_last only reads folders: no graph."""

    def build(self, mode, config):
        return None


def test_checkpoint_problem(tmp_path):
    good = _tiny_weights_file(str(tmp_path / "good.h5"))
    assert checkpoint_problem(good) is None
    truncated = _tiny_weights_file(str(tmp_path / "truncated.h5"))
    _truncate(truncated)
    zeroed = tmp_path / "zeroed.h5"                  # what a power loss can leave
    zeroed.write_bytes(bytes(os.path.getsize(good)))
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    for path in (truncated, zeroed, empty):
        problem = checkpoint_problem(str(path))
        assert isinstance(problem, str) and problem, path
    import h5py
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    assert "layer_names" in checkpoint_problem(str(tmp_path / "other.h5"))


def test_find_last_skips_an_unreadable_newest_checkpoint(tmp_path):
    model = Stub("inference", tiny_config(), tmp_path)
    old = tmp_path / "tiny20200101T0000"
    new = tmp_path / "tiny20210101T0000"
    old.mkdir()
    new.mkdir()
    _tiny_weights_file(str(old / "mask_rcnn_tiny_0004.h5"))
    _tiny_weights_file(str(new / "mask_rcnn_tiny_0001.h5"))
    _tiny_weights_file(str(new / "mask_rcnn_tiny_0002.h5"))
    assert model.find_last() == str(new / "mask_rcnn_tiny_0002.h5")
    _truncate(new / "mask_rcnn_tiny_0002.h5")
    with pytest.warns(UserWarning, match=r"mask_rcnn_tiny_0002\.h5.*cannot be read") as record:
        assert model.find_last() == str(new / "mask_rcnn_tiny_0001.h5")
    assert len(record) == 1
    # Every checkpoint of the newest folder unreadable: the last one of the folder before.
    (new / "mask_rcnn_tiny_0001.h5").write_bytes(b"")
    with pytest.warns(UserWarning) as record:
        assert model.find_last() == str(old / "mask_rcnn_tiny_0004.h5")
    assert len(record) == 2
    # None readable at all: FileNotFoundError naming the files that could not be read.
    (old / "mask_rcnn_tiny_0004.h5").write_bytes(b"x")
    with pytest.warns(UserWarning), pytest.raises(FileNotFoundError, match="mask_rcnn_tiny_0004"):
        model.find_last()


# ----------------------------------------------------------------- kill -9 and resume (slow)
def child_config():
    """The tiny config on the lightest backbone, 2 steps of 1 image per epoch, no validation."""
    return tiny_config(BACKBONE="resnet18", STEPS_PER_EPOCH=2, VALIDATION_STEPS=0,
                       IMAGES_PER_GPU=1)


CHILD = r'''
import functools, json, os, sys, time
sys.path.insert(0, {tests_dir!r})
sys.path.insert(0, {here!r})
import keras
import numpy as np
import mrcnn.weights
import mrcnn.training.callbacks
from mrcnn.maskrcnn import MaskRCNN
from test_resume_kill import child_config
from tiny import rectangles_dataset

model_dir, stall, marker = sys.argv[1], sys.argv[2], sys.argv[3]
keras.utils.set_random_seed(0)
model = MaskRCNN("training", child_config(), model_dir)
# Eager steps: tracing the training step takes longer than the few steps run here, and the
# kill / resume logic under test does not depend on it.
model.keras_model.compile = functools.partial(model.keras_model.compile, run_eagerly=True)
dataset = rectangles_dataset(count=2)


def hold(what):
    """Tell the test where we are, then wait to be killed."""
    with open(marker, "w") as f:
        f.write(what)
    time.sleep(600)
    raise SystemExit("not killed")


class Stall(keras.callbacks.Callback):
    """stall = "epoch:N": hold in the middle of epoch N (1-based), after its first step;
    "checkpoint:N": hold while checkpoint N is half written."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if stall == "epoch:{{}}".format(self.epoch) and batch == 0:
            hold("mid-epoch")

    def on_epoch_end(self, epoch, logs=None):
        if stall != "checkpoint:{{}}".format(epoch + 1):
            return
        real = mrcnn.weights._weight_names
        count = [0]

        def names(layer):                         # called once per layer inside the write
            count[0] += 1
            if count[0] == 20:
                hold("mid-checkpoint")
            return real(layer)
        mrcnn.weights._weight_names = names


history = model.train(dataset, None, 0.001, epochs=2, layers="heads", resume=True,
                      custom_callbacks=[Stall()], workers=1, seed=0, verbose=0)
print("RESULT " + json.dumps({{"epoch": model.epoch, "ran": list(history.epoch),
                              "log_dir": model.log_dir}}))
'''


def _run_child(script, model_dir, stall, marker, kill):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    if os.path.exists(marker):
        os.remove(marker)
    proc = subprocess.Popen([sys.executable, script, model_dir, stall, marker], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not kill:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            line = [x for x in out.splitlines() if x.startswith("RESULT ")][-1]
            return json.loads(line[len("RESULT "):]), err
        deadline = time.time() + 600
        while not os.path.exists(marker) or not open(marker).read():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.time() < deadline, "the child never reached its stall point"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        with open(marker) as f:
            return f.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _checkpoints(model_dir):
    folders = sorted(d for d in os.listdir(model_dir) if d.startswith("tiny"))
    assert len(folders) == 1, folders            # a resumed run writes where the first one did
    folder = os.path.join(model_dir, folders[0])
    return folder, sorted(os.listdir(folder))


@pytest.mark.slow
def test_sigkill_mid_epoch_and_mid_checkpoint_then_resume(tmp_path):
    """Three runs of train(epochs=2, resume=True), 2 steps per epoch: killed in epoch 2; killed
    while writing checkpoint 2; then, with an unreadable checkpoint 2 in place, run to the end."""
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests_dir=TESTS_DIR, here=os.path.dirname(__file__)))
    model_dir, marker = str(tmp_path / "logs"), str(tmp_path / "marker")
    first, second = "mask_rcnn_tiny_0001.h5", "mask_rcnn_tiny_0002.h5"

    # 1. Killed in the middle of epoch 2 (after its first step): checkpoint 1 is complete.
    assert _run_child(str(script), model_dir, "epoch:2", marker, kill=True) == "mid-epoch"
    folder, files = _checkpoints(model_dir)
    assert [f for f in files if f.endswith(".h5")] == [first]
    assert checkpoint_problem(os.path.join(folder, first)) is None

    # 2. Resumed from checkpoint 1, killed while writing checkpoint 2: a stray temporary file,
    #    and no partial file under the checkpoint's name.
    assert _run_child(str(script), model_dir, "checkpoint:2", marker, kill=True) \
        == "mid-checkpoint"
    folder, files = _checkpoints(model_dir)
    assert [f for f in files if f.endswith(".h5")] == [first]
    assert any(f.endswith(".tmp") for f in files), files

    # 3. A truncated checkpoint 2 (what a power loss can leave of a file not flushed before its
    #    rename, or a cut copy): the resume warns naming it, falls back to checkpoint 1 and
    #    runs epoch 2 again, replacing the bad file.
    with open(os.path.join(folder, first), "rb") as src, \
            open(os.path.join(folder, second), "wb") as dst:
        dst.write(src.read()[:os.path.getsize(os.path.join(folder, first)) // 2])
    result, err = _run_child(str(script), model_dir, "none", marker, kill=False)
    assert second in err and "cannot be read" in err
    assert result["epoch"] == 2 and result["ran"] == [1]
    assert os.path.normpath(result["log_dir"]) == os.path.normpath(folder)
    folder, files = _checkpoints(model_dir)
    assert [f for f in files if f.endswith(".h5")] == [first, second]

    # Both checkpoints are readable; the last one loads into the inference graph.
    for name in (first, second):
        assert checkpoint_problem(os.path.join(folder, name)) is None
    model = MaskRCNN("inference", child_config(), model_dir)
    assert model.find_last() == os.path.join(folder, second)
    model.load_weights(model.find_last(), by_name=True)
    assert model.epoch == 2
