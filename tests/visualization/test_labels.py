"""Readable pictures (mrcnn/visualization/labels.py and display_instances): labels on a
background, inside the image, not overlapping; colours per class with a legend; the image
filling the figure. Geometry is measured with the Agg renderer after a draw."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from mrcnn import visualize
from mrcnn.visualization.labels import class_color, text_color

NAMES = ["BG", "cat", "dog", "bird"]


def masks_of(shape, boxes):
    masks = np.zeros(tuple(shape) + (len(boxes),), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        masks[y1:y2, x1:x2, i] = True
    return masks


def draw(boxes, class_ids, size=(128, 128), **kwargs):
    """display_instances on a black image; returns the drawn (Agg) figure and its axes."""
    image = np.zeros(size + (3,), dtype=np.uint8)
    boxes = np.array(boxes)
    kwargs.setdefault("figsize", (4, 4))
    fig = visualize.display_instances(image, boxes, masks_of(size, boxes), class_ids, NAMES,
                                      **kwargs)
    fig.canvas.draw()
    return fig, fig.axes[0]


def label_boxes(ax):
    """Display-pixel extents of the labels' background boxes."""
    return [t.get_bbox_patch().get_window_extent() for t in ax.texts]


def image_extent(ax, size):
    """(left, bottom, right, top) of the image's pixels in display pixels."""
    h, w = size
    (x0, y0), (x1, y1) = ax.transData.transform([(-0.5, -0.5), (w - 0.5, h - 0.5)])
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def inside(label, extent, tol=0.5):
    left, bottom, right, top = extent
    return (label.x0 >= left - tol and label.x1 <= right + tol
            and label.y0 >= bottom - tol and label.y1 <= top + tol)


def overlap(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def mask_colour(ax, y, x):
    """The drawn image's pixel (y, x) as ints."""
    return tuple(int(v) for v in np.asarray(ax.images[0].get_array())[y, x])


# ------------------------------------------------------------------------------- labels

def test_labels_at_image_edges_are_moved_inside():
    # Top-left, top-right (a long caption) and bottom-right corners: a label above the box
    # or right of the image edge would be cut off.
    boxes = [[0, 0, 20, 20], [0, 100, 20, 128], [108, 108, 128, 128]]
    fig, ax = draw(boxes, [1, 2, 3], captions=["top left", "a long top right caption", "br"])
    extent = image_extent(ax, (128, 128))
    labels = label_boxes(ax)
    assert len(labels) == 3
    assert all(inside(label, extent) for label in labels)
    # The top-right label ends at the image's right edge (moved left, not clipped) and at its
    # top edge (moved down into the box, since there is no room above it).
    assert labels[1].x1 == pytest.approx(extent[2], abs=0.5)
    assert labels[1].y1 == pytest.approx(extent[3], abs=0.5)
    # A label's background lies behind its whole text.
    for text, label in zip(ax.texts, labels):
        glyphs = text.get_window_extent()
        assert label.x0 < glyphs.x0 and glyphs.x1 < label.x1
        assert label.y0 < glyphs.y0 and glyphs.y1 < label.y1


def test_label_sits_on_top_of_its_box_when_there_is_room():
    fig, ax = draw([[60, 30, 90, 70]], [1], scores=[0.5])
    label, = label_boxes(ax)
    left, top = ax.transData.transform((30, 60))  # the box's top-left corner
    assert label.x0 == pytest.approx(left, abs=0.5)
    assert label.y0 == pytest.approx(top, abs=0.5)
    assert ax.texts[0].get_text() == "cat 0.500"


def test_labels_at_the_same_corner_do_not_overlap():
    # Four boxes sharing their top-left corner, two of them at the image's top edge.
    boxes = [[40, 40, 80, 80], [40, 40, 90, 100], [40, 40, 60, 60], [0, 0, 30, 30],
             [0, 0, 50, 40]]
    fig, ax = draw(boxes, [1, 2, 3, 1, 2], scores=[0.9, 0.8, 0.7, 0.6, 0.5])
    labels = label_boxes(ax)
    assert len(labels) == 5
    extent = image_extent(ax, (128, 128))
    assert all(inside(label, extent) for label in labels)
    for i in range(len(labels)):
        for j in range(i):
            assert not overlap(labels[i], labels[j]), (ax.texts[i].get_text(),
                                                       ax.texts[j].get_text())


def test_a_stack_of_labels_on_one_box_is_slid_apart():
    # Ten instances with the same box: the spots around the box hold four labels at most
    # (left and right aligned labels overlap on a box this narrow); the rest are slid down
    # and up past the labels placed before them.
    boxes = [[50, 50, 70, 80]] * 10
    fig, ax = draw(boxes, [1, 2] * 5, scores=np.linspace(0.9, 0.5, 10))
    labels = label_boxes(ax)
    assert len(labels) == 10
    extent = image_extent(ax, (128, 128))
    assert all(inside(label, extent) for label in labels)
    assert not any(overlap(labels[i], labels[j]) for i in range(10) for j in range(i))


def test_label_background_is_drawn_in_the_class_colour(tmp_path):
    # On a black image the label box's margin (left of the text) shows 0.8 * colour * 255.
    path = tmp_path / "label.png"
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    boxes = np.array([[30, 10, 50, 40]])
    fig = visualize.display_instances(image, boxes, masks_of((64, 64), boxes), [2], NAMES,
                                      figsize=(4, 4), show_mask=False, save_path=path)
    png = plt.imread(path)[..., :3]
    label = fig.axes[0].texts[0].get_bbox_patch().get_window_extent()
    glyphs = fig.axes[0].texts[0].get_window_extent()
    x = int((label.x0 + glyphs.x0) / 2)                 # in the margin, left of the text
    y = int(png.shape[0] - (label.y0 + label.y1) / 2)   # PNG rows count from the top
    colour = fig.axes[0].texts[0].get_bbox_patch().get_facecolor()
    assert colour[3] == 0.8
    expected = [0.8 * c * 255 for c in colour[:3]]
    assert np.abs(png[y, x] * 255 - expected).max() <= 1.5


def test_text_colour_contrasts_with_its_background():
    # Luma 0.299 r + 0.587 g + 0.114 b: yellow 0.886, cyan 0.701 -> black text;
    # blue 0.114, red 0.299, gray 0.5 (not above 0.5) -> white text.
    assert text_color((1, 1, 0)) == "black" and text_color((0, 1, 1, 0.5)) == "black"
    assert text_color((0, 0, 1)) == "white" and text_color((1, 0, 0)) == "white"
    assert text_color((0.5, 0.5, 0.5)) == "white"


def test_draw_boxes_and_draw_rois_use_the_same_labels():
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    boxes = np.array([[0, 40, 20, 64], [0, 40, 30, 64]])
    fig = visualize.draw_boxes(image, boxes=boxes, captions=["first caption", "second one"])
    fig.canvas.draw()
    ax = fig.axes[0]
    first, second = label_boxes(ax)
    view = ax.bbox  # the axes' visible area (draw_boxes shows a margin around the image)
    assert not overlap(first, second)
    assert all(view.x0 - 0.5 <= b.x0 and b.x1 <= view.x1 + 0.5 for b in (first, second))
    assert all(view.y0 - 0.5 <= b.y0 and b.y1 <= view.y1 + 0.5 for b in (first, second))
    rois = np.array([[10, 10, 30, 30], [10, 10, 30, 30]])
    np.random.seed(1)
    fig = visualize.draw_rois(image, rois, rois, np.ones((2, 4, 4)), np.array([1, 2]),
                              NAMES)
    fig.canvas.draw()
    first, second = label_boxes(fig.axes[0])
    assert [t.get_text() for t in fig.axes[0].texts] == ["cat", "dog"]
    assert not overlap(first, second)


# ------------------------------------------------------------------------------ colours

def test_colours_per_class_and_the_legend_of_classes_present():
    boxes = [[4, 4, 20, 20], [30, 30, 50, 50], [60, 60, 80, 80], [90, 90, 110, 110]]
    # cat, dog, cat, and a crowd of cats (-1): bird (3) is not present.
    fig, ax = draw(boxes, [1, 2, 1, -1])
    cat, dog, cat_again, crowd = (mask_colour(ax, y + 5, x + 5) for y, x, _, _ in boxes)
    assert cat == cat_again == crowd and cat != dog
    # Masks on black: 0.5 * colour * 255, truncated.
    backgrounds = [t.get_bbox_patch().get_facecolor()[:3] for t in ax.texts]
    assert cat == tuple(int(0.5 * c * 255) for c in backgrounds[0])
    assert backgrounds[0] == backgrounds[2] == backgrounds[3] != backgrounds[1]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["cat", "dog"]
    handles = [tuple(h.get_facecolor()[:3]) for h in legend.legend_handles]
    assert handles == [tuple(backgrounds[0]), tuple(backgrounds[1])]


def test_class_colour_is_fixed_golden_ratio_hue():
    # Hue (id - 1) * 0.618034 mod 1. Class 1: hue 0, red. Class 2: hue 0.618034 -> sector 3
    # of the HSV hexagon (hue * 6 = 3.708): r = 0, g = 1 - 0.708204 = 0.291796, b = 1.
    # Class 3: hue 0.236068 (* 6 = 1.416, sector 1): r = 1 - 0.416408 = 0.583592, g = 1, b = 0.
    assert class_color(1) == (1.0, 0.0, 0.0)
    assert class_color(2) == pytest.approx((0.0, 0.291796, 1.0), abs=1e-6)
    assert class_color(3) == pytest.approx((0.583592, 1.0, 0.0), abs=1e-6)
    assert class_color(-3) == class_color(3)
    assert len({class_color(i) for i in range(1, 81)}) == 80


def test_color_by_instance_and_explicit_colours():
    boxes = [[4, 4, 20, 20], [30, 30, 50, 50], [60, 60, 80, 80]]
    fig, ax = draw(boxes, [1, 1, 1], color_by="instance")
    colours = [mask_colour(ax, y + 5, x + 5) for y, x, _, _ in boxes]
    assert len(set(colours)) == 3
    assert ax.get_legend() is None  # colours do not name classes
    # Explicit colours win over color_by.
    fig, ax = draw(boxes, [1, 2, 3], colors=[(1, 0, 0), (1, 0, 0), (0, 0, 1)])
    assert [mask_colour(ax, y + 5, x + 5) for y, x, _, _ in boxes] == [
        (127, 0, 0), (127, 0, 0), (0, 0, 127)]
    assert ax.get_legend() is None
    with pytest.raises(ValueError, match="color_by"):
        draw(boxes, [1, 2, 3], color_by="classes")


# ------------------------------------------------------------------------------- layout

@pytest.mark.parametrize("size, inches", [((300, 400), (8, 6)), ((400, 300), (6, 8))])
def test_figure_follows_the_image_aspect_and_the_image_fills_it(size, inches):
    fig, ax = draw([[10, 10, 50, 50]], [1], size=size, figsize=(8, 8))
    assert fig.get_size_inches() == pytest.approx(inches)
    axes, figure = ax.get_window_extent(), fig.bbox
    assert axes.width * axes.height / (figure.width * figure.height) >= 0.999
    # No margin around the image inside the axes either.
    left, bottom, right, top = image_extent(ax, size)
    assert (left, bottom, right, top) == pytest.approx((axes.x0, axes.y0, axes.x1, axes.y1))


def test_title_gets_a_strip_and_the_image_still_fills_the_figure():
    # The command line's pictures: figsize (8, 8), a title, a 4:3 photo.
    fig, ax = draw([[10, 10, 50, 50]], [1], size=(300, 400), figsize=(8, 8),
                   title="photo.jpg")
    axes, figure = ax.get_window_extent(), fig.bbox
    assert axes.width * axes.height / (figure.width * figure.height) >= 0.95
    title = ax.title.get_window_extent()
    assert ax.get_title() == "photo.jpg"
    assert title.y0 >= axes.y1 and title.y1 <= figure.y1  # above the image, not cut off
    fig, ax = draw([[10, 10, 50, 50]], [1], title="two\nlines")
    title, figure = ax.title.get_window_extent(), fig.bbox
    assert title.y0 >= ax.get_window_extent().y1 and title.y1 <= figure.y1


def test_callers_axes_keep_their_figure():
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    boxes = np.array([[0, 20, 10, 32]])
    returned = visualize.display_instances(image, boxes, masks_of((32, 32), boxes), [3],
                                           NAMES, ax=axes[1], title="right")
    assert returned is fig and fig.get_size_inches() == pytest.approx((6, 3))
    fig.canvas.draw()
    label, = label_boxes(axes[1])
    assert inside(label, image_extent(axes[1], (32, 32)))
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["bird"]
