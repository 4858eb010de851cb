"""Training progress as plain lines, for output that goes to a file rather than a terminal.

Keras' progress bar redraws itself with backspaces, carriage returns and ANSI colours (on Linux
always: it takes any POSIX system for an interactive one), which makes a redirected log
unreadable. :func:`stdout_is_terminal` tells the two cases apart; ``MaskRCNN.train`` keeps the
progress bar on a terminal and uses :class:`ProgressLog` (with ``fit(verbose=0)``) otherwise.
"""
import math
import sys
import time

import keras

__all__ = ["ProgressLog", "stdout_is_terminal", "log_interval"]


def stdout_is_terminal():
    """Whether stdout can show a progress bar that redraws in place: a terminal, or a Jupyter
    kernel's output (which renders carriage returns)."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        terminal = bool(isatty()) if isatty is not None else False
    except ValueError:                    # a closed stream
        terminal = False
    if terminal:
        return True
    ipython = sys.modules.get("IPython")        # a Jupyter kernel runs a ZMQInteractiveShell
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def log_interval(every, steps):
    """Steps between progress lines: ``every`` when given (0: epoch lines only), else a tenth
    of the epoch's ``steps`` rounded up (ten lines per epoch, whatever its length)."""
    if every is not None:
        return int(every)
    return max(1, math.ceil(steps / 10)) if steps else 0


def _format(logs):
    """" - name: value" for every number in ``logs``, values to 4 significant digits."""
    parts = []
    for name, value in (logs or {}).items():
        try:
            parts.append(f" - {name}: {float(value):.4g}")
        except (TypeError, ValueError):       # not a scalar: not for a log line
            continue
    return "".join(parts)


class ProgressLog(keras.callbacks.Callback):
    """Print one plain line every ``every`` steps and one per epoch, flushed at once.

    Step line: ``epoch 2/10 step 50/500 - 62s - 1.21 s/step - loss: 2.345 - rpn_class_loss:
    0.01234 ...``: the time since the epoch began, the mean step time since the previous line,
    and the logs Keras gives (for losses, their mean over the epoch so far).
    Epoch line: ``epoch 2/10 end - 500 steps - 640s - 1.24 s/step - loss: ... - val_loss: ...``:
    the epoch's time (validation included), its mean step time, and every number in the epoch's
    logs (``val_*``, ``val_mAP50`` of a MeanAPCallback that runs before this one).
    No line is printed for the epoch's last step (the epoch line follows).

    every: steps between lines, None for a tenth of the epoch (:func:`log_interval`), 0 for
        epoch lines only. stream: where to write (default: sys.stdout at the time of writing).
    """

    def __init__(self, every=None, stream=None):
        super().__init__()
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 0):
            raise ValueError(f"every must be None or a number of steps >= 0, got {every!r}")
        self.every = every
        self.stream = stream
        self._epoch_start = self._last_time = self._train_end = 0.0
        self._last_step = 0
        self._epoch = 0

    def _print(self, line):
        print(line, file=self.stream or sys.stdout, flush=True)

    def _epoch_label(self):
        epochs = self.params.get("epochs")
        return f"epoch {self._epoch + 1}" + (f"/{epochs}" if epochs else "")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = self._last_time = self._train_end = time.monotonic()
        self._last_step = 0

    def on_train_batch_end(self, batch, logs=None):
        now = self._train_end = time.monotonic()
        step, steps = batch + 1, self.params.get("steps")
        every = log_interval(self.every, steps)
        if not every or step % every or (steps and step >= steps):
            return
        per_step = (now - self._last_time) / max(1, step - self._last_step)
        self._last_time, self._last_step = now, step
        total = f"/{steps}" if steps else ""
        self._print(f"{self._epoch_label()} step {step}{total} - {now - self._epoch_start:.0f}s"
                    f" - {per_step:.3g} s/step{_format(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        steps = self.params.get("steps")
        elapsed = time.monotonic() - self._epoch_start
        per_step = ""
        if steps:
            per_step = f" - {(self._train_end - self._epoch_start) / steps:.3g} s/step"
        count = f" - {steps} steps" if steps else ""
        self._print(f"{self._epoch_label()} end{count} - {elapsed:.0f}s{per_step}"
                    f"{_format(logs)}")
