"""Training output to a file: plain lines (no backspaces, carriage returns or ANSI colours) every
N steps and per epoch with every loss; TensorBoard gets per-step scalars."""
import glob
import os
import re
import sys
import types

import pytest

from mrcnn.config import ConfigError
from mrcnn.training import progress
from mrcnn.training.progress import ProgressLog, stdout_is_terminal
from tiny import rectangles_dataset, tiny_config

LOSSES = ["loss", "rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
          "mrcnn_mask_loss"]
# Any control character but the newline: \r, \b, ESC (ANSI colours), ...
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def run_epoch(callback, clock, steps, logs, epoch=0, step_seconds=2.0, validation_seconds=5.0):
    """Drive ``callback`` through one epoch as fit() would, each step taking step_seconds."""
    start = clock.now
    callback.on_epoch_begin(epoch)
    for batch in range(steps):
        clock.now = start + step_seconds * (batch + 1)
        callback.on_train_batch_end(batch, logs)
    clock.now += validation_seconds
    callback.on_epoch_end(epoch, {**logs, "val_loss": 3.14159, "val_mAP50": 0.5})


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress.time, "monotonic", fake)
    return fake


def lines_of(capsys):
    out = capsys.readouterr().out
    assert not CONTROL.search(out)
    return out.splitlines()


def test_lines_every_n_steps_and_per_epoch(clock, capsys):
    callback = ProgressLog(every=3)
    callback.set_params({"epochs": 4, "steps": 10, "verbose": 0})
    logs = {"loss": 1.23456789, "rpn_class_loss": 0.0123456, "mrcnn_mask_loss": 2e-5}
    run_epoch(callback, clock, 10, logs, epoch=1)
    values = " - loss: 1.235 - rpn_class_loss: 0.01235 - mrcnn_mask_loss: 2e-05"
    # Steps 3, 6, 9 (step 10 is the last: the epoch line says it); 2 s per step; the epoch
    # took 20 s of steps and 5 s of validation.
    assert lines_of(capsys) == [
        "epoch 2/4 step 3/10 - 6s - 2 s/step" + values,
        "epoch 2/4 step 6/10 - 12s - 2 s/step" + values,
        "epoch 2/4 step 9/10 - 18s - 2 s/step" + values,
        "epoch 2/4 end - 10 steps - 25s - 2 s/step" + values
        + " - val_loss: 3.142 - val_mAP50: 0.5",
    ]


def test_step_time_is_measured_since_the_previous_line(clock, capsys):
    callback = ProgressLog(every=2)
    callback.set_params({"epochs": 1, "steps": 5})
    callback.on_epoch_begin(0)
    for batch, now in enumerate([110.0, 112.0, 113.0, 114.0, 115.0]):   # first step: 10 s
        clock.now = now
        callback.on_train_batch_end(batch, {"loss": 1.0})
    clock.now = 116.0
    callback.on_epoch_end(0, {"loss": 1.0})
    assert lines_of(capsys) == [
        "epoch 1/1 step 2/5 - 12s - 6 s/step - loss: 1",       # (112 - 100) / 2
        "epoch 1/1 step 4/5 - 14s - 1 s/step - loss: 1",       # (114 - 112) / 2
        "epoch 1/1 end - 5 steps - 16s - 3 s/step - loss: 1",  # (115 - 100) / 5
    ]


def test_default_interval_is_a_tenth_of_the_epoch(clock, capsys):
    callback = ProgressLog()
    callback.set_params({"epochs": 1, "steps": 25})
    run_epoch(callback, clock, 25, {"loss": 1.0})
    lines = lines_of(capsys)
    # ceil(25 / 10) = 3: steps 3, 6, ..., 24, then the epoch line.
    assert [line.split(" - ")[0] for line in lines] == \
        [f"epoch 1/1 step {s}/25" for s in range(3, 25, 3)] + ["epoch 1/1 end"]


def test_every_zero_prints_epoch_lines_only(clock, capsys):
    callback = ProgressLog(every=0)
    callback.set_params({"epochs": 2, "steps": 4})
    run_epoch(callback, clock, 4, {"loss": 0.5}, epoch=0)
    run_epoch(callback, clock, 4, {"loss": 0.25}, epoch=1)
    lines = lines_of(capsys)
    assert [line.split(" - ")[0] for line in lines] == ["epoch 1/2 end", "epoch 2/2 end"]
    assert "loss: 0.25" in lines[1]


def test_bad_interval_is_refused():
    with pytest.raises(ValueError, match="every"):
        ProgressLog(every=-1)
    with pytest.raises(ConfigError, match="LOG_EVERY_STEPS is -2"):
        tiny_config(LOG_EVERY_STEPS=-2)


class FakeStdout:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def fake_ipython(shell_class_name):
    """A stand-in IPython module whose get_ipython() returns an instance of that class."""
    shell = type(shell_class_name, (), {})()
    return types.SimpleNamespace(get_ipython=lambda: shell)


def test_stdout_is_terminal(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.setattr(sys, "stdout", FakeStdout(True))
    assert stdout_is_terminal()
    monkeypatch.setattr(sys, "stdout", FakeStdout(False))
    assert not stdout_is_terminal()
    # ipykernel imported but no kernel running (e.g. by a library): still not a terminal.
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    assert not stdout_is_terminal()
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython("TerminalInteractiveShell"))
    assert not stdout_is_terminal()
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython("ZMQInteractiveShell"))
    assert stdout_is_terminal()                 # a Jupyter notebook renders "\r"


def scalar_steps(folder, tag):
    """{step} of the scalar ``tag`` in the TensorBoard event files under ``folder``."""
    import tensorflow as tf
    steps = set()
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            if any(value.tag == tag for value in event.summary.value):
                steps.add(event.step)
    return steps


@pytest.mark.slow
def test_train_to_a_file_logs_plain_lines(tmp_path, capsys, monkeypatch):
    """train() with stdout captured (not a terminal): step and epoch lines, no control
    characters; TensorBoard has a loss for every step; KEEP_CHECKPOINTS is applied."""
    from mrcnn.maskrcnn import MaskRCNN

    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    config = tiny_config(STEPS_PER_EPOCH=2, VALIDATION_STEPS=1, LOG_EVERY_STEPS=1,
                         KEEP_CHECKPOINTS=1)
    model = MaskRCNN("training", config, tmp_path)
    capsys.readouterr()
    history = model.train(rectangles_dataset(4, seed=1), rectangles_dataset(2, seed=2),
                          learning_rate=0.001, epochs=2, layers="heads", seed=0, workers=1)
    lines = [line for line in lines_of(capsys) if line.startswith("epoch ")]
    assert [line.split(" - ")[0] for line in lines] == [
        "epoch 1/2 step 1/2", "epoch 1/2 end", "epoch 2/2 step 1/2", "epoch 2/2 end"]
    for line in lines:
        assert all(f" - {name}: " in line for name in LOSSES)
        assert re.search(r" - \d+s - [0-9.e+-]+ s/step - ", line)
    for line in lines[1::2]:
        assert all(f" - val_{name}: " in line for name in LOSSES)
    # Per-step scalars: steps 1..4 over the two epochs.
    assert scalar_steps(os.path.join(model.log_dir, "train"), "batch_loss") == {1, 2, 3, 4}
    # Keep 1: epoch 2, and epoch 1 only when its val_loss was lower.
    val_loss = history.history["val_loss"]
    expected = {"mask_rcnn_tiny_0002.h5"} | (
        {"mask_rcnn_tiny_0001.h5"} if val_loss[0] < val_loss[1] else set())
    assert {n for n in os.listdir(model.log_dir) if n.endswith(".h5")} == expected
