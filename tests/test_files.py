"""atomic_path and atomic_folder: complete files and folders or none, with ordinary permissions."""
import os
import stat

import pytest

from mrcnn.files import atomic_folder, atomic_path


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


def test_folder_replaces_an_earlier_one_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.pb").write_text("old")
    with atomic_folder(target) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and tmp != str(target)
        with open(os.path.join(tmp, "saved_model.pb"), "w") as f:
            f.write("new")
    assert os.listdir(target) == ["saved_model.pb"]
    plain = tmp_path / "plain"
    plain.mkdir()
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert sorted(os.listdir(tmp_path)) == ["model", "plain"]


def test_folder_failure_keeps_the_old_one_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "saved_model.pb").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            with open(os.path.join(tmp, "half"), "w") as f:
                f.write("half")
            raise RuntimeError("tracing failed")
    assert os.listdir(target) == ["saved_model.pb"]
    assert os.listdir(tmp_path) == ["model"]


def test_file_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    """A crash (power loss) just after the rename must not leave an empty or partial file under
    the final name: the data is fsync'ed before os.replace, the folder entry after it."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.basename(src), os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "mask_rcnn_tiny_0001.h5"
    with atomic_path(target, suffix=".h5.tmp") as tmp:
        with open(tmp, "wb") as f:
            f.write(b"weights")
    tmp_name = os.path.basename(tmp)
    assert events == [("fsync", tmp_name), ("replace", tmp_name, target.name),
                      ("fsync", tmp_path.name)]
    assert target.read_bytes() == b"weights"


def test_flush_can_be_skipped(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "fsync", calls.append)
    with atomic_path(tmp_path / "a.json", fsync=False) as tmp:
        with open(tmp, "w") as f:
            f.write("{}")
    assert calls == [] and (tmp_path / "a.json").read_text() == "{}"


def test_writes_never_change_the_process_umask(tmp_path, monkeypatch):
    """Loader threads create files while checkpoints are written: the umask is read once, at
    import, so a write must not set it (even briefly) and still give ordinary permissions."""
    calls = []
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or 0o022)
    with atomic_path(tmp_path / "w.h5") as tmp:
        open(tmp, "w").close()
    with atomic_folder(tmp_path / "model") as tmp:
        open(os.path.join(tmp, "x"), "w").close()
    assert calls == []
    monkeypatch.undo()
    plain_file, plain_dir = tmp_path / "plain", tmp_path / "plain_dir"
    plain_file.write_text("x")
    plain_dir.mkdir()
    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)
    assert mode(tmp_path / "w.h5") == mode(plain_file)
    assert mode(tmp_path / "model") == mode(plain_dir)


def test_the_umask_read_from_proc_is_the_process_umask():
    import mrcnn.files
    old = os.umask(0o027)
    try:
        assert mrcnn.files._read_umask() == 0o027
    finally:
        os.umask(old)
    assert mrcnn.files._read_umask() == old
