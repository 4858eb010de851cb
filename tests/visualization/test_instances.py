"""Tests of mrcnn/visualization/instances.py: instances, differences, ROIs, boxes, image grids
and top masks, drawn headless (Agg) and checked by the pixels of saved PNGs."""
import os

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from mrcnn import visualize

CLASS_NAMES = ["BG", "one", "two"]
RED, GREEN = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)


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


# ----------------------------------------------------------------- image grids and masks

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
