"""Writing files so that readers never see a partial one (checkpoints, results, downloads).

Standard library only, so every layer of the package may use it.
"""
import contextlib
import os
import shutil
import tempfile


def _read_umask():
    """The process's umask, read without changing it where Linux says it (``/proc``); elsewhere
    set and restored once, here at import, not around every write while loader threads run."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def fsync_path(path):
    """Flush a file's data (or a folder's entries) to disk: ``os.fsync`` on it.

    Folders cannot be opened for fsync on Windows; there this is a no-op for them.
    """
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (IsADirectoryError, PermissionError):
        if os.path.isdir(path):
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp", fsync=True):
    """Yield a temporary path beside ``path`` to write to; on success it is renamed to ``path``.

    The folder of ``path`` is created. The file gets the permissions an ordinary new file would
    (0666 less the umask; ``mkstemp`` alone gives 0600, which other users and workers on a shared
    disk cannot read). On any error, or an interrupt, the temporary file is removed and ``path``
    keeps what it held before.
    fsync: flush the file to disk before the rename, and the folder after it, so that after a
    crash or power loss ``path`` holds the old or the new content, never an empty or partial
    file (a rename is often written to disk before the data it names).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix,
                                    dir=directory)
    os.close(fd)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~UMASK)
        if fsync:
            fsync_path(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    if fsync:
        try:
            fsync_path(directory)
        except OSError:        # the file is in place; some file systems refuse folder fsync
            pass


@contextlib.contextmanager
def atomic_folder(path):
    """Yield a temporary folder beside ``path`` to fill; on success it replaces ``path``.

    An existing ``path`` is replaced whole (the caller decides whether that is allowed). The
    folder gets the permissions of an ordinary new folder (``mkdtemp`` alone gives 0700). On any
    error, or an interrupt, the temporary folder is removed and ``path`` keeps what it held.
    """
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    prefix = "." + os.path.basename(path) + "."
    tmp_path = tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o777 & ~UMASK)
        if os.path.lexists(path):
            old = tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=directory)
            os.replace(path, os.path.join(old, "folder"))
            os.replace(tmp_path, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_path, path)
    except BaseException:
        shutil.rmtree(tmp_path, ignore_errors=True)
        raise
