"""atomic_path: complete files or none, with ordinary permissions."""
import os
import stat

import pytest

from mrcnn.files import atomic_path


def test_writes_with_the_permissions_of_an_ordinary_file(tmp_path):
    target = tmp_path / "sub" / "result.json"
    with atomic_path(target, suffix=".json.tmp") as tmp:
        assert os.path.dirname(tmp) == str(target.parent) and tmp != str(target)
        with open(tmp, "w") as f:
            f.write("{}")
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert target.read_text() == "{}"
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert sorted(os.listdir(target.parent)) == ["result.json"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "weights.h5"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["weights.h5"]
