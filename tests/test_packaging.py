"""The distribution: a wheel and an sdist built from the checkout's files, installed into a fresh
virtual environment, give ``import mrcnn`` and the ``mrcnn`` command.

Built without build isolation (setuptools and wheel of this environment, nothing downloaded) from
a copy of the files git knows (tracked, or new and not ignored), so the checkout's build/ and
*.egg-info stay as they are. The fresh environment gets the wheel alone (--no-deps --no-index);
the dependencies (TensorFlow, NumPy...) come from this environment through a .pth file written
after the install, behind the fresh site-packages, so the wheel's own ``mrcnn`` is imported.
"""
import email.parser
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DIST_NAME = "mrcnn-keras3"            # "mrcnn" on PyPI is an unrelated package
LICENSE_NAME = "MIT"

pytestmark = pytest.mark.slow


def run(args, cwd, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300, **kwargs)
    assert result.returncode == 0, (f"{' '.join(map(str, args))} exited {result.returncode}\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_source(destination):
    """Copy the files git knows (tracked and new, not ignored) to ``destination``."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: the source files cannot be listed")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():                     # skips files deleted but not yet committed
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    pytest.importorskip("build", reason="the packaging test needs 'build' (the test extra)")
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    root = tmp_path_factory.mktemp("packaging")
    source, out = root / "source", root / "dist"
    copy_source(source)
    run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
         "--outdir", out, source], cwd=root)
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return root, wheels[0], sdists[0]


def test_sdist_holds_license_and_metadata(dists):
    _, _, sdist = dists
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        top = names[0].split("/")[0]
        assert f"{top}/LICENSE" in names, names
        assert f"{top}/README.md" in names and f"{top}/setup.py" in names
        license_text = archive.extractfile(f"{top}/LICENSE").read().decode()
        metadata = email.parser.Parser().parsestr(
            archive.extractfile(f"{top}/PKG-INFO").read().decode())
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 the mrcnn authors" in license_text
    assert metadata["Name"] == DIST_NAME


def test_wheel_metadata_names_distribution_and_license(dists):
    _, wheel, _ = dists
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == DIST_NAME
    # setuptools < 77 writes "License: MIT"; newer ones may write the SPDX License-Expression.
    assert LICENSE_NAME in (metadata["License"], metadata["License-Expression"]), metadata.items()
    assert any(name.endswith("LICENSE") for name in names), names
    assert "mrcnn/__init__.py" in names and "mrcnn/core/boxes.py" in names
    assert not any(name.startswith(("tests/", "samples/", "benchmarks/")) for name in names)
    assert "mrcnn = mrcnn.cli:main" in entry_points


def test_wheel_installs_into_a_fresh_venv(dists):
    root, wheel, _ = dists
    fresh = root / "fresh"
    run([sys.executable, "-m", "venv", fresh], cwd=root)
    python = fresh / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel], cwd=root)
    # After the install: this environment's packages (the dependencies) behind fresh's own.
    fresh_site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=root).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (Path(fresh_site) / "zz_test_dependencies.pth").write_text("\n".join(ours) + "\n")

    where = run([python, "-c", "import mrcnn; print(mrcnn.__file__); print(mrcnn.__version__)"],
                cwd=root).stdout.split()
    assert Path(where[0]).resolve().is_relative_to(fresh.resolve()), where
    assert not Path(where[0]).resolve().is_relative_to(REPO_ROOT), where
    assert where[1] == run([python, "-c", "from importlib.metadata import version; "
                            f"print(version({DIST_NAME!r}))"], cwd=root).stdout.strip()

    result = run([fresh / "bin" / "mrcnn", "--help"], cwd=root)
    assert result.stdout.startswith("usage: mrcnn"), result.stdout[:500]
