"""Tests of the Matterport facade mrcnn/visualize.py: importing it has no side effects, and
Matterport's signatures are kept. The drawing itself is tested in tests/visualization/."""
import inspect
import os
import subprocess
import sys

import pytest

from mrcnn import visualize


def test_import_has_no_side_effects():
    # A fresh interpreter with a non-default backend: importing must not pull in TensorFlow,
    # Keras or IPython, edit sys.path, or switch the backend (matplotlib.use).
    code = ("import sys; before = list(sys.path); import matplotlib; import mrcnn.visualize; "
            "heavy = [m for m in ('tensorflow', 'keras', 'IPython') if m in sys.modules]; "
            "assert not heavy, heavy; assert sys.path == before, 'sys.path changed'; "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); print('ok')")
    env = dict(os.environ, MPLBACKEND="svg")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


MATTERPORT_SIGNATURES = {
    "random_colors": ["N", "bright"],
    "apply_mask": ["image", "mask", "color", "alpha"],
    "display_images": ["images", "titles", "cols", "cmap", "norm", "interpolation"],
    "display_instances": ["image", "boxes", "masks", "class_ids", "class_names", "scores",
                          "title", "figsize", "ax", "show_mask", "show_bbox", "colors",
                          "captions"],
    "display_differences": ["image", "gt_box", "gt_class_id", "gt_mask", "pred_box",
                            "pred_class_id", "pred_score", "pred_mask", "class_names", "title",
                            "ax", "show_mask", "show_box", "iou_threshold", "score_threshold"],
    "draw_rois": ["image", "rois", "refined_rois", "mask", "class_ids", "class_names", "limit"],
    "draw_box": ["image", "box", "color"],
    "display_top_masks": ["image", "mask", "class_ids", "class_names", "limit"],
    "plot_precision_recall": ["AP", "precisions", "recalls"],
    "plot_overlaps": ["gt_class_ids", "pred_class_ids", "pred_scores", "overlaps",
                      "class_names", "threshold"],
    "draw_boxes": ["image", "boxes", "refined_boxes", "masks", "captions", "visibilities",
                   "title", "ax"],
    "display_table": ["table"],
    "display_weight_stats": ["model"],
}


MATTERPORT_DEFAULTS = {
    ("random_colors", "bright"): True, ("apply_mask", "alpha"): 0.5,
    ("display_images", "cols"): 4, ("display_instances", "figsize"): (16, 16),
    ("display_instances", "title"): "", ("display_instances", "show_bbox"): True,
    ("display_differences", "iou_threshold"): 0.5,
    ("display_differences", "score_threshold"): 0.5, ("draw_rois", "limit"): 10,
    ("display_top_masks", "limit"): 4, ("plot_overlaps", "threshold"): 0.5,
}


@pytest.mark.parametrize("name", sorted(MATTERPORT_SIGNATURES))
def test_matterport_signature_kept(name):
    # Matterport's parameters first, in order; additions (save_path, seed) only at the end.
    assert name in visualize.__all__
    params = list(inspect.signature(getattr(visualize, name)).parameters.values())
    expected = MATTERPORT_SIGNATURES[name]
    assert [p.name for p in params[:len(expected)]] == expected
    extra = {p.name: p.default for p in params[len(expected):]}
    assert extra in ({}, {"save_path": None}, {"seed": None},
                     {"save_path": None, "color_by": "class"})
    for (function, arg), default in MATTERPORT_DEFAULTS.items():
        if function == name:
            assert inspect.signature(getattr(visualize, name)).parameters[arg].default == default
