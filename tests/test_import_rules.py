"""DESIGN §3's one-way import direction, checked on the source (``ast``; nothing is imported).

"Imports flow one way: NumPy core → tensor ops → layers → backbone/heads → graph → the
``MaskRCNN`` facade", with the parts of §3's table (core, data, graph, training; weights,
evaluation, visualize, cli) and the modules of README's "Layout" placed by hand in RANKS below.
A module may import a module of the same or a lower rank, never a higher one. Imports inside
functions count the same: DESIGN allows no lazy import upward (facades such as ``mrcnn.utils``
load their heavy members lazily, but downward). Every module under mrcnn/ must have a rank, so a
new top-level module fails here until it is placed.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "mrcnn"

# Rank of each package (all its modules) or module; a module takes the entry of its longest
# dotted prefix ("mrcnn" itself matches only the package's __init__).
RANKS = {
    # The package's __init__ (``__version__``): imports nothing, anything may import it.
    "mrcnn": 0,
    # core (NumPy only): the bottom of DESIGN's chain.
    "mrcnn.core": 0,
    # Leaf helpers on the standard library: atomic writes (README: mrcnn/files.py) and the
    # TensorFlow log filter (imports nothing from TensorFlow).
    "mrcnn.files": 0,
    "mrcnn.tflogs": 0,
    # The weights file as HDF5 (opening it, its metadata attribute): h5py only, read by config.
    "mrcnn.weights_file": 0,
    # Config: built on core, read by the graph wiring; layers and data import its constants.
    "mrcnn.config": 1,
    # Weight download (urllib): used by the facades; no TensorFlow.
    "mrcnn.download": 1,
    # data (§3 table, 2nd row): the Dataset base and format loaders, load_image_gt, targets,
    # augmentation, the batch pipeline.
    "mrcnn.datasets": 2,
    "mrcnn.data": 2,
    # tensor ops → layers → backbone/heads → graph (DESIGN's chain).
    "mrcnn.ops": 3,
    "mrcnn.layers": 4,
    "mrcnn.graph": 5,
    # weights (§3 last row, "by-name HDF5 I/O"): below training, whose checkpoints it writes
    # ("training: ... checkpoints"; DESIGN §2: checkpoints in the by-name layout).
    "mrcnn.weights": 6,
    # training (§3 table, 4th row): presets, train_step, strategies, checkpoints, callbacks.
    "mrcnn.training": 7,
    # §3 last row: drawing, evaluation (its report draws; its progress log is training's) and
    # SavedModel export, all over a built model or its detections.
    "mrcnn.visualization": 8,
    "mrcnn.export": 8,
    "mrcnn.evaluation": 9,
    # Writes detections as labelme/VIA/COCO files (the prelabel command): a consumer of
    # detect() results and of evaluation's COCO encoding, not a loader, so it sits with
    # evaluation although it lives in mrcnn/datasets/.
    "mrcnn.datasets.prelabel": 9,
    # The MaskRCNN facade: the top of DESIGN's chain.
    "mrcnn.maskrcnn": 10,
    # Matterport's facades (DESIGN §2: thin facades over internal modules).
    "mrcnn.model": 11,
    "mrcnn.utils": 11,
    "mrcnn.visualize": 11,
    "mrcnn.evaluate": 11,
    # The command line: runner holds its steps (shared with samples/), cli parses, __main__ runs.
    "mrcnn.runner": 12,
    "mrcnn.cli": 13,
    "mrcnn.__main__": 14,
}

# Existing breaks of the rule, each named by (importer, imported) with where and why. The test
# fails for any other upward import, and for an entry here that no longer occurs (then delete it).
KNOWN_UPWARD = {}

TENSORFLOW = ("tensorflow", "keras")


def module_name(path):
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def rank_of(module):
    """RANKS entry of ``module``'s longest dotted prefix (None when there is none)."""
    if module == "mrcnn":
        return RANKS.get("mrcnn")
    parts = module.split(".")
    while len(parts) > 1:
        key = ".".join(parts)
        if key in RANKS:
            return RANKS[key]
        parts.pop()
    return None


def imports_of(module):
    """(imported module, line, inside a function) for each import statement of ``module``.

    ``from P import name`` names module ``P.name`` when that is an mrcnn module, else ``P``.
    Relative imports are resolved against the module's package."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package[:len(package) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    found.append((target if target in MODULES else base, child.lineno,
                                  in_function))
            visit(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def mrcnn_target(name):
    """The mrcnn module an import of ``name`` loads (its longest prefix that is one)."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def where(module, line):
    return f"{MODULES[module].relative_to(REPO_ROOT)}:{line}"


def test_every_module_has_a_rank_and_every_rank_a_module():
    unranked = sorted(m for m in MODULES if rank_of(m) is None)
    assert not unranked, (f"modules without a rank: {unranked}; place each in RANKS of "
                          f"{Path(__file__).name} (DESIGN §3's import direction)")
    stale = sorted(key for key in RANKS if key not in MODULES)
    assert not stale, f"RANKS names modules that do not exist: {stale}"


def test_imports_flow_one_way():
    upward, seen_known = [], set()
    for module in MODULES:
        for name, line, in_function in imports_of(module):
            target = mrcnn_target(name) if name.split(".")[0] == "mrcnn" else None
            if target is None or rank_of(target) <= rank_of(module):
                continue
            if (module, target) in KNOWN_UPWARD:
                seen_known.add((module, target))
                continue
            upward.append(f"{where(module, line)}: {module} (rank {rank_of(module)}) imports "
                          f"{target} (rank {rank_of(target)})"
                          f"{' inside a function' if in_function else ''}")
    assert not upward, ("imports against DESIGN §3's direction (a module may import only the "
                        "same or lower ranks):\n" + "\n".join(upward))
    gone = sorted(set(KNOWN_UPWARD) - seen_known)
    assert not gone, f"KNOWN_UPWARD entries that no longer occur (delete them): {gone}"


def test_core_never_imports_tensorflow():
    # DESIGN §3: core (NumPy only) "never imports TensorFlow" -- at module level or in a function.
    found = [f"{where(module, line)}: {module} imports {name}"
             for module in MODULES if module.startswith("mrcnn.core")
             for name, line, _ in imports_of(module) if name.split(".")[0] in TENSORFLOW]
    assert not found, "\n".join(found)


def test_data_knows_no_keras_layers():
    # DESIGN §3: data "never knows about Keras layers" (keras.utils.PyDataset is fine).
    found = [f"{where(module, line)}: {module} imports {name}"
             for module in MODULES if module.startswith("mrcnn.data.")
             for name, line, _ in imports_of(module)
             if name in ("keras.layers", "keras.src.layers") or name.startswith("keras.layers.")]
    assert not found, "\n".join(found)


def test_layers_and_ops_do_not_read_config():
    # Issue 13: layers take explicit arguments; the constants they share with the data side
    # (loss names, IoU thresholds, box std-devs, detection row layout) live in core.
    found = [f"{where(module, line)}: {module} imports {name}"
             for module in MODULES if module.startswith(("mrcnn.layers", "mrcnn.ops"))
             for name, line, _ in imports_of(module) if mrcnn_target(name) == "mrcnn.config"]
    assert not found, "\n".join(found)


# The modules whose docstrings promise an import without TensorFlow (and without Keras: core and
# config say so; evaluate loads Keras only for MeanAPCallback; utils, download and visualize are
# NumPy/urllib/matplotlib facades).
LIGHT_MODULES = ["mrcnn", "mrcnn.core", "mrcnn.core.anchors", "mrcnn.core.boxes",
                 "mrcnn.core.contracts", "mrcnn.core.detections", "mrcnn.core.images",
                 "mrcnn.core.masks", "mrcnn.core.meta", "mrcnn.core.metrics",
                 "mrcnn.config", "mrcnn.download", "mrcnn.tflogs", "mrcnn.utils",
                 "mrcnn.evaluate", "mrcnn.visualize"]


def test_light_modules_do_not_import_tensorflow():
    # One fresh interpreter, the modules imported one at a time: the first that pulls in
    # TensorFlow or Keras is named.
    code = ("import importlib, sys\n"
            f"for name in {LIGHT_MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            f"    heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {set(TENSORFLOW)!r})\n"
            "    if heavy:\n"
            "        sys.exit(f'import {name} imported {heavy}')\n"
            "print('ok')\n")
    assert set(LIGHT_MODULES) <= set(MODULES), sorted(set(LIGHT_MODULES) - set(MODULES))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO_ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
