"""Writing files so that readers never see a partial one (checkpoints, results, downloads).

Standard library only, so every layer of the package may use it.
"""
import contextlib
import os
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp"):
    """Yield a temporary path beside ``path`` to write to; on success it is renamed to ``path``.

    The folder of ``path`` is created. The file gets the permissions an ordinary new file would
    (0666 less the umask; ``mkstemp`` alone gives 0600, which other users and workers on a shared
    disk cannot read). On any error, or an interrupt, the temporary file is removed and ``path``
    keeps what it held before.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix,
                                    dir=directory)
    os.close(fd)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
