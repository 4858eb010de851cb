"""Quiet TensorFlow start-up for the command line.

TensorFlow's C++ side writes log lines to stderr: some while ``import tensorflow`` runs, before
it reads ``TF_CPP_MIN_LOG_LEVEL`` (absl writes everything logged before its initialisation, e.g.
"oneDNN custom operations are on", "Could not find cuda drivers"), the rest afterwards at the
level that variable sets (e.g. the CUDA ``cuInit`` error of a machine without a GPU).
:func:`quiet_tensorflow` silences both: level 3 for the later lines, and the stderr of the import
itself captured, its TensorFlow log lines dropped and anything else written back. It imports
nothing from TensorFlow; the import stays where the code first needs it.
"""
import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile

__all__ = ["TF_LOG_LINE", "quiet_tensorflow", "captured_stderr", "drop_tf_log_lines"]

#: A line of TensorFlow's C++ logging: absl's "I0000 00:00:1796243698.062021    8353 port.cc:153]"
#: prefix, absl's warning about logging before its initialisation, and the second line of the
#: CPU-instructions message.
TF_LOG_LINE = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\]"
                         r"|WARNING: All log messages before absl::InitializeLog\(\)"
                         r"|To enable the following instructions: .*rebuild TensorFlow")


def drop_tf_log_lines(text):
    """``text`` without its lines of TensorFlow C++ logging (:data:`TF_LOG_LINE`)."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if not TF_LOG_LINE.match(line))


@contextlib.contextmanager
def captured_stderr():
    """Redirect file descriptor 2 (C++ and Python writes alike) to a temporary file while the
    block runs; yields a list that holds the captured text once the block has ended."""
    sys.stderr.flush()
    saved = os.dup(2)
    captured = []
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode("utf-8", "replace"))


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader's exec_module with stderr captured, writes back what is not
    TensorFlow logging (all of it when the import fails), then steps aside."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        try:
            with captured_stderr() as text:
                self.loader.exec_module(module)
        except BaseException:
            sys.stderr.write(text[0])
            raise
        sys.stderr.write(drop_tf_log_lines(text[0]))
        sys.stderr.flush()


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the path finder does, once, with a :class:`_QuietLoader`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow(environ=None):
    """Silence TensorFlow's C++ logging for this process unless the user chose a level:
    when ``environ`` (default os.environ) has no TF_CPP_MIN_LOG_LEVEL, set it to "3" and have
    the first ``import tensorflow`` drop the log lines it writes. Call before TensorFlow is
    imported; returns whether it did anything (False also when TensorFlow is imported already).
    """
    environ = os.environ if environ is None else environ
    if "TF_CPP_MIN_LOG_LEVEL" in environ or "tensorflow" in sys.modules:
        return False
    environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
    return True
