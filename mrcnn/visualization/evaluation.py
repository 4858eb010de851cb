"""Pictures of an evaluation: per-class precision-recall curves, the confusion matrix, and an
image's ground truth beside its detections.

Figures are plain ``matplotlib.figure.Figure`` objects drawn on an Agg canvas, never pyplot's:
they open no window and need no backend choice, whatever backend the user's matplotlib has.
Glossary: see :mod:`mrcnn.visualize` (images, boxes, masks, class ids) and
:mod:`mrcnn.evaluation.errors` (the confusion matrix).
"""
import contextlib
import io
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mrcnn.visualization.common import random_colors
from mrcnn.visualization.instances import display_instances

__all__ = ["new_figure", "save_figure", "class_colors", "plot_class_precision_recall",
           "plot_confusion_matrix", "display_ground_truth_and_detections"]


def new_figure(figsize, layout="constrained"):
    """A Figure (width, height in inches) on its own Agg canvas, its axes placed by matplotlib's
    ``layout`` engine (titles and labels inside the picture)."""
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, save_path, dpi=100):
    """Write ``fig`` as PNG to ``save_path`` (its folder created); returns ``save_path``."""
    save_path = os.fspath(save_path)
    os.makedirs(os.path.dirname(os.path.abspath(save_path)), exist_ok=True)
    fig.savefig(save_path, format="png", dpi=dpi)
    return save_path


def class_colors(num_classes):
    """One bright colour per class id 0..num_classes - 1, the same on every call (a fixed seed),
    so that a class looks alike in every picture of a report."""
    return random_colors(max(num_classes, 1), seed=0)


def plot_class_precision_recall(recall, curves, titles, cols=4, save_path=None):
    """One panel per class: precision against recall, one line per curve.

    recall: [R] recall points (pycocotools' 0, 0.01, ... 1).
    curves: list of one dict per panel {label: precision [R]} (e.g. {"segm": ..., "bbox": ...});
        a curve of -1 values (no ground truth) is not drawn.
    titles: list of one str per panel.
    save_path: (optional) Write the figure there as PNG.
    Returns: the Figure.
    """
    if len(titles) != len(curves):
        raise ValueError(f"titles has {len(titles)} entries for {len(curves)} panels")
    recall = np.asarray(recall, dtype=np.float64)
    cols = max(1, min(cols, len(curves)))
    rows = max(1, -(-len(curves) // cols))
    fig = new_figure((3.2 * cols, 2.9 * rows))
    for k, (panel, title) in enumerate(zip(curves, titles)):
        ax = fig.add_subplot(rows, cols, k + 1)
        for n, (label, precision) in enumerate(panel.items()):
            precision = np.asarray(precision, dtype=np.float64)
            if precision.shape != recall.shape:
                raise ValueError(f"panel {title!r}: curve {label!r} has {precision.shape[0]} "
                                 f"points for {recall.shape[0]} recall points")
            if np.all(precision < 0):
                continue
            # Dashed after the first, so that equal curves both show.
            ax.plot(recall, np.maximum(precision, 0), label=label, linewidth=1.5,
                    linestyle="-" if n == 0 else "--")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylabel("precision", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_title(title, fontsize=9)
        if ax.lines:
            ax.legend(fontsize=7, loc="lower left")
    if save_path is not None:
        save_figure(fig, save_path)
    return fig


def plot_confusion_matrix(matrix, class_names, title="", save_path=None):
    """Draw a confusion matrix: rows ground truth, columns predictions, index 0 background.

    matrix: int [C, C] (:func:`mrcnn.evaluation.errors.confusion_matrix`).
    class_names: C names; the name of class 0 is shown as "background".
    Each cell shows its count; its shade is the count's share of its row (for the background
    row, of all hallucinated detections), so a row of a frequent class and one of a rare class
    read alike.
    save_path: (optional) Write the figure there as PNG.
    Returns: the Figure.
    """
    matrix = np.asarray(matrix)
    size = matrix.shape[0]
    if matrix.ndim != 2 or matrix.shape[1] != size or len(class_names) != size:
        raise ValueError(f"matrix must be [C, C] for the {len(class_names)} class_names, got "
                         f"shape {matrix.shape}")
    names = ["background"] + [str(n) for n in class_names[1:]]
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    side = min(2.5 + 0.55 * size, 40)
    fig = new_figure((side + 1.5, side))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fontsize = 9 if size <= 15 else 6
    for g in range(size):
        for p in range(size):
            if matrix[g, p] or 0 < g == p:
                ax.text(p, g, str(matrix[g, p]), ha="center", va="center", fontsize=fontsize,
                        color="white" if share[g, p] > 0.5 else "black")
    ax.set_xticks(np.arange(size), names, rotation=45 if size > 4 else 0, ha="right"
                  if size > 4 else "center", fontsize=fontsize)
    ax.set_yticks(np.arange(size), names, fontsize=fontsize)
    ax.set_xlabel("predicted class (background: missed)")
    ax.set_ylabel("ground-truth class (background: hallucinated)")
    ax.set_title(title)
    if save_path is not None:
        save_figure(fig, save_path)
    return fig


def display_ground_truth_and_detections(image, gt_boxes, gt_masks, gt_class_ids, pred_boxes,
                                        pred_masks, pred_class_ids, pred_scores, class_names,
                                        gt_captions=None, pred_captions=None, title="",
                                        width=10, save_path=None):
    """Ground truth (left) and detections (right) of one image, drawn by display_instances.

    gt_boxes [G, 4], gt_masks [H, W, G], gt_class_ids [G] (negative: crowds); pred_boxes [N, 4],
    pred_masks [H, W, N], pred_class_ids [N], pred_scores [N]. Colours are per class
    (:func:`class_colors`), alike on both sides.
    gt_captions, pred_captions: (optional) one str per instance (default: class names, and for
        detections the score).
    width: figure width in inches (the height follows the image's aspect ratio).
    save_path: (optional) Write the figure there as PNG.
    Returns: the Figure.
    """
    image = np.asarray(image)
    height, image_width = image.shape[:2]
    colors = class_colors(len(class_names))
    panel = width / 2
    # The axes take about 0.9 of a panel's width; the title row takes 0.5 inch.
    fig = new_figure((width, 0.9 * panel * (height + 20) / (image_width + 20) + 0.5))
    sides = (("ground truth", gt_boxes, gt_masks, gt_class_ids, None, gt_captions),
             ("detections", pred_boxes, pred_masks, pred_class_ids, pred_scores, pred_captions))
    for k, (name, boxes, masks, class_ids, scores, captions) in enumerate(sides):
        ax = fig.add_subplot(1, 2, k + 1)
        class_ids = np.asarray(class_ids).reshape(-1)
        # display_instances prints a line for an empty side; the picture says it already.
        with contextlib.redirect_stdout(io.StringIO()):
            display_instances(image, boxes, masks, class_ids, class_names, scores=scores,
                              title=f"{name} ({class_ids.shape[0]})", ax=ax,
                              colors=[colors[abs(int(c))] for c in class_ids],
                              captions=list(captions) if captions is not None else None)
        # display_instances writes white captions on the image; give them a dark ground so that
        # they read on bright pictures too and where they run past the image's edge.
        for text in ax.texts:
            text.set_bbox({"facecolor": "black", "alpha": 0.55, "pad": 1.5, "edgecolor": "none"})
            text.set_clip_on(False)
            text.set_in_layout(False)
            text.set_fontsize(9)
    if title:
        fig.suptitle(title, fontsize=10)
    if save_path is not None:
        save_figure(fig, save_path)
    return fig
