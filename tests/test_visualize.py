"""Tests of mrcnn.visualize (mrcnn/visualization/): headless drawing (Agg), pixels of saved
PNGs, Matterport's API."""
import inspect
import os
import random
import subprocess
import sys
import types

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon, Rectangle  # noqa: E402

from mrcnn import visualize  # noqa: E402

CLASS_NAMES = ["BG", "one", "two"]
RED, GREEN = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def square_masks(shape, squares):
    """[H, W, N] bool masks, one per (y1, x1, y2, x2) square (y2/x2 exclusive)."""
    masks = np.zeros(tuple(shape) + (len(squares),), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(squares):
        masks[y1:y2, x1:x2, i] = True
    return masks


def png_pixel(fig, path, x, y, axes=0):
    """RGB (0..255 ints) of the PNG saved from `fig` at data point (x, y) of fig.axes[axes]."""
    assert os.path.getsize(path) > 0
    png = plt.imread(path)  # [rows, cols, 4] floats in [0, 1]
    assert png.shape[:2] == (round(fig.bbox.height), round(fig.bbox.width))
    px, py = fig.axes[axes].transData.transform((x, y))  # display pixels, origin bottom left
    return tuple(np.round(png[int(png.shape[0] - py), int(px), :3] * 255).astype(int))


# ------------------------------------------------------------------------- module and API

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


# ------------------------------------------------------------------------------- colours

def test_random_colors_are_evenly_spaced_hues():
    # Hues 0, 1/3, 2/3 at full saturation and value are pure red, green and blue.
    assert sorted(visualize.random_colors(3)) == [(0.0, 0.0, 1.0), (0.0, 1.0, 0.0),
                                                  (1.0, 0.0, 0.0)]
    # Not bright: value 0.7, so hue 0 is (0.7, 0, 0).
    assert visualize.random_colors(1, bright=False) == [(0.7, 0.0, 0.0)]
    assert visualize.random_colors(0) == []


def test_random_colors_seed_matches_global_random():
    with_seed = visualize.random_colors(8, seed=3)
    assert visualize.random_colors(8, seed=3) == with_seed
    random.seed(3)  # Matterport shuffled with the global random: same permutation.
    assert visualize.random_colors(8) == with_seed
    assert sorted(with_seed) == sorted(visualize.random_colors(8, seed=4))


def test_apply_mask_alpha_blend_by_hand():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    mask = np.array([[1, 0], [0, 1]])
    result = visualize.apply_mask(image, mask, (1.0, 0.2, 0.0), alpha=0.5)
    assert result is image  # in place, as Matterport
    # Masked: 100 * (1 - 0.5) + 0.5 * c * 255, truncated to uint8:
    #   R = 50 + 127.5 = 177.5 -> 177, G = 50 + 25.5 = 75.5 -> 75, B = 50 + 0 = 50.
    assert image[0, 0].tolist() == [177, 75, 50] and image[1, 1].tolist() == [177, 75, 50]
    assert image[0, 1].tolist() == [100, 100, 100] and image[1, 0].tolist() == [100, 100, 100]


def test_apply_mask_keeps_fourth_channel_and_rejects_wrong_shape():
    image = np.zeros((3, 3, 4), dtype=np.float32)
    image[..., 3] = 7
    visualize.apply_mask(image, np.ones((3, 3), bool), (0.0, 1.0, 0.0, 0.8), alpha=1.0)
    # alpha 1: the colour itself, 0 * 0 + 1 * (0, 1, 0) * 255; the RGBA colour's alpha unused.
    assert image[1, 1].tolist() == [0.0, 255.0, 0.0, 7.0]
    with pytest.raises(ValueError, match="mask"):
        visualize.apply_mask(image, np.ones((2, 3)), RED)


# --------------------------------------------------------------------- display_instances

def test_display_instances_colours_mask_pixels(tmp_path, capsys):
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    masks = square_masks((64, 64), [(16, 16, 48, 48)])
    path = tmp_path / "instances.png"
    fig = visualize.display_instances(image, np.array([[16, 16, 48, 48]]), masks,
                                      np.array([1]), CLASS_NAMES, scores=np.array([0.9]),
                                      figsize=(4, 4), colors=[RED], save_path=path)
    assert isinstance(fig, Figure) and not plt.fignum_exists(fig.number)  # saved and closed
    # Inside the mask: 0 * 0.5 + 0.5 * 1.0 * 255 = 127.5 -> 127 red; outside stays black.
    assert png_pixel(fig, path, 36, 40) == (127, 0, 0)
    assert png_pixel(fig, path, 4, 4) == (0, 0, 0)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["one 0.900"]
    box = [p for p in ax.patches if isinstance(p, Rectangle)][0]
    assert box.get_bbox().bounds == (16, 16, 32, 32)  # x, y, width, height
    assert "No instances" not in capsys.readouterr().out


def test_display_instances_outline_of_mask_touching_border():
    # A mask on rows/cols 0..9 touches the top and left border. The padded contour lies
    # halfway between pixels: from -0.5 (outside pixel 0) to 9.5 (between pixels 9 and 10).
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    masks = square_masks((32, 32), [(0, 0, 10, 10)])
    fig, ax = plt.subplots(figsize=(2, 2))
    returned = visualize.display_instances(image, np.array([[0, 0, 10, 10]]), masks, [2],
                                           CLASS_NAMES, ax=ax, colors=[GREEN])
    assert returned is fig and plt.fignum_exists(fig.number)  # caller's figure stays open
    polygons = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(polygons) == 1
    verts = polygons[0].get_xy()
    assert verts.min(axis=0).tolist() == [-0.5, -0.5]
    assert verts.max(axis=0).tolist() == [9.5, 9.5]
    assert [t.get_text() for t in ax.texts] == ["two"]


def test_display_instances_without_instances_saves_plain_image(tmp_path, capsys):
    image = np.full((64, 64, 3), 200, dtype=np.uint8)
    path = tmp_path / "empty.png"
    empty = (np.zeros((0, 4), np.int32), np.zeros((64, 64, 0), bool), np.zeros(0, np.int32))
    fig = visualize.display_instances(image, *empty, CLASS_NAMES, figsize=(3, 3),
                                      save_path=path)
    assert capsys.readouterr().out == ""  # saving: the caller reports (mrcnn detect does)
    assert png_pixel(fig, path, 32, 32) == (200, 200, 200)
    assert fig.axes[0].get_legend() is None and len(fig.axes[0].texts) == 0
    visualize.display_instances(image, *empty, CLASS_NAMES, figsize=(3, 3))
    assert capsys.readouterr().out == "*** No instances to display ***\n"
    # Plain lists work too (detect() returns arrays, notebooks sometimes pass lists).
    fig = visualize.display_instances(image, [], [], [], CLASS_NAMES, figsize=(3, 3),
                                      save_path=tmp_path / "empty_lists.png")
    assert png_pixel(fig, tmp_path / "empty_lists.png", 10, 50) == (200, 200, 200)


def test_display_instances_grayscale_crowd_and_padding():
    # A [H, W] image is shown as RGB; a negative (crowd) id is named after -id; an all-zero
    # box is padding: no caption, no patch.
    image = np.zeros((32, 32), dtype=np.uint8)
    masks = square_masks((32, 32), [(4, 4, 12, 12), (0, 0, 0, 0)])
    boxes = np.array([[4, 4, 12, 12], [0, 0, 0, 0]])
    fig = visualize.display_instances(image, boxes, masks, [-1, 0], CLASS_NAMES,
                                      figsize=(2, 2))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["one (crowd)"]
    assert ax.images[0].get_array().shape == (32, 32, 3)


def test_display_instances_rejects_mismatched_inputs():
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    boxes = np.array([[1, 1, 5, 5], [6, 6, 9, 9]])
    masks = square_masks((16, 16), [(1, 1, 5, 5), (6, 6, 9, 9)])
    with pytest.raises(ValueError, match="masks"):
        visualize.display_instances(image, boxes, masks[..., :1], [1, 2], CLASS_NAMES)
    with pytest.raises(ValueError, match="class_ids"):
        visualize.display_instances(image, boxes, masks, [1], CLASS_NAMES)
    with pytest.raises(ValueError, match="class_ids holds id 5"):
        visualize.display_instances(image, boxes, masks, [1, 5], CLASS_NAMES)
    with pytest.raises(ValueError, match="image"):
        visualize.display_instances(np.zeros((16, 16, 2)), boxes, masks, [1, 2], CLASS_NAMES)


def test_show_only_on_interactive_backend(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(1))
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    args = (image, np.zeros((0, 4)), np.zeros((8, 8, 0)), np.zeros(0), CLASS_NAMES)
    from mrcnn.visualization import common
    assert not common._interactive_backend()  # Agg
    visualize.display_instances(*args, figsize=(1, 1))
    assert shown == []
    monkeypatch.setattr(common, "_interactive_backend", lambda: True)
    visualize.display_instances(*args, figsize=(1, 1))
    assert shown == [1]
    visualize.display_instances(*args, figsize=(1, 1), save_path=os.devnull)
    assert shown == [1]  # saving replaces showing


# ------------------------------------------------------------------- display_differences

def test_display_differences_captions_follow_score_order(tmp_path):
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    gt_box = np.array([[8, 8, 24, 24]])
    # Prediction A (score 0.3) covers the gt exactly; B (0.9) covers nothing. They are given
    # out of score order: captions must pair each score with its own IoU.
    pred_box = np.array([[8, 8, 24, 24], [40, 40, 56, 56]])
    path = tmp_path / "differences.png"
    fig = visualize.display_differences(
        image, gt_box, np.array([1]), square_masks((64, 64), gt_box),
        pred_box, np.array([1, 1]), np.array([0.3, 0.9]), square_masks((64, 64), pred_box),
        CLASS_NAMES, save_path=path)
    # The gt's empty captions draw no label.
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.90 / 0.00", "0.30 / 1.00"]
    assert fig.axes[0].get_legend() is None  # explicit colours: no class legend
    # gt green first: (0, 127, 0); then A red over it: R 0 * 0.5 + 127.5 -> 127,
    # G 127 * 0.5 = 63.5 -> 63, B 0.
    assert png_pixel(fig, path, 18, 21) == (127, 63, 0)
    assert png_pixel(fig, path, 44, 53) == (127, 0, 0)  # B only: 0.5 * 255 -> 127 red
    assert png_pixel(fig, path, 4, 60) == (0, 0, 0)


def test_display_differences_without_gt():
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    pred_box = np.array([[2, 2, 8, 8]])
    fig = visualize.display_differences(
        image, np.zeros((0, 4)), np.zeros(0, np.int32), np.zeros((16, 16, 0), bool),
        pred_box, np.array([2]), np.array([0.8]), square_masks((16, 16), pred_box),
        CLASS_NAMES)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.80 / 0.00"]


# ------------------------------------------------------------------------ ROIs and boxes

def test_draw_rois_masks_positive_rois_only(tmp_path, capsys):
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    rois = np.array([[8, 8, 24, 24], [40, 40, 56, 56]])
    path = tmp_path / "rois.png"
    np.random.seed(0)
    fig = visualize.draw_rois(image, rois, rois, np.ones((2, 7, 7)), np.array([1, 0]),
                              CLASS_NAMES, save_path=path)
    np.random.seed(0)
    color = np.random.rand(3)  # the first ROI's colour, drawn the same way
    # Positive ROI: its all-ones mask fills the ROI: 0 * 0.5 + 0.5 * color * 255, truncated.
    assert png_pixel(fig, path, 20, 21) == tuple(np.floor(0.5 * color * 255).astype(int))
    assert png_pixel(fig, path, 48, 52) == (0, 0, 0)  # negative ROI: outline only
    assert fig.axes[0].get_title() == "2 ROIs"
    out = capsys.readouterr().out
    assert "Positive ROIs:  1" in out and "Negative ROIs:  1" in out
    assert "Positive Ratio: 0.50" in out


def test_draw_rois_limit_and_no_rois(capsys):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    rois = np.array([[1, 1, 5, 5]] * 5)
    fig = visualize.draw_rois(image, rois, rois, np.ones((5, 4, 4)), np.zeros(5, int),
                              CLASS_NAMES, limit=2)
    assert fig.axes[0].get_title() == "Showing 2 random ROIs out of 5"
    fig = visualize.draw_rois(image, np.zeros((0, 4)), np.zeros((0, 4)), np.zeros((0, 4, 4)),
                              np.zeros(0, int), CLASS_NAMES)
    assert fig.axes[0].get_title() == "0 ROIs"
    assert "Positive Ratio: 0.00" in capsys.readouterr().out


def grid(rows):
    """Bool array from strings: 'R' marks a pixel drawn in the box colour."""
    return np.array([[c == "R" for c in row] for row in rows])


def test_draw_box_by_hand():
    image = np.zeros((8, 10, 3), dtype=np.uint8)
    result = visualize.draw_box(image, (1, 2, 5, 7), (255, 0, 0))
    assert result is image
    # Lines 2 px wide on rows 1-2 (top) and 5-6 (bottom), columns 2-3 (left) and 7-8 (right);
    # the bottom line also covers the bottom-right corner (columns 7-8).
    expected = grid(["..........",
                     "..RRRRRRR.",
                     "..RRRRRRR.",
                     "..RR...RR.",
                     "..RR...RR.",
                     "..RRRRRRR.",
                     "..RRRRRRR.",
                     ".........."])
    assert np.array_equal(image[..., 0] == 255, expected)
    assert not image[..., 1:].any()


def test_draw_box_clips_negative_coordinates():
    image = np.zeros((5, 5, 3), dtype=np.uint8)
    visualize.draw_box(image, (-1, -1, 3, 3), (9, 9, 9))
    # Clipped to (0, 0, 3, 3): top rows 0-1 cols 0-2, bottom rows 3-4 cols 0-4,
    # left rows 0-2 cols 0-1, right rows 0-2 cols 3-4.
    expected = grid(["RRRRR",
                     "RRRRR",
                     "RR.RR",
                     "RRRRR",
                     "RRRRR"])
    assert np.array_equal(image[..., 0] == 9, expected)


def test_draw_boxes_masks_refinements_and_visibility(tmp_path):
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    boxes = np.array([[8, 8, 24, 24], [40, 40, 56, 56]])
    masks = square_masks((64, 64), boxes)
    path = tmp_path / "boxes.png"
    fig = visualize.draw_boxes(image, boxes=boxes, refined_boxes=boxes + 1, masks=masks,
                               captions=["a", "b"], visibilities=[0, 2], title="t",
                               save_path=path)
    # Visibility 0 draws gray: matplotlib "gray" is 128/255, 0.5 * 128/255 * 255 = 64.
    assert png_pixel(fig, path, 20, 20) == (64, 64, 64)
    assert png_pixel(fig, path, 52, 52) != (0, 0, 0)  # the second mask, random colour
    assert png_pixel(fig, path, 32, 32) == (0, 0, 0)
    ax = fig.axes[0]
    assert ax.get_title() == "t" and [t.get_text() for t in ax.texts] == ["a", "b"]
    assert len(ax.lines) == 1  # only the visible refinement is linked to its box
    with pytest.raises(ValueError, match="boxes or refined_boxes"):
        visualize.draw_boxes(image)
    with pytest.raises(ValueError, match="visibilities"):
        visualize.draw_boxes(image, boxes=boxes, visibilities=[0, 3])


def test_draw_boxes_refined_only_and_empty():
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    fig = visualize.draw_boxes(image, refined_boxes=np.array([[2.0, 3.0, 9.0, 12.0]]),
                               captions=["r"])
    ax = fig.axes[0]
    rectangle = [p for p in ax.patches if isinstance(p, Rectangle)][0]
    assert rectangle.get_bbox().bounds == (3, 2, 9, 7)  # x, y, width 12 - 3, height 9 - 2
    # The caption's background sits on the refined box's top edge, from its left corner.
    fig.canvas.draw()
    label = ax.texts[0].get_bbox_patch().get_window_extent()
    corner_x, corner_y = ax.transData.transform((3, 2))
    assert label.x0 == pytest.approx(corner_x, abs=0.5)
    assert label.y0 == pytest.approx(corner_y, abs=0.5)
    fig = visualize.draw_boxes(image, boxes=np.zeros((0, 4)))
    assert len(fig.axes[0].patches) == 0


# ------------------------------------------------------------- image grids and metrics

def test_display_images_grid_and_titles(tmp_path):
    images = [np.full((8, 8, 3), 10 * i, dtype=np.uint8) for i in range(5)]
    path = tmp_path / "grid.png"
    fig = visualize.display_images(images, titles=list("abcde"), cols=4, save_path=path)
    assert [ax.get_title() for ax in fig.axes] == list("abcde")
    assert fig.axes[0].get_subplotspec().get_geometry()[:2] == (2, 4)
    assert png_pixel(fig, path, 3.5, 3.5, axes=4) == (40, 40, 40)
    # 4 images in 4 columns: one row (Matterport made an empty second row).
    fig = visualize.display_images(images[:4], cols=4)
    assert fig.axes[0].get_subplotspec().get_geometry()[:2] == (1, 4)
    assert visualize.display_images([]).axes == []
    with pytest.raises(ValueError, match="titles"):
        visualize.display_images(images, titles=["a"])


def test_display_top_masks_orders_classes_by_area(tmp_path):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    # Class 1: one 6x6 instance (area 36). Class 2: 10x10 + 2x2 (area 100 + 4 = 104).
    masks = square_masks((32, 32), [(0, 0, 6, 6), (10, 10, 20, 20), (25, 25, 27, 27)])
    path = tmp_path / "top.png"
    fig = visualize.display_top_masks(image, masks, np.array([1, 2, 2]), CLASS_NAMES,
                                      save_path=path)
    assert os.path.getsize(path) > 0
    assert [ax.get_title() for ax in fig.axes] == ["H x W=32x32", "two", "one", "-", "-"]
    # The class panel labels its instances 1..k: the 10x10 square is 1, the 2x2 one is 2.
    panel = np.asarray(fig.axes[1].images[0].get_array())
    assert panel[15, 15] == 1 and panel[26, 26] == 2 and panel[2, 2] == 0
    fig = visualize.display_top_masks(image, np.zeros((32, 32, 0)), np.zeros(0, int),
                                      CLASS_NAMES, limit=2)
    assert [ax.get_title() for ax in fig.axes] == ["H x W=32x32", "-", "-"]


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


# --------------------------------------------------------------------- tables and weights

def test_display_table_plain_text(capsys):
    visualize.display_table([["A", "BB"], ["CCC", 4]])
    # Columns padded to their widest cell (3 and 2) and joined by two spaces.
    assert capsys.readouterr().out == "A    BB\nCCC  4\n"


def fake_ipython(monkeypatch, shell):
    shown = []
    display = types.ModuleType("IPython.display")
    display.HTML = lambda html: ("HTML", html)
    display.display = shown.append
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return shown


def test_display_table_html_in_a_kernel(monkeypatch, capsys):
    shown = fake_ipython(monkeypatch, types.SimpleNamespace(kernel=object()))
    visualize.display_table([["a", 1]])
    cell = "<td>{}</td>".format
    assert shown == [("HTML", "<table><tr>" + cell("a" + " " * 39) + cell("1" + " " * 39)
                      + "</tr></table>")]
    assert capsys.readouterr().out == ""
    # A terminal IPython shell has no kernel: plain text there.
    shown = fake_ipython(monkeypatch, types.SimpleNamespace())
    visualize.display_table([["a", 1]])
    assert shown == [] and capsys.readouterr().out == "a  1\n"


@pytest.fixture(scope="module")
def tiny_inference_model(tmp_path_factory):
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config
    return MaskRCNN("inference", tiny_config(), tmp_path_factory.mktemp("logs"))


def test_display_weight_stats_on_maskrcnn(tiny_inference_model, capsys):
    model = tiny_inference_model
    table = visualize.display_weight_stats(model)
    assert table[0] == ["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"]
    assert "WEIGHT NAME" in capsys.readouterr().out
    rows = {row[0]: row for row in table[1:]}
    # Every variable once, nested rpn_model and TimeDistributed heads included.
    assert len(table) - 1 == len(model.keras_model.weights)
    kernel = model.keras_model.get_layer("conv1").kernel.numpy()
    assert rows["conv1/kernel"] == ["conv1/kernel", "(7, 7, 3, 64)",
                                    "{:+9.4f}".format(kernel.min()),
                                    "{:+10.4f}".format(kernel.max()),
                                    "{:+9.4f}".format(kernel.std())]
    assert "rpn_conv_shared/kernel" in rows
    # Fresh weights: Conv2D biases start at 0 and are not flagged; BN gamma starts at 1
    # (min == max) and is flagged, as in Matterport.
    assert rows["conv1/bias"][2:4] == ["  +0.0000", "   +0.0000"]
    assert "bn_conv1/gamma *** dead?" in rows
    assert any(name.startswith("mrcnn_class_conv1/") and name.endswith("/bias")
               for name in rows)


def test_display_weight_stats_flags_overflow(capsys):
    import keras
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="d")(inputs))
    model.get_layer("d").set_weights([np.array([[5000.0], [-1.0]]), np.array([2.0])])
    table = visualize.display_weight_stats(model)
    assert [row[0] for row in table[1:]] == ["d/kernel *** Overflow?", "d/bias *** dead?"]
    assert table[1][2:] == ["  -1.0000", "+5000.0000", "+2500.5000"]  # std of (5000, -1)


# ------------------------------------------------------------------------ training curves

def write_scalars(folder, tag_values, start_step=0):
    import tensorflow as tf
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for tag, values in tag_values.items():
            for step, value in enumerate(values, start=start_step):
                tf.summary.scalar(tag, value, step=step)
    writer.close()


def test_save_training_curves(tmp_path):
    write_scalars(tmp_path / "train", {"epoch_loss": [3.0, 2.0, 1.5],
                                       "epoch_rpn_class_loss": [0.5, 0.25, 0.125],
                                       "epoch_learning_rate": [0.001] * 3})
    write_scalars(tmp_path / "validation", {"epoch_loss": [3.5, 2.5, 2.0]})
    # A resumed run rewrites epoch 2 and adds epoch 3: the latest value of a step wins.
    write_scalars(tmp_path / "train", {"epoch_loss": [1.25, 1.0]}, start_step=2)
    path = tmp_path / "curves.png"
    fig = visualize.save_training_curves(tmp_path, save_path=path)
    assert os.path.getsize(path) > 0 and not plt.fignum_exists(fig.number)
    titled = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert sorted(titled) == ["epoch_loss", "epoch_rpn_class_loss"]  # not the learning rate
    loss = {line.get_label(): line for line in titled["epoch_loss"].lines}
    assert sorted(loss) == ["train", "validation"]
    assert list(loss["train"].get_xdata()) == [0, 1, 2, 3]
    assert list(loss["train"].get_ydata()) == [3.0, 2.0, 1.25, 1.0]
    assert list(loss["validation"].get_ydata()) == [3.5, 2.5, 2.0]
    rpn = titled["epoch_rpn_class_loss"].lines
    assert [line.get_label() for line in rpn] == ["train"]
    assert list(rpn[0].get_ydata()) == [0.5, 0.25, 0.125]


def test_save_training_curves_errors(tmp_path):
    missing = tmp_path / "no_such_run"
    with pytest.raises(FileNotFoundError, match="no_such_run"):
        visualize.save_training_curves(missing)
    (tmp_path / "train").mkdir()
    with pytest.raises(FileNotFoundError, match="log_dir"):
        visualize.save_training_curves(tmp_path)
    write_scalars(tmp_path / "train", {"epoch_learning_rate": [0.1]})
    with pytest.raises(ValueError, match="loss"):
        visualize.save_training_curves(tmp_path)
