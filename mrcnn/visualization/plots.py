"""Metric plots: precision/recall curves and the overlap matrix."""
import itertools

import matplotlib.pyplot as plt
import numpy as np

from mrcnn.visualization.common import _check_length, _finish


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
