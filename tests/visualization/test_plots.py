"""Tests of mrcnn/visualization/plots.py: the precision-recall curve and the overlaps matrix."""
import os

import numpy as np
import pytest

from mrcnn import visualize

CLASS_NAMES = ["BG", "one", "two"]


def test_plot_precision_recall(tmp_path):
    path = tmp_path / "pr.png"
    fig = visualize.plot_precision_recall(0.75, [0, 1, 0.5, 0], [0, 0.5, 1, 1], save_path=path)
    assert os.path.getsize(path) > 0
    ax = fig.axes[0]
    assert ax.get_title() == "Precision-Recall Curve. AP@50 = 0.750"
    assert list(ax.lines[0].get_xdata()) == [0, 0.5, 1, 1]
    assert list(ax.lines[0].get_ydata()) == [0, 1, 0.5, 0]


def test_plot_overlaps_marks_matches(tmp_path):
    path = tmp_path / "overlaps.png"
    # Trailing zeros are padding. Prediction 0 (class 1) overlaps gt 0 (class 1) by 0.9: match;
    # prediction 1 (class 1) overlaps gt 1 (class 2) by 0.6: wrong class.
    fig = visualize.plot_overlaps(np.array([1, 2, 0]), np.array([1, 1, 0]),
                                  np.array([0.95, 0.8, 0.0]),
                                  np.array([[0.9, 0.1], [0.0, 0.6]]), CLASS_NAMES,
                                  save_path=path)
    assert os.path.getsize(path) > 0
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["0.900\nmatch", "0.100\n", "0.000\n",
                                                "0.600\nwrong"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["one (0.95)", "one (0.80)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["one", "two"]
    empty = visualize.plot_overlaps(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, 0)),
                                    CLASS_NAMES)
    assert len(empty.axes[0].texts) == 0
    with pytest.raises(ValueError, match="overlaps"):
        visualize.plot_overlaps(np.array([1]), np.array([1, 2]), np.array([0.9, 0.8]),
                                np.zeros((1, 1)), CLASS_NAMES)
