"""Instances on images: display_instances, display_differences, draw_rois, draw_boxes,
display_top_masks, display_images.

Glossary: see :mod:`mrcnn.visualize`.
"""
import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import lines, patches
from matplotlib.font_manager import FontProperties

from mrcnn.core.masks import unmold_mask
from mrcnn.core.metrics import compute_matches
from mrcnn.visualization.common import (
    _as_boxes,
    _as_image,
    _as_masks,
    _check_length,
    _class_labels,
    _draw_mask_outline,
    _finish,
    apply_mask,
    random_colors,
)
from mrcnn.visualization.labels import class_color, draw_class_legend, draw_labels


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


def display_instances(image, boxes, masks, class_ids, class_names,
                      scores=None, title="",
                      figsize=(16, 16), ax=None,
                      show_mask=True, show_bbox=True,
                      colors=None, captions=None, save_path=None, color_by="class"):
    """Draw instances (boxes, masks, outlines and labels) over an image.

    image: [height, width, 3] RGB.
    boxes: [num_instance, (y1, x1, y2, x2, class_id)] in image coordinates.
    masks: [height, width, num_instances]
    class_ids: [num_instances]
    class_names: list of class names of the dataset
    scores: (optional) confidence scores for each box
    title: (optional) Figure title
    show_mask, show_bbox: To show masks and bounding boxes or not
    figsize: (optional) the largest size of the figure created here, in inches: the figure
        takes the image's aspect within it (plus a strip for the title), and the image fills it.
    ax: (optional) Matplotlib axis to draw on; without it a figure is created and shown
        (interactive backends only).
    colors: (optional) An array or colors to use with each object (wins over color_by)
    captions: (optional) A list of strings to use as captions for each object ("" for none)
    save_path: (optional) Write the figure there as PNG (and close it if it was created here).
    color_by: "class" (default): one fixed colour per class (labels.class_color) and a legend
        of the classes shown; "instance": a colour per instance (random_colors, Matterport's
        look), no legend.

    Labels (class name and score, or the caption) are drawn on a background of their colour,
    inside the image, moved so that they do not overlap (see mrcnn.visualization.labels).

    Returns: the matplotlib Figure. With no instances it still draws the image, and prints
    "*** No instances to display ***" unless save_path is given (a caller that saves reports
    itself, as `mrcnn detect` does). Fixes over Matterport: `colors` may be a NumPy array;
    mismatched lengths, unknown class ids or color_by raise a ValueError naming the argument.
    """
    image = _as_image(image)
    boxes = _as_boxes(boxes, "boxes")
    # Number of instances
    N = boxes.shape[0]
    if not N and save_path is None:
        print("*** No instances to display ***")
    masks = _as_masks(masks, N, image.shape, "masks")
    class_ids = np.asarray(class_ids).reshape(-1)
    _check_length(class_ids, N, "class_ids")
    _check_length(scores, N, "scores")
    _check_length(captions, N, "captions")
    if colors is not None and len(colors) and len(colors) < N:
        raise ValueError("colors has {} entries for {} boxes".format(len(colors), N))
    if color_by not in ("class", "instance"):
        raise ValueError("color_by must be 'class' or 'instance', got {!r}".format(color_by))
    labels = _class_labels(class_ids, class_names) if not captions else None
    by_class = color_by == "class" and (colors is None or not len(colors))
    if colors is None or not len(colors):
        colors = ([class_color(i) for i in class_ids.tolist()] if by_class
                  else random_colors(N))

    own_figure = ax is None
    if own_figure:
        fig, ax = _image_axes(image.shape, figsize, title)
    else:
        fig = ax.figure
        ax.set_title(title)
    ax.axis("off")

    masked_image = image[:, :, :3].astype(np.uint32).copy()
    drawn = np.any(boxes[:, :4] != 0, axis=1)  # all-zero boxes: lost in cropping, not drawn
    keep = np.flatnonzero(drawn)
    for i in keep:
        color = colors[i]
        y1, x1, y2, x2 = boxes[i][:4]
        if show_bbox:
            p = patches.Rectangle((x1, y1), x2 - x1, y2 - y1, linewidth=2,
                                  alpha=0.7, linestyle="dashed",
                                  edgecolor=color, facecolor="none")
            ax.add_patch(p)
        # Mask and its outline
        mask = masks[:, :, i]
        if show_mask:
            masked_image = apply_mask(masked_image, mask, color)
        _draw_mask_outline(ax, mask, color)
    ax.imshow(masked_image.astype(np.uint8))
    height, width = image.shape[:2]
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)

    if captions:
        texts = list(captions)
    else:
        texts = ["{} {:.3f}".format(label, score) if score else label
                 for label, score in zip(labels, scores if scores is not None else [None] * N)]
    draw_labels(ax, boxes[keep], [texts[i] for i in keep], [colors[i] for i in keep])
    if by_class:
        draw_class_legend(ax, class_ids[drawn], class_names)
    return _finish(fig, save_path, own_figure, show=own_figure)


_TITLE_PAD = 4  # points between the image and its title, and above the title


def _image_axes(image_shape, figsize, title):
    """A new figure and axes that shows an image of `image_shape` edge to edge: the figure
    is the largest with the image's aspect within `figsize` (inches), plus a strip on top
    for the lines of `title` (set here)."""
    height, width = image_shape[:2]
    scale = min(figsize[0] / width, figsize[1] / height)
    strip = 0.0
    if title:
        size = FontProperties(size=plt.rcParams["axes.titlesize"]).get_size_in_points()
        strip = ((title.count("\n") + 1) * 1.2 * size + 2 * _TITLE_PAD) / 72
    fig = plt.figure(figsize=(width * scale, height * scale + strip))
    ax = fig.add_axes((0, 0, 1, height * scale / (height * scale + strip)))
    ax.set_title(title, pad=_TITLE_PAD)
    return fig, ax


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

    label_boxes, label_texts, label_colors = [], [], []
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

            # Label, drawn once the image is shown
            label_boxes.append(refined_rois[i][:4])
            label_texts.append("{}".format(class_names[class_id]))
            label_colors.append(color)

            # Mask
            m = unmold_mask(mask[i], rois[i][:4].astype(np.int32), image.shape)
            masked_image = apply_mask(masked_image, m, color)

    ax.imshow(masked_image[:, :, :3].astype(np.uint8))
    draw_labels(ax, label_boxes, label_texts, label_colors)

    # Print stats
    positives = int(np.sum(class_ids > 0))
    print("Positive ROIs: ", positives)
    print("Negative ROIs: ", int(np.sum(class_ids == 0)))
    print("Positive Ratio: {:.2f}".format(positives / max(class_ids.shape[0], 1)))
    return _finish(fig, save_path, own_figure=True)


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
    label_boxes, label_texts, label_colors = [], [], []
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

        # Captions, drawn once the image is shown; on the refined box if there is one
        if captions is not None:
            label_boxes.append(boxes[i] if refined_boxes is None else refined_boxes[i])
            label_texts.append(captions[i])
            label_colors.append(color)

        # Masks
        if masks is not None:
            mask = masks[:, :, i]
            masked_image = apply_mask(masked_image, mask, color)
            _draw_mask_outline(ax, mask, color)
    ax.imshow(masked_image.astype(np.uint8))
    draw_labels(ax, label_boxes, label_texts, label_colors)
    return _finish(fig, save_path, own_figure)
