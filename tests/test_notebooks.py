"""Tests of notebooks/: every notebook is saved clean and runs end to end in its fast mode.

The run executes each notebook with nbclient in the venv's own kernel, from the notebooks/
folder (the notebooks import ../samples/shapes), with MRCNN_NOTEBOOK_FAST=1 (tiny settings),
MRCNN_NOTEBOOK_LOGS pointing into a temporary folder (so no checkpoint of a real run is
picked up and nothing is written into the checkout) and the headless matplotlib backend.
"""
import os
import re
import sys

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook tests need: pip install -e .[test]")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need: pip install -e .[test]")
pytest.importorskip("ipykernel", reason="notebook tests need: pip install -e .[test]")

NOTEBOOKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks")
NOTEBOOKS = ["inspect_data", "train_shapes", "demo", "inspect_model"]
#: Seconds a single cell may take in fast mode (building and tracing a model takes the longest).
CELL_TIMEOUT = 300
#: Text each notebook prints near its end, so a run that silently skipped its work fails.
EXPECTED_OUTPUT = {
    "inspect_data": "positive ROIs per image",
    "train_shapes": "mAP@0.5 on 4 held-out images",
    "demo": "Loaded weights",
    "inspect_model": "After per-class NMS",
}
#: A string literal that starts like an absolute path ("/x", "C:\", "~/").
ABSOLUTE_PATH = re.compile(r"""["'](/[A-Za-z]|[A-Za-z]:[\\/]|~[\\/])""")


def _read(name):
    return nbformat.read(os.path.join(NOTEBOOKS_DIR, name + ".ipynb"), as_version=4)


def _text_outputs(cell):
    """All text a code cell printed or displayed as plain text."""
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            texts.append(output.text)
        elif "data" in output:
            texts.append(output.data.get("text/plain", ""))
    return "".join(texts)


def test_every_notebook_is_tested():
    on_disk = sorted(f[:-len(".ipynb")] for f in os.listdir(NOTEBOOKS_DIR)
                     if f.endswith(".ipynb"))
    assert on_disk == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_saved_clean(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    # Saved without outputs or execution counts.
    assert [(i, cell.outputs, cell.execution_count) for i, cell in enumerate(code_cells)
            if cell.outputs or cell.execution_count is not None] == []
    # The first code cell holds the parameters, read from the environment.
    assert 'os.environ.get("MRCNN_NOTEBOOK_FAST"' in code_cells[0].source
    # Text between the code: a markdown cell first and at least one per three code cells.
    assert nb.cells[0].cell_type == "markdown"
    assert 3 * sum(cell.cell_type == "markdown" for cell in nb.cells) >= len(code_cells)
    # Paths are relative to the notebook's folder.
    assert [cell.source for cell in code_cells if ABSOLUTE_PATH.search(cell.source)] == []


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, tmp_path, monkeypatch):
    nb = _read(name)
    # An extra first cell reports which Python the kernel runs.
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    logs = tmp_path / "logs"
    monkeypatch.setenv("MRCNN_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("MRCNN_NOTEBOOK_LOGS", str(logs))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")   # no __pycache__ in samples/

    before = sorted(os.listdir(NOTEBOOKS_DIR))
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": NOTEBOOKS_DIR}})
    client.execute()   # raises CellExecutionError, naming the cell, on the first error

    # The kernel is this interpreter (the venv's python), not another python3 on the PATH.
    assert os.path.samefile(_text_outputs(nb.cells[0]).strip(), sys.executable)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells)
    assert EXPECTED_OUTPUT[name] in "".join(_text_outputs(cell) for cell in code_cells)
    if name in ("train_shapes", "demo", "inspect_model"):
        # Training (here, or in demo / inspect_model when no checkpoint exists) wrote a
        # checkpoint into the temporary LOGS, and nothing else was trained in the checkout.
        checkpoints = [f for _, _, files in os.walk(logs) for f in files
                       if re.fullmatch(r"mask_rcnn_shapes_\d{4}\.h5", f)]
        assert checkpoints
    # Nothing was written next to the notebooks.
    assert sorted(os.listdir(NOTEBOOKS_DIR)) == before
