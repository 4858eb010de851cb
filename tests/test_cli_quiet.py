"""The command line silences TensorFlow's C++ log lines (mrcnn/tflogs.py) unless asked for them
with --tf-logs or the user's own TF_CPP_MIN_LOG_LEVEL."""
import os
import platform
import sys

import pytest

from mrcnn.tflogs import captured_stderr, drop_tf_log_lines
from tiny import mrcnn_process, tiny_config_file

TF_LINES = ("I0000 00:00:1796243846.861577   10310 port.cc:153] oneDNN custom operations are on.\n"
            "WARNING: All log messages before absl::InitializeLog() is called are written to "
            "STDERR\n"
            "E0000 00:00:1796243855.931878   10310 cuda_platform.cc:52] failed call to cuInit\n"
            "To enable the following instructions: AVX2 FMA, in other operations, rebuild "
            "TensorFlow with the appropriate compiler flags.\n")


def test_drop_tf_log_lines_keeps_the_rest():
    text = "Traceback (most recent call last):\n" + TF_LINES + "UserWarning: x\nI0000 not a log\n"
    assert drop_tf_log_lines(text) == ("Traceback (most recent call last):\nUserWarning: x\n"
                                       "I0000 not a log\n")


def test_captured_stderr_takes_what_cpp_code_writes_to_fd_2():
    with captured_stderr() as text:
        assert text == []
        os.write(2, TF_LINES.encode())
    assert text == [TF_LINES]
    os.write(2, b"")            # file descriptor 2 is usable again


def stderr_of(argv, **env):
    """stderr of ``python -m mrcnn argv`` as a user runs it (exit code 1 expected)."""
    code, _, err = mrcnn_process(*argv, **env)
    assert code == 1, err
    return err


@pytest.mark.slow
def test_a_command_that_imports_tensorflow_prints_only_its_error(tmp_path):
    """export --weights last builds the model (TensorFlow is imported and runs) and then finds
    no checkpoint: stderr is that one line; --tf-logs and the user's own TF_CPP_MIN_LOG_LEVEL
    bring TensorFlow's lines back."""
    (tmp_path / "logs").mkdir()
    argv = ["export", str(tmp_path / "model"), "--weights", "last", "--logs",
            str(tmp_path / "logs"), "--config", str(tiny_config_file(tmp_path / "tiny.yaml"))]
    quiet = stderr_of(argv)
    assert len(quiet.splitlines()) == 1 and quiet.startswith("mrcnn: error: ")
    loud = stderr_of(argv + ["--tf-logs"])
    assert loud.endswith(quiet)
    user = stderr_of(argv, TF_CPP_MIN_LOG_LEVEL="0")
    assert user.endswith(quiet)
    for text in (loud, user):
        assert drop_tf_log_lines(text) == quiet
        if sys.platform == "linux" and platform.machine() == "x86_64":
            assert "oneDNN custom operations" in text      # logged by every x86 Linux build
