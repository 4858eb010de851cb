"""Matterport's ``mrcnn.visualize``: drawing images, instances, ROIs, metrics and weight stats.

Same function names, arguments, defaults and drawing as Matterport's module, plus:

- Headless use: ``plt.show()`` is only called where Matterport called it, and only when the
  matplotlib backend is interactive (never under Agg). Importing this module has no side
  effects: no ``sys.path`` edits, no ``matplotlib.use()``, no TensorFlow, no IPython.
- Every plotting function takes a keyword ``save_path=None`` (last in the signature): when
  given, the figure is written there as PNG and, if the function created it, closed. Plotting
  functions return the matplotlib Figure; ``apply_mask`` and ``draw_box`` return the image.
- ``random_colors(N, bright=True, seed=None)``: a seed gives a reproducible order.
- ``save_training_curves(log_dir, save_path=None)`` plots the loss curves that
  ``keras.callbacks.TensorBoard`` wrote under ``log_dir``.
- Zero instances (N == 0) still draw and save the plain image.

Glossary:
    image       [height, width, 3] RGB, values 0..255 (any numeric dtype; [H, W] and
                [H, W, 1] grayscale images are repeated to 3 channels for display).
    boxes       [N, (y1, x1, y2, x2)] pixel boxes, y2/x2 exclusive (extract_bboxes); all-zero
                rows are padding and are not drawn.
    masks       [height, width, N] bool or 0/1, instances last (pixel value 1 is foreground).
    class_ids   [N] int; class 0 is background, negative ids mark crowds (shown as the class
                name of -id followed by " (crowd)").
    color       an (r, g, b) or (r, g, b, a) tuple of floats in [0, 1] (random_colors).
"""
import colorsys
import itertools
import os
import random
import sys

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import lines, patches
from matplotlib.patches import Polygon
from skimage.measure import find_contours

from mrcnn.core.masks import unmold_mask
from mrcnn.core.metrics import compute_matches

__all__ = [
    "random_colors", "apply_mask", "display_images", "display_instances", "display_differences",
    "draw_rois", "draw_box", "display_top_masks", "plot_precision_recall", "plot_overlaps",
    "draw_boxes", "display_table", "display_weight_stats", "save_training_curves",
]

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

def display_images(images, titles=None, cols=4, cmap=None, norm=None,
                   interpolation=None, save_path=None):
    """Display the given set of images, optionally with titles.

    images: list or array of image tensors in HWC format (or [H, W] for a colour map).
    titles: optional. A list of titles to display with each image.
    cols: number of images per row
    cmap: Optional. Color map to use. For example, "Blues".
    norm: Optional. A Normalize instance to map values to colors.
    interpolation: Optional. Image interpolation to use for display.
    save_path: Optional. Write the figure there as PNG and close it.

    Returns: the matplotlib Figure. Fix over Matterport: the grid has ceil(len / cols) rows
    (Matterport added an empty row when len was a multiple of cols); no images give an empty
    figure.
    """
    titles = titles if titles is not None else [""] * len(images)
    _check_length(titles, len(images), "titles", "images")
    rows = max(1, -(-len(images) // cols))
    fig = plt.figure(figsize=(14, max(1, 14 * rows // cols)))
    for i, (image, title) in enumerate(zip(images, titles)):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        ax.imshow(np.asarray(image).astype(np.uint8), cmap=cmap,
                  norm=norm, interpolation=interpolation)
    return _finish(fig, save_path, own_figure=True, show=True)


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
    blended = image[:, :, :3] * (1 - alpha) + alpha * rgb * 255
    image[:, :, :3] = np.where((mask == 1)[..., None], blended, image[:, :, :3])
    return image


def display_instances(image, boxes, masks, class_ids, class_names,
                      scores=None, title="",
                      figsize=(16, 16), ax=None,
                      show_mask=True, show_bbox=True,
                      colors=None, captions=None, save_path=None):
    """Draw instances (boxes, masks, outlines and captions) over an image.

    image: [height, width, 3] RGB.
    boxes: [num_instance, (y1, x1, y2, x2, class_id)] in image coordinates.
    masks: [height, width, num_instances]
    class_ids: [num_instances]
    class_names: list of class names of the dataset
    scores: (optional) confidence scores for each box
    title: (optional) Figure title
    show_mask, show_bbox: To show masks and bounding boxes or not
    figsize: (optional) the size of the image
    ax: (optional) Matplotlib axis to draw on; without it a figure is created and shown
        (interactive backends only).
    colors: (optional) An array or colors to use with each object
    captions: (optional) A list of strings to use as captions for each object
    save_path: (optional) Write the figure there as PNG (and close it if it was created here).

    Returns: the matplotlib Figure. With no instances it prints "No instances to display" and
    still draws the image. Fixes over Matterport: `colors` may be a NumPy array; mismatched
    lengths or unknown class ids raise a ValueError naming the argument.
    """
    image = _as_image(image)
    boxes = _as_boxes(boxes, "boxes")
    # Number of instances
    N = boxes.shape[0]
    if not N:
        print("\n*** No instances to display *** \n")
    masks = _as_masks(masks, N, image.shape, "masks")
    class_ids = np.asarray(class_ids).reshape(-1)
    _check_length(class_ids, N, "class_ids")
    _check_length(scores, N, "scores")
    _check_length(captions, N, "captions")
    if colors is not None and len(colors) and len(colors) < N:
        raise ValueError("colors has {} entries for {} boxes".format(len(colors), N))
    labels = _class_labels(class_ids, class_names) if not captions else None

    # If no axis is passed, create one and automatically call show()
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(1, figsize=figsize)
    fig = ax.figure

    # Generate random colors
    colors = colors if colors is not None and len(colors) else random_colors(N)

    # Show area outside image boundaries.
    height, width = image.shape[:2]
    ax.set_ylim(height + 10, -10)
    ax.set_xlim(-10, width + 10)
    ax.axis("off")
    ax.set_title(title)

    masked_image = image[:, :, :3].astype(np.uint32).copy()
    for i in range(N):
        color = colors[i]

        # Bounding box
        if not np.any(boxes[i]):
            # Skip this instance. Has no bbox. Likely lost in image cropping.
            continue
        y1, x1, y2, x2 = boxes[i][:4]
        if show_bbox:
            p = patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2,
                                  alpha=0.7, linestyle="dashed",
                                  edgecolor=color, facecolor="none")
            ax.add_patch(p)

        # Label
        if not captions:
            score = scores[i] if scores is not None else None
            caption = "{} {:.3f}".format(labels[i], score) if score else labels[i]
        else:
            caption = captions[i]
        ax.text(x1, y1 + 8, caption, color="w", size=11, backgroundcolor="none")

        # Mask and its outline
        mask = masks[:, :, i]
        if show_mask:
            masked_image = apply_mask(masked_image, mask, color)
        _draw_mask_outline(ax, mask, color)
    ax.imshow(masked_image.astype(np.uint8))
    return _finish(fig, save_path, own_figure, show=own_figure)


def display_differences(image,
                        gt_box, gt_class_id, gt_mask,
                        pred_box, pred_class_id, pred_score, pred_mask,
                        class_names, title="", ax=None,
                        show_mask=True, show_box=True,
                        iou_threshold=0.5, score_threshold=0.5, save_path=None):
    """Display ground truth and prediction instances on the same image.

    Ground truth is green, predictions red; each prediction's caption is "score / IoU" (the IoU
    with its matched gt, else its best IoU with any gt). Matching is compute_matches() with
    `iou_threshold` and `score_threshold`.

    gt_box: [N, 4], gt_class_id: [N], gt_mask: [height, width, N]; all-zero boxes are padding.
    pred_box: [M, 4], pred_class_id: [M], pred_score: [M], pred_mask: [height, width, M].
    save_path: (optional) Write the figure there as PNG.

    Returns: the matplotlib Figure. Fixes over Matterport: captions belong to the right
    prediction when predictions are not sorted by score (compute_matches sorts them; they are
    drawn in that order here), padding rows are dropped from all arrays alike, and no gt gives
    IoU 0 instead of a crash.
    """
    image = _as_image(image)
    gt_box, pred_box = _as_boxes(gt_box, "gt_box"), _as_boxes(pred_box, "pred_box")
    gt_mask = _as_masks(gt_mask, gt_box.shape[0], image.shape, "gt_mask")
    pred_mask = _as_masks(pred_mask, pred_box.shape[0], image.shape, "pred_mask")
    gt_class_id, pred_class_id = np.asarray(gt_class_id), np.asarray(pred_class_id)
    pred_score = np.asarray(pred_score, dtype=np.float64)
    _check_length(gt_class_id, gt_box.shape[0], "gt_class_id")
    _check_length(pred_class_id, pred_box.shape[0], "pred_class_id")
    _check_length(pred_score, pred_box.shape[0], "pred_score")
    # Drop padding (all-zero boxes) everywhere, as compute_matches drops it from the boxes.
    keep = np.any(gt_box != 0, axis=1)
    gt_box, gt_class_id, gt_mask = gt_box[keep], gt_class_id[keep], gt_mask[..., keep]
    keep = np.any(pred_box != 0, axis=1)
    pred_box, pred_class_id = pred_box[keep], pred_class_id[keep]
    pred_score, pred_mask = pred_score[keep], pred_mask[..., keep]

    # Match predictions to ground truth
    gt_match, pred_match, overlaps = compute_matches(
        gt_box, gt_class_id, gt_mask,
        pred_box, pred_class_id, pred_score, pred_mask,
        iou_threshold=iou_threshold, score_threshold=score_threshold)
    # compute_matches' results index the predictions in this order.
    order = np.argsort(pred_score)[::-1]
    pred_box, pred_class_id = pred_box[order], pred_class_id[order]
    pred_score, pred_mask = pred_score[order], pred_mask[..., order]

    # Ground truth = green. Predictions = red
    colors = [(0, 1, 0, .8)] * len(gt_match) + [(1, 0, 0, 1)] * len(pred_match)
    # Concatenate GT and predictions
    class_ids = np.concatenate([gt_class_id, pred_class_id])
    scores = np.concatenate([np.zeros([len(gt_match)]), pred_score])
    boxes = np.concatenate([gt_box[:, :4], pred_box[:, :4]])
    masks = np.concatenate([gt_mask, pred_mask], axis=-1)
    # Captions per instance show score/IoU
    rows = np.arange(len(pred_match))
    if overlaps.shape[1]:
        matched = overlaps[rows, np.maximum(pred_match, 0).astype(np.int64)]
        iou = np.where(pred_match > -1, matched, overlaps.max(axis=1))
    else:
        iou = np.zeros(len(pred_match))
    captions = [""] * len(gt_match) + ["{:.2f} / {:.2f}".format(s, o)
                                       for s, o in zip(pred_score, iou)]
    # Set title if not provided
    title = title or "Ground Truth and Detections\n GT=green, pred=red, captions: score/IoU"
    # Display
    return display_instances(
        image,
        boxes, masks, class_ids,
        class_names, scores, ax=ax,
        show_bbox=show_box, show_mask=show_mask,
        colors=colors, captions=captions,
        title=title, save_path=save_path)


def draw_rois(image, rois, refined_rois, mask, class_ids, class_names, limit=10,
              save_path=None):
    """Draw ROIs, their refinements and masks (at most `limit`, picked at random).

    rois: [n, (y1, x1, y2, x2)] ROIs (e.g. anchors or proposals) in image coordinates.
    refined_rois: [n, 4] the same ROIs refined to fit objects better.
    mask: [n, mask_height, mask_width] float network masks, one per ROI (e.g. 28x28),
        pasted into its ROI with unmold_mask().
    class_ids: [n] int; 0 (background) ROIs are drawn gray, without refinement or mask.
    save_path: (optional) Write the figure there as PNG and close it.

    Prints the number of positive and negative ROIs. Returns: the matplotlib Figure.
    Fix over Matterport: zero ROIs give a positive ratio of 0 instead of ZeroDivisionError.
    """
    image = _as_image(image)
    rois = _as_boxes(rois, "rois")
    refined_rois = _as_boxes(refined_rois, "refined_rois")
    class_ids = np.asarray(class_ids).reshape(-1)
    _check_length(class_ids, rois.shape[0], "class_ids", "rois")
    _check_length(refined_rois, rois.shape[0], "refined_rois", "rois")
    masked_image = image.copy()

    # Pick random anchors in case there are too many.
    ids = np.arange(rois.shape[0], dtype=np.int32)
    ids = np.random.choice(ids, limit, replace=False) if ids.shape[0] > limit else ids

    fig, ax = plt.subplots(1, figsize=(12, 12))
    if rois.shape[0] > limit:
        ax.set_title("Showing {} random ROIs out of {}".format(len(ids), rois.shape[0]))
    else:
        ax.set_title("{} ROIs".format(len(ids)))

    # Show area outside image boundaries.
    ax.set_ylim(image.shape[0] + 20, -20)
    ax.set_xlim(-50, image.shape[1] + 20)
    ax.axis("off")

    for i in ids:
        color = np.random.rand(3)
        class_id = class_ids[i]
        # ROI
        y1, x1, y2, x2 = rois[i][:4]
        p = patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2,
                              edgecolor=color if class_id else "gray",
                              facecolor="none", linestyle="dashed")
        ax.add_patch(p)
        # Refined ROI
        if class_id:
            ry1, rx1, ry2, rx2 = refined_rois[i][:4]
            p = patches.Rectangle((rx1, ry1), rx2 - rx1, ry2 - ry1, linewidth=2,
                                  edgecolor=color, facecolor="none")
            ax.add_patch(p)
            # Connect the top-left corners of the anchor and proposal for easy visualization
            ax.add_line(lines.Line2D([x1, rx1], [y1, ry1], color=color))

            # Label
            label = class_names[class_id]
            ax.text(rx1, ry1 + 8, "{}".format(label), color="w", size=11,
                    backgroundcolor="none")

            # Mask
            m = unmold_mask(mask[i], rois[i][:4].astype(np.int32), image.shape)
            masked_image = apply_mask(masked_image, m, color)

    ax.imshow(masked_image[:, :, :3].astype(np.uint8))

    # Print stats
    positives = int(np.sum(class_ids > 0))
    print("Positive ROIs: ", positives)
    print("Negative ROIs: ", int(np.sum(class_ids == 0)))
    print("Positive Ratio: {:.2f}".format(positives / max(class_ids.shape[0], 1)))
    return _finish(fig, save_path, own_figure=True)


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


def display_top_masks(image, mask, class_ids, class_names, limit=4, save_path=None):
    """Display the given image and the masks of its `limit` largest classes.

    mask: [height, width, N]; class_ids: [N]. Each class panel labels its instances 1..k.
    Classes are ordered by total mask area (largest first, ties in class id order); missing
    panels are titled "-". save_path: (optional) Write the figure there as PNG.

    Returns: the matplotlib Figure (see display_images).
    """
    image = _as_image(image)
    class_ids = np.asarray(class_ids).reshape(-1)
    mask = _as_masks(mask, class_ids.shape[0], image.shape, "mask")
    to_display = [image]
    titles = ["H x W={}x{}".format(image.shape[0], image.shape[1])]
    # Pick top prominent classes in this image
    unique_class_ids, instance_class = np.unique(class_ids, return_inverse=True)
    mask_area = np.bincount(instance_class.reshape(-1), weights=mask.sum(axis=(0, 1)),
                            minlength=len(unique_class_ids))
    by_area = np.argsort(-mask_area, kind="stable")
    top_ids = unique_class_ids[by_area][mask_area[by_area] > 0]
    # Generate images and titles
    for i in range(limit):
        class_id = top_ids[i] if i < len(top_ids) else -1
        # Pull masks of instances belonging to the same class.
        m = mask[:, :, np.where(class_ids == class_id)[0]]
        m = np.sum(m * np.arange(1, m.shape[-1] + 1), -1)
        to_display.append(m)
        titles.append(class_names[class_id] if class_id != -1 else "-")
    return display_images(to_display, titles=titles, cols=limit + 1, cmap="Blues_r",
                          save_path=save_path)


def plot_precision_recall(AP, precisions, recalls, save_path=None):
    """Draw the precision-recall curve.

    AP: Average precision at IoU >= 0.5
    precisions: list of precision values
    recalls: list of recall values
    save_path: (optional) Write the figure there as PNG and close it.

    Returns: the matplotlib Figure.
    """
    fig, ax = plt.subplots(1)
    ax.set_title("Precision-Recall Curve. AP@50 = {:.3f}".format(AP))
    ax.set_ylim(0, 1.1)
    ax.set_xlim(0, 1.1)
    ax.plot(recalls, precisions)
    return _finish(fig, save_path, own_figure=True)


def plot_overlaps(gt_class_ids, pred_class_ids, pred_scores,
                  overlaps, class_names, threshold=0.5, save_path=None):
    """Draw a grid showing how ground truth objects are classified.

    gt_class_ids: [N] int. Ground truth class IDs (zeros are padding and are dropped)
    pred_class_ids: [M] int. Predicted class IDs (zeros are padding and are dropped)
    pred_scores: [M] float. The probability scores of predicted classes
    overlaps: [pred_boxes, gt_boxes] IoU overlaps of predictions and GT boxes.
    class_names: list of all class names in the dataset
    threshold: Float. The IoU above which a cell reads "match" (same class) or "wrong".
    save_path: (optional) Write the figure there as PNG and close it.

    Returns: the matplotlib Figure. Fixes over Matterport: scores are dropped with their padded
    class ids, an empty grid no longer crashes, and a shape mismatch raises a ValueError.
    """
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    pred_class_ids = np.asarray(pred_class_ids).reshape(-1)
    pred_scores = np.asarray(pred_scores).reshape(-1)
    overlaps = np.asarray(overlaps, dtype=np.float64)
    if pred_scores.shape == pred_class_ids.shape:
        pred_scores = pred_scores[pred_class_ids != 0]
    gt_class_ids = gt_class_ids[gt_class_ids != 0]
    pred_class_ids = pred_class_ids[pred_class_ids != 0]
    if overlaps.size == 0:
        overlaps = overlaps.reshape(len(pred_class_ids), len(gt_class_ids))
    if overlaps.shape != (len(pred_class_ids), len(gt_class_ids)):
        raise ValueError("overlaps must have shape [predictions, gt] = [{}, {}], got shape {}"
                         .format(len(pred_class_ids), len(gt_class_ids), overlaps.shape))
    _check_length(pred_scores, len(pred_class_ids), "pred_scores", "predictions")

    fig, ax = plt.subplots(figsize=(12, 10))
    if overlaps.size:
        ax.imshow(overlaps, interpolation="nearest", cmap=plt.cm.Blues)
    ax.set_yticks(np.arange(len(pred_class_ids)),
                  ["{} ({:.2f})".format(class_names[int(id)], pred_scores[i])
                   for i, id in enumerate(pred_class_ids)])
    ax.set_xticks(np.arange(len(gt_class_ids)),
                  [class_names[int(id)] for id in gt_class_ids], rotation=90)

    thresh = overlaps.max() / 2. if overlaps.size else 0.
    for i, j in itertools.product(range(overlaps.shape[0]), range(overlaps.shape[1])):
        text = ""
        if overlaps[i, j] > threshold:
            text = "match" if gt_class_ids[j] == pred_class_ids[i] else "wrong"
        color = ("white" if overlaps[i, j] > thresh
                 else "black" if overlaps[i, j] > 0
                 else "grey")
        ax.text(j, i, "{:.3f}\n{}".format(overlaps[i, j], text),
                horizontalalignment="center", verticalalignment="center",
                fontsize=9, color=color)

    fig.tight_layout()
    ax.set_xlabel("Ground Truth")
    ax.set_ylabel("Predictions")
    return _finish(fig, save_path, own_figure=True)


def draw_boxes(image, boxes=None, refined_boxes=None,
               masks=None, captions=None, visibilities=None,
               title="", ax=None, save_path=None):
    """Draw bounding boxes and segmentation masks with different customizations.

    boxes: [N, (y1, x1, y2, x2, class_id)] in image coordinates.
    refined_boxes: Like boxes, but draw with solid lines to show
        that they're the result of refining 'boxes'.
    masks: [height, width, N] (instances last, as display_instances; Matterport's docstring
        said [N, height, width] but its code indexed masks[:, :, i]).
    captions: List of N titles to display on each box
    visibilities: (optional) List of values of 0, 1, or 2. Determine how
        prominent each bounding box should be (0: gray dotted, 1: dotted, 2: solid).
    title: An optional title to show over the image
    ax: (optional) Matplotlib axis to draw on.
    save_path: (optional) Write the figure there as PNG (and close it if it was created here).

    Returns: the matplotlib Figure. Fixes over Matterport: a mask of visibility 0 is drawn gray
    (the colour name "gray" crashed apply_mask), and bad visibilities, missing boxes or wrong
    lengths raise a ValueError.
    """
    if boxes is None and refined_boxes is None:
        raise ValueError("draw_boxes needs boxes or refined_boxes")
    image = _as_image(image)
    boxes = _as_boxes(boxes, "boxes") if boxes is not None else None
    refined_boxes = (_as_boxes(refined_boxes, "refined_boxes")
                     if refined_boxes is not None else None)
    # Number of boxes
    N = boxes.shape[0] if boxes is not None else refined_boxes.shape[0]
    _check_length(refined_boxes, N, "refined_boxes")
    _check_length(captions, N, "captions")
    _check_length(visibilities, N, "visibilities")
    if visibilities is not None and not np.isin(visibilities, [0, 1, 2]).all():
        raise ValueError("visibilities must be 0, 1 or 2, got {}".format(list(visibilities)))
    if masks is not None:
        masks = _as_masks(masks, N, image.shape, "masks")

    # Matplotlib Axis
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(1, figsize=(12, 12))
    fig = ax.figure

    # Generate random colors
    colors = random_colors(N)
    gray = matplotlib.colors.to_rgb("gray")

    # Show area outside image boundaries.
    margin = image.shape[0] // 10
    ax.set_ylim(image.shape[0] + margin, -margin)
    ax.set_xlim(-margin, image.shape[1] + margin)
    ax.axis("off")

    ax.set_title(title)

    masked_image = image[:, :, :3].astype(np.uint32).copy()
    for i in range(N):
        # Box visibility
        visibility = visibilities[i] if visibilities is not None else 1
        if visibility == 0:
            color, style, alpha = gray, "dotted", 0.5
        elif visibility == 1:
            color, style, alpha = colors[i], "dotted", 1
        else:
            color, style, alpha = colors[i], "solid", 1

        # Boxes
        if boxes is not None:
            if not np.any(boxes[i]):
                # Skip this instance. Has no bbox. Likely lost in cropping.
                continue
            y1, x1, y2, x2 = boxes[i][:4]
            p = patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2,
                                  alpha=alpha, linestyle=style,
                                  edgecolor=color, facecolor="none")
            ax.add_patch(p)

        # Refined boxes
        if refined_boxes is not None and visibility > 0:
            ry1, rx1, ry2, rx2 = refined_boxes[i][:4].astype(np.int32)
            p = patches.Rectangle((rx1, ry1), rx2 - rx1, ry2 - ry1, linewidth=2,
                                  edgecolor=color, facecolor="none")
            ax.add_patch(p)
            # Connect the top-left corners of the anchor and proposal
            if boxes is not None:
                ax.add_line(lines.Line2D([x1, rx1], [y1, ry1], color=color))

        # Captions
        if captions is not None:
            caption = captions[i]
            # If there are refined boxes, display captions on them
            if refined_boxes is not None:
                y1, x1 = refined_boxes[i][:2].astype(np.int32)
            ax.text(x1, y1, caption, size=11, verticalalignment="top",
                    color="w", backgroundcolor="none",
                    bbox={"facecolor": color, "alpha": 0.5,
                          "pad": 2, "edgecolor": "none"})

        # Masks
        if masks is not None:
            mask = masks[:, :, i]
            masked_image = apply_mask(masked_image, mask, color)
            _draw_mask_outline(ax, mask, color)
    ax.imshow(masked_image.astype(np.uint8))
    return _finish(fig, save_path, own_figure)


def display_table(table):
    """Display values in a table format.

    table: an iterable of rows, and each row is an iterable of values.

    In a Jupyter-like IPython kernel the table is shown as HTML (Matterport's); elsewhere
    (scripts, terminals, no IPython installed) it is printed as aligned plain text. IPython is
    never imported here: a kernel has imported it already.
    """
    rows = [[str(col) for col in row] for row in table]
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if getattr(shell, "kernel", None) is not None:
        import IPython.display
        html = "".join("<tr>" + "".join("<td>{:40}</td>".format(col) for col in row) + "</tr>"
                       for row in rows)
        IPython.display.display(IPython.display.HTML("<table>" + html + "</table>"))
        return
    widths = [max(len(row[k]) for row in rows if k < len(row))
              for k in range(max((len(row) for row in rows), default=0))]
    print("\n".join("  ".join(col.ljust(width) for col, width in zip(row, widths)).rstrip()
                    for row in rows))


def display_weight_stats(model):
    """Scans all the weights in the model and displays (display_table) and returns a table
    with their name, shape, min, max and standard deviation.

    model: a MaskRCNN (its keras_model is scanned; a keras.Model works too). Layers nested in
        sub-models (rpn_model) and TimeDistributed wrappers are scanned too; names are the
        Keras 3 variable paths (e.g. "conv1/kernel").

    Weights whose min equals max are flagged "*** dead?" (except Conv2D biases, which start
    at zero), weights beyond +-1000 "*** Overflow?" (Matterport's flags, as plain text).

    Returns: list of rows, the first one ["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"].
    """
    keras_model = getattr(model, "keras_model", model)
    table = [["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"]]
    for layer in _layers_with_weights(keras_model):
        layer_class = type(getattr(layer, "layer", layer)).__name__
        for variable in layer.weights:
            w = np.asarray(variable.numpy())
            name = getattr(variable, "path", variable.name)
            if w.size == 0:
                table.append([name, str(w.shape), "", "", ""])
                continue
            # Detect problematic layers. Exclude biases of conv layers.
            alert = ""
            if w.min() == w.max() and not (layer_class == "Conv2D"
                                           and variable.name.split(":")[0] == "bias"):
                alert += " *** dead?"
            if np.abs(w.min()) > 1000 or np.abs(w.max()) > 1000:
                alert += " *** Overflow?"
            table.append([
                name + alert,
                str(w.shape),
                "{:+9.4f}".format(w.min()),
                "{:+10.4f}".format(w.max()),
                "{:+9.4f}".format(w.std()),
            ])
    display_table(table)
    return table


def _layers_with_weights(keras_model):
    """The layers of `keras_model` that hold weights, nested models flattened."""
    found = []
    for layer in keras_model.layers:
        if hasattr(layer, "layers") and not hasattr(layer, "layer"):
            found.extend(_layers_with_weights(layer))
        elif layer.weights:
            found.append(layer)
    return found


############################################################
#  Training curves
############################################################

def save_training_curves(log_dir, save_path=None):
    """Plots the loss curves TensorBoard event files under `log_dir` hold, one panel per tag.

    log_dir: a training log folder (MaskRCNN.log_dir); keras.callbacks.TensorBoard writes
        event files (events.out.tfevents.*) into its train/ and validation/ subfolders. Every
        folder holding event files is a split, named by its path relative to log_dir.
    save_path: (optional) Write the figure there as PNG and close it.

    Every scalar whose tag ends with "loss" (e.g. "epoch_loss", "epoch_rpn_class_loss") is
    drawn against its step, one line per split. A step written twice (a resumed run) keeps its
    latest value; a truncated file (training still running) is read up to the damage.

    Returns: the matplotlib Figure. Raises FileNotFoundError naming log_dir when it holds no
    event files, ValueError when they hold no loss scalar.
    """
    log_dir = os.fspath(log_dir)
    event_files = sorted(os.path.join(folder, name)
                         for folder, _, names in os.walk(log_dir)
                         for name in names if name.startswith("events.out.tfevents"))
    if not event_files:
        raise FileNotFoundError("No TensorBoard event files (events.out.tfevents.*) under "
                                "log_dir {!r}".format(log_dir))
    curves = _read_loss_scalars(event_files, log_dir)
    if not curves:
        raise ValueError("The event files under log_dir {!r} hold no scalar whose tag ends "
                         "with 'loss'".format(log_dir))

    tags = sorted(curves)
    cols = min(3, len(tags))
    rows = -(-len(tags) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.5 * rows), squeeze=False)
    for ax, tag in zip(axes.flat, tags):
        for split in sorted(curves[tag]):
            points = np.array(sorted(curves[tag][split]))  # [n, (wall_time, step, value)]
            steps = points[:, 1]
            # Last written value of each step, in step order.
            _, last_reversed = np.unique(steps[::-1], return_index=True)
            last = len(steps) - 1 - last_reversed
            ax.plot(steps[last], points[last, 2], marker="o", markersize=3, label=split)
        ax.set_title(tag)
        ax.set_xlabel("epoch" if tag.startswith("epoch_") else "step")
        ax.legend()
    for ax in axes.flat[len(tags):]:
        ax.axis("off")
    fig.tight_layout()
    return _finish(fig, save_path, own_figure=True)


def _read_loss_scalars(event_files, log_dir):
    """{tag: {split: [(wall_time, step, value)]}} for scalar tags ending with "loss"."""
    import tensorflow as tf

    curves = {}
    for path in event_files:
        split = os.path.relpath(os.path.dirname(path), log_dir)
        if split == os.curdir:
            split = os.path.basename(os.path.normpath(log_dir))
        try:
            for event in tf.compat.v1.train.summary_iterator(path):
                for value in event.summary.value:
                    if not value.tag.endswith("loss"):
                        continue
                    if value.HasField("simple_value"):
                        number = value.simple_value
                    elif value.HasField("tensor") and not value.tensor.tensor_shape.dim:
                        number = float(tf.make_ndarray(value.tensor))
                    else:
                        continue
                    curves.setdefault(value.tag, {}).setdefault(split, []).append(
                        (event.wall_time, event.step, number))
        except tf.errors.DataLossError:
            pass  # a file still being written ends mid-record
    return curves
