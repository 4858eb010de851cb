"""Helpers shared by the drawing modules: input checks, figure finishing, colours, masks.

Glossary: see :mod:`mrcnn.visualize`.
"""
import colorsys
import os
import random

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Polygon
from skimage.measure import find_contours

_CROWD_SUFFIX = " (crowd)"


############################################################
#  Helpers
############################################################


def _interactive_backend():
    """True when the current matplotlib backend can show windows (so plt.show() is useful)."""
    backend = matplotlib.get_backend().lower()
    try:
        from matplotlib.backends import BackendFilter, backend_registry
        non_interactive = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        non_interactive = matplotlib.rcsetup.non_interactive_bk
    return backend not in {name.lower() for name in non_interactive}


def _finish(fig, save_path, own_figure, show=False):
    """Saves `fig` as PNG to `save_path` (closing it if this module created it), or calls
    plt.show() where Matterport did (`show`) and the backend is interactive. Returns `fig`."""
    if save_path is not None:
        fig.savefig(os.fspath(save_path), format="png")
        if own_figure:
            plt.close(fig)
    elif show and _interactive_backend():
        plt.show()
    return fig


def _as_image(image, name="image"):
    """`image` as an array [height, width, channels >= 3]; grayscale is repeated to RGB."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] < 3:
        raise ValueError("{} must have shape [height, width, 3] (or [height, width] grayscale), "
                         "got shape {}".format(name, image.shape))
    return image


def _as_boxes(boxes, name):
    """`boxes` as an array [N, 4+]; an empty input gives shape [0, 4]."""
    boxes = np.asarray(boxes)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] < 4:
        raise ValueError("{} must have shape [N, (y1, x1, y2, x2)], got shape {}"
                         .format(name, boxes.shape))
    return boxes


def _as_masks(masks, count, image_shape, name):
    """`masks` as an array [height, width, count] matching the image, or a ValueError."""
    masks = np.asarray(masks)
    if count == 0 and masks.size == 0:
        return np.zeros(tuple(image_shape[:2]) + (0,), dtype=bool)
    if masks.ndim != 3 or masks.shape[:2] != tuple(image_shape[:2]) or masks.shape[2] != count:
        raise ValueError("{} must have shape [height, width, N] = [{}, {}, {}], got shape {}"
                         .format(name, image_shape[0], image_shape[1], count, masks.shape))
    return masks


def _check_length(values, count, name, what="boxes"):
    """Raises a ValueError unless `values` has `count` entries."""
    if values is not None and len(values) != count:
        raise ValueError("{} has {} entries for {} {}".format(name, len(values), count, what))


def _class_labels(class_ids, class_names, name="class_ids"):
    """Class names of `class_ids` [N]; negative ids (crowds) get " (crowd)" appended."""
    class_ids = np.asarray(class_ids).astype(np.int64).reshape(-1)
    bad = np.abs(class_ids) >= len(class_names)
    if bad.any():
        raise ValueError("{} holds id {} but class_names has only {} names"
                         .format(name, int(class_ids[bad][0]), len(class_names)))
    return [class_names[i] if i >= 0 else class_names[-i] + _CROWD_SUFFIX
            for i in class_ids.tolist()]


def _draw_mask_outline(ax, mask, color):
    """Adds the outline of `mask` [height, width] to `ax` as Polygons (x, y vertices).

    The mask is padded by one pixel so that masks touching the image border give closed
    polygons; the contour lies halfway between pixels (x = -0.5 for a mask touching the left
    border)."""
    padded_mask = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.uint8)
    padded_mask[1:-1, 1:-1] = mask
    for verts in find_contours(padded_mask, 0.5):
        # Subtract the padding and flip (y, x) to (x, y).
        verts = np.fliplr(verts) - 1
        ax.add_patch(Polygon(verts, facecolor="none", edgecolor=color))


############################################################
#  Visualization
############################################################


def random_colors(N, bright=True, seed=None):
    """Generate random colors.

    To get visually distinct colors, generate them in HSV space then convert to RGB: N hues
    i / N, saturation 1, value 1.0 (bright) or 0.7, in shuffled order.
    seed: Optional. Shuffle with random.Random(seed) instead of the global `random` state
        (Matterport's behaviour, kept when seed is None; random.seed(s) followed by
        random_colors(N) gives the same list as random_colors(N, seed=s)).

    Returns: list of N (r, g, b) tuples of floats in [0, 1].
    """
    brightness = 1.0 if bright else 0.7
    hsv = [(i / N, 1, brightness) for i in range(N)]
    colors = [colorsys.hsv_to_rgb(*c) for c in hsv]
    if seed is None:
        random.shuffle(colors)
    else:
        random.Random(seed).shuffle(colors)
    return colors


def apply_mask(image, mask, color, alpha=0.5):
    """Apply the given mask to the image, in place.

    image: [height, width, channels >= 3] array, modified in place (only channels 0..2).
    mask: [height, width]; pixels equal to 1 (or True) are blended.
    color: (r, g, b[, a]) floats in [0, 1]; only r, g, b are used.
    alpha: weight of the colour: pixel = pixel * (1 - alpha) + alpha * color * 255, cast back
        to the image dtype (integer images truncate, e.g. 127.5 -> 127).

    Returns: image (the same array).
    """
    mask = np.asarray(mask)
    if image.ndim != 3 or image.shape[-1] < 3:
        raise ValueError("image must have shape [height, width, 3], got shape {}"
                         .format(image.shape))
    if mask.shape != image.shape[:2]:
        raise ValueError("mask must have the image's shape {}, got shape {}"
                         .format(image.shape[:2], mask.shape))
    rgb = np.asarray(color, dtype=np.float64)[:3]
    rows, cols = np.nonzero(mask == 1)  # blend only these pixels (pictures with many masks)
    image[rows, cols, :3] = image[rows, cols, :3] * (1 - alpha) + alpha * rgb * 255
    return image


def draw_box(image, box, color):
    """Draw a bounding box with 2-pixel wide lines on the given image array, in place.

    image: [height, width, 3] array, modified in place.
    box: (y1, x1, y2, x2) pixel box, y2/x2 exclusive.
    color: list of 3 int values for RGB.

    The lines cover rows y1..y1+1 and y2..y2+1, columns x1..x1+1 and x2..x2+1 (Matterport's
    NumPy drawing). Fixes over Matterport: the bottom-right 2x2 corner is filled too, and
    coordinates are clipped to the image (negative ones used to wrap around).

    Returns: image (the same array).
    """
    image_height, image_width = image.shape[:2]
    y1, x1, y2, x2 = (int(v) for v in np.asarray(box).reshape(-1)[:4])
    y1, y2 = np.clip([y1, y2], 0, image_height)
    x1, x2 = np.clip([x1, x2], 0, image_width)
    image[y1:y1 + 2, x1:x2] = color
    image[y2:y2 + 2, x1:x2 + 2] = color
    image[y1:y2, x1:x1 + 2] = color
    image[y1:y2, x2:x2 + 2] = color
    return image
