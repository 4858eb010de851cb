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
- Readable pictures (mrcnn/visualization/labels.py): ``display_instances`` colours by class with
  a legend (``color_by="instance"``: Matterport's colour per instance), labels sit on a
  background inside the image and apart from each other, and a figure it creates takes the
  image's aspect with the image filling it.

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
from mrcnn.visualization.common import apply_mask, draw_box, random_colors
from mrcnn.visualization.curves import save_training_curves
from mrcnn.visualization.instances import (
    display_differences,
    display_images,
    display_instances,
    display_top_masks,
    draw_boxes,
    draw_rois,
)
from mrcnn.visualization.plots import plot_overlaps, plot_precision_recall
from mrcnn.visualization.tables import display_table, display_weight_stats

__all__ = [
    "random_colors", "apply_mask", "display_images", "display_instances", "display_differences",
    "draw_rois", "draw_box", "display_top_masks", "plot_precision_recall", "plot_overlaps",
    "draw_boxes", "display_table", "display_weight_stats", "save_training_curves",
]
