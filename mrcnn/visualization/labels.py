"""Labels that read on any image, class colours and the legend of classes.

Labels are text on a background box of the instance's colour (black or white text, whichever
reads better), placed by the instance's box (above its top-left corner where there is room),
kept inside the axes' visible area and moved so that they do not overlap the labels placed
before them (greedy, in drawing order; in a crowd where no spot is free, the least overlap).
Placement is computed for the figure's size and layout at drawing time.

Glossary: see :mod:`mrcnn.visualize`.
"""
import colorsys
import itertools

import numpy as np
from matplotlib.patches import Patch
from matplotlib.transforms import Bbox

LABEL_SIZE = 11
"""Font size of labels, in points (Matterport's caption size)."""
_PAD = 0.25   # background margin around the text, as a fraction of the font size
_GAP = 1.0    # pixels kept free between two labels
_GOLDEN = (5 ** 0.5 - 1) / 2


def class_color(class_id):
    """The fixed colour (r, g, b) of a class id, the same in every picture: bright (HSV value
    1, saturation 1) with hue ((id - 1) * 0.618...) mod 1: class 1 red, 2 blue, 3 yellow-green,
    4 magenta..., neighbouring ids far apart. A crowd (negative id) takes its class's colour."""
    return colorsys.hsv_to_rgb(((abs(int(class_id)) - 1) * _GOLDEN) % 1.0, 1.0, 1.0)


def text_color(background):
    """"black" or "white", whichever reads better on `background` (r, g, b[, a]) in [0, 1]
    (black from a luma 0.299 r + 0.587 g + 0.114 b above 0.5)."""
    r, g, b = (float(v) for v in np.asarray(background, dtype=np.float64).reshape(-1)[:3])
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def draw_labels(ax, boxes, texts, colors, size=LABEL_SIZE):
    """Draws texts[i] on a box of colors[i] by boxes[i] (y1, x1, y2, x2, data coordinates).

    Empty texts are skipped. The axes' layout (limits, position, aspect) must be final.
    Returns: the list of matplotlib Text artists, in drawing order.
    """
    ax.apply_aspect()
    bounds = ax.transData.transform(ax.viewLim.get_points())
    bounds = Bbox([bounds.min(axis=0), bounds.max(axis=0)])
    pad_px = _PAD * size * ax.figure.dpi / 72
    to_data = ax.transData.inverted()
    placed, artists = np.zeros((0, 4)), []
    for box, text, color in zip(boxes, texts, colors):
        if not text:
            continue
        rgb = tuple(np.asarray(color, dtype=np.float64).reshape(-1)[:3])
        artist = ax.text(0, 0, text, size=size, color=text_color(rgb), ha="left", va="bottom",
                         clip_on=True,
                         bbox={"boxstyle": "square,pad={}".format(_PAD),
                               "facecolor": rgb + (0.8,), "edgecolor": "none"})
        extent = artist.get_window_extent()
        width, height = extent.width + 2 * pad_px, extent.height + 2 * pad_px
        label = _place(_box_corners(ax, box), width, height, bounds, placed)
        placed = np.vstack([placed, label.extents])
        artist.set_position(to_data.transform((label.x0 + pad_px, label.y0 + pad_px)))
        artists.append(artist)
    return artists


def draw_class_legend(ax, class_ids, class_names, size=LABEL_SIZE):
    """Adds a legend of the classes in `class_ids` (crowds count as their class), one entry
    per class in class id order, coloured by class_color; none when there are no classes.
    Returns: the Legend, or None."""
    present = sorted({abs(int(i)) for i in np.asarray(class_ids).reshape(-1)})
    if not present:
        return None
    handles = [Patch(facecolor=class_color(i), edgecolor="none", label=class_names[i])
               for i in present]
    return ax.legend(handles=handles, loc="best", fontsize=size, framealpha=0.8)


def _box_corners(ax, box):
    """(left, bottom, right, top) of the data box (y1, x1, y2, x2) in display pixels."""
    y1, x1, y2, x2 = (float(v) for v in np.asarray(box).reshape(-1)[:4])
    corners = ax.transData.transform([(x1, y1), (x2, y2)])
    (left, bottom), (right, top) = corners.min(axis=0), corners.max(axis=0)
    return left, bottom, right, top


def _place(corners, width, height, bounds, placed):
    """The Bbox (display pixels) of a label of `width` x `height` for an instance box with
    display `corners`, given the `placed` labels [K, (x0, y0, x1, y1)]: the first spot that
    keeps clear of them among: above, inside at the top, below and inside at the bottom of the
    box, aligned with its left then its right edge, each moved inside `bounds`; then the two
    spots above the box slid down, then up, past the labels they hit. Where none is free, the
    spot tried that covers the least area of placed labels."""
    left, bottom, right, top = corners
    spots = [_inside(x, y, width, height, bounds)
             for x in (left, right - width)
             for y in (top, top - height, bottom - height, bottom)]
    slides = (_slide(spot, step, placed, bounds) for spot in spots[::4] for step in (-1, 1))
    best, best_area = spots[0], float("inf")
    for spot in itertools.chain(spots, *slides):
        if not _near(spot, placed).any():
            return spot
        area = _overlap_area(spot, placed)
        if area < best_area:
            best, best_area = spot, area
    return best


def _slide(spot, step, placed, bounds):
    """Yields `spot` moved down (step -1) or up (step 1) just past the placed labels it hits,
    again and again, while it stays inside `bounds`."""
    while True:
        hit = placed[_near(spot, placed)]
        if not len(hit):
            return
        y = hit[:, 1].min() - _GAP - spot.height if step < 0 else hit[:, 3].max() + _GAP
        if y < bounds.y0 or y + spot.height > bounds.y1:
            return
        spot = Bbox.from_bounds(spot.x0, y, spot.width, spot.height)
        yield spot


def _inside(x, y, width, height, bounds):
    """The Bbox of lower-left (x, y) moved inside `bounds` (to its left/bottom edge when it is
    larger)."""
    x = max(bounds.x0, min(x, bounds.x1 - width))
    y = max(bounds.y0, min(y, bounds.y1 - height))
    return Bbox.from_bounds(x, y, width, height)


def _near(spot, placed):
    """[K] bool: which of the `placed` labels [K, (x0, y0, x1, y1)] the Bbox `spot` comes
    closer to than _GAP pixels."""
    return ((spot.x0 < placed[:, 2] + _GAP) & (placed[:, 0] < spot.x1 + _GAP)
            & (spot.y0 < placed[:, 3] + _GAP) & (placed[:, 1] < spot.y1 + _GAP))


def _overlap_area(spot, placed):
    """The summed area of the intersections of the Bbox `spot` with the `placed` labels."""
    width = np.minimum(spot.x1, placed[:, 2]) - np.maximum(spot.x0, placed[:, 0])
    height = np.minimum(spot.y1, placed[:, 3]) - np.maximum(spot.y0, placed[:, 1])
    return float(np.sum(np.maximum(width, 0) * np.maximum(height, 0)))
