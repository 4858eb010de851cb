"""Instance masks: IoU, resizing with an image, mini-masks, and pasting network masks back.

Glossary:
    mask        [height, width, instances] bool (instances last); pixel value 1 is foreground.
    bbox        [instances, (y1, x1, y2, x2)] pixel boxes, y2/x2 exclusive (extract_bboxes).
    mini-mask   [mini_h, mini_w, instances] bool: each instance's box content resized to a small
                fixed shape (config.MINI_MASK_SHAPE) to save memory; expand_mask undoes it.
    network mask  [h, w] float in [0, 1] for one detection (e.g. 28x28 sigmoid output).
    mask crops  the instances of a mask without the full-size array: a list of N (y, x, content)
                with content bool [h, w] the instance's pixels inside its tight box
                (y, x, y + h, x + w), or None for an instance without pixels. Loaders that
                draw shapes give them (Dataset.load_mask_crops), so that the input pipeline
                never builds [height, width, N].

Resampling is Matterport's: scipy.ndimage.zoom(order=0) for resize_mask (so boxes computed
from resized masks match Matterport's), bilinear skimage resize + rounding for mini-masks, and
bilinear resize + threshold 0.5 for unmold_mask.
"""
import warnings

import numpy as np
import scipy.ndimage

from mrcnn.core.boxes import extract_bboxes
from mrcnn.core.images import resize

__all__ = ["compute_overlaps_masks", "resize_mask", "minimize_mask", "expand_mask",
           "unmold_mask", "mask_crops", "crop_from_pixels", "resize_and_minimize_masks",
           "resize_and_minimize_crops"]


def _as_masks(masks, name):
    """`masks` as an array [height, width, instances], or a ValueError naming `name`."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError("{} must have shape [height, width, instances], got shape {}"
                         .format(name, masks.shape))
    return masks


def _as_bbox(bbox, count, name="bbox"):
    """`bbox` as an int array [count, 4+], or a ValueError naming `name`."""
    bbox = np.asarray(bbox)
    if bbox.ndim != 2 or bbox.shape[1] < 4 or bbox.shape[0] != count:
        raise ValueError("{} must have shape [{}, 4] (one (y1, x1, y2, x2) row per instance), "
                         "got shape {}".format(name, count, bbox.shape))
    return bbox[:, :4].astype(np.int64)


def compute_overlaps_masks(masks1, masks2):
    """Computes IoU overlaps between two sets of masks.

    masks1: [height, width, N1]
    masks2: [height, width, N2] (same height and width)
    Pixels > 0.5 count as foreground.

    Returns: [N1, N2] IoU matrix (float32; float64 zeros when N1 or N2 is 0). Fixes over
    Matterport: the empty check looks at the instance counts (Matterport tested the height),
    and two empty masks give IoU 0 instead of NaN.
    """
    masks1 = _as_masks(masks1, "masks1")
    masks2 = _as_masks(masks2, "masks2")
    if masks1.shape[-1] == 0 or masks2.shape[-1] == 0:
        return np.zeros((masks1.shape[-1], masks2.shape[-1]))
    if masks1.shape[:2] != masks2.shape[:2]:
        raise ValueError("masks1 is {}x{} but masks2 is {}x{}; masks must share height and width"
                         .format(*masks1.shape[:2], *masks2.shape[:2]))
    # Flatten masks and compute their areas.
    masks1 = np.reshape(masks1 > .5, (-1, masks1.shape[-1])).astype(np.float32)
    masks2 = np.reshape(masks2 > .5, (-1, masks2.shape[-1])).astype(np.float32)
    area1 = np.sum(masks1, axis=0)
    area2 = np.sum(masks2, axis=0)
    intersections = np.dot(masks1.T, masks2)
    union = area1[:, None] + area2[None, :] - intersections
    overlaps = np.zeros_like(intersections)
    np.divide(intersections, union, out=overlaps, where=union > 0)
    return overlaps


def _zoomed_indices(size, scale):
    """The input index of each output position of scipy.ndimage.zoom(order=0) by ``scale``
    along an axis of ``size``: int [round(size * scale)], -1 where zoom's coordinate falls just
    outside the input and it writes its fill value 0 (it happens to the last row for some
    scales)."""
    # SciPy warns that the output shape is computed with round(); that is what we want.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scipy.ndimage.zoom(np.arange(1, size + 1, dtype=np.float64), scale, order=0,
                                  mode="constant", cval=0).astype(np.intp) - 1


def resize_mask(mask, scale, padding, crop=None):
    """Resizes a mask using the given scale and padding.

    Typically, you get the scale, padding and crop from resize_image() to ensure both, the
    image and the mask, are resized consistently.

    mask: [height, width, instances], any dtype (bool from load_mask).
    scale: mask scaling factor (nearest neighbour, scipy.ndimage.zoom(order=0) as Matterport;
        the new size is round(height * scale) x round(width * scale)).
    padding: Padding to add to the mask in the form [(top, bottom), (left, right), (0, 0)].
    crop: (y, x, height, width) to cut out after scaling, or None.

    Returns: the resized mask with the dtype of `mask`. The crop is applied first, then the
    padding (resize_image returns zero padding together with a crop, so this matches
    Matterport, which skipped the padding when a crop was given).
    """
    mask = _as_masks(mask, "mask")
    # Nearest-neighbour zoom is separable: the rows and columns scipy.ndimage.zoom(order=0)
    # picks are those it picks when zooming their indices, so the mask is gathered with them,
    # after the crop and with the padding (the same pixels as zooming the [H, W, N] array,
    # cropping and padding it, several times faster).
    rows, cols = _final_indices(mask.shape[:2], scale, padding, crop)
    mask = mask[np.maximum(rows, 0)[:, np.newaxis], np.maximum(cols, 0)[np.newaxis, :]]
    mask[rows < 0] = 0
    mask[:, cols < 0] = 0
    return mask


def _final_indices(shape, scale, padding, crop):
    """The input row and column of each pixel of resize_mask's output: zoom, then crop, then
    padding (int arrays, -1 where the output is 0: zoom's fill or padding)."""
    if len(padding) < 2:
        raise ValueError("padding must be [(top, bottom), (left, right), (0, 0)], got {!r}"
                         .format(padding))
    starts = (crop[0], crop[1]) if crop is not None else (None, None)
    sizes = (crop[2], crop[3]) if crop is not None else (None, None)
    out = []
    for size, start, length, (before, after) in zip(shape, starts, sizes, padding[:2]):
        index = _zoomed_indices(size, scale)
        if start is not None:
            index = index[start:start + length]
        out.append(np.concatenate([np.full(int(before), -1, np.intp), index,
                                   np.full(int(after), -1, np.intp)]))
    return out


def mask_crops(mask):
    """The mask crops (see the glossary) of a mask [height, width, N]."""
    mask = _as_masks(mask, "mask")
    crops = []
    for i, (y1, x1, y2, x2) in enumerate(extract_bboxes(mask)):
        crops.append((int(y1), int(x1), mask[y1:y2, x1:x2, i].astype(bool))
                     if y2 > y1 else None)
    return crops


def crop_from_pixels(rows, cols):
    """The mask crop (y, x, content) of the pixels (rows[k], cols[k]) (repeats allowed), or
    None when there are none."""
    rows, cols = np.asarray(rows, np.intp), np.asarray(cols, np.intp)
    if rows.size == 0:
        return None
    y, x = int(rows.min()), int(cols.min())
    content = np.zeros((int(rows.max()) - y + 1, int(cols.max()) - x + 1), dtype=bool)
    content[rows - y, cols - x] = True
    return y, x, content


def resize_and_minimize_masks(mask, scale, padding, crop, mini_shape):
    """What resize_mask, dropping the instances it empties, extract_bboxes and minimize_mask
    give, without building the resized [H, W, N] masks: each instance is gathered only over
    the rows and columns of the resized image that come from its own box.

    mask, scale, padding, crop: as resize_mask. mini_shape: as minimize_mask.

    Returns (keep, bbox, mini_mask, shape): keep bool [N], the instances whose resized mask has
    a pixel; bbox int32 [K, 4] and mini_mask bool [mini_h, mini_w, K] of those (K = keep.sum()),
    equal to the reference's; shape (height, width) of the resized mask.
    """
    mask = _as_masks(mask, "mask")
    return resize_and_minimize_crops(mask_crops(mask), mask.shape[:2], scale, padding, crop,
                                     mini_shape)


def resize_and_minimize_crops(crops, shape, scale, padding, crop, mini_shape):
    """resize_and_minimize_masks of the mask [shape[0], shape[1], N] whose mask crops are
    ``crops`` (see the glossary): the same results, from the crops alone."""
    rows, cols = _final_indices(tuple(int(v) for v in shape[:2]), scale, padding, crop)
    mini_shape = tuple(int(v) for v in mini_shape)
    keep = np.zeros(len(crops), bool)
    boxes, minis = [], []
    for i, instance in enumerate(crops):
        if instance is None:
            continue
        sy, sx, content = instance
        # The resized rows and columns that read the instance's box; all others are 0.
        ys = np.flatnonzero((rows >= sy) & (rows < sy + content.shape[0]))
        xs = np.flatnonzero((cols >= sx) & (cols < sx + content.shape[1]))
        if ys.size == 0 or xs.size == 0:
            continue
        block = content[(rows[ys] - sy)[:, np.newaxis], (cols[xs] - sx)[np.newaxis, :]]
        # ys and xs are runs (the indices grow along each axis), so the block is the resized
        # mask's rectangle ys[0]..ys[-1] x xs[0]..xs[-1].
        in_rows, in_cols = np.flatnonzero(block.any(axis=1)), np.flatnonzero(block.any(axis=0))
        if in_rows.size == 0:
            continue
        by1, by2, bx1, bx2 = in_rows[0], in_rows[-1] + 1, in_cols[0], in_cols[-1] + 1
        keep[i] = True
        boxes.append([ys[0] + by1, xs[0] + bx1, ys[0] + by2, xs[0] + bx2])
        minis.append(_mini_mask(block[by1:by2, bx1:bx2], mini_shape))
    bbox = np.array(boxes, dtype=np.int32).reshape(-1, 4)
    mini_mask = (np.stack(minis, axis=-1) if minis
                 else np.zeros(mini_shape + (0,), dtype=bool))
    return keep, bbox, mini_mask, (rows.size, cols.size)


def minimize_mask(bbox, mask, mini_shape):
    """Resizes masks to a smaller version to reduce memory load.

    Mini-masks can be resized back to image scale using expand_mask().

    bbox: [instances, (y1, x1, y2, x2)] boxes of the instances in `mask`.
    mask: [height, width, instances], any dtype (cast to bool).
    mini_shape: (mini_height, mini_width), e.g. config.MINI_MASK_SHAPE.

    Returns: bool [mini_height, mini_width, instances]: the content of each box, resized
    bilinearly and rounded (np.around, so exactly 0.5 rounds to False), as Matterport.
    A box of zero area raises ValueError naming the instance (Matterport raised Exception).
    """
    mask = _as_masks(mask, "mask")
    count = mask.shape[-1]
    bbox = _as_bbox(bbox, count)
    mini_shape = tuple(int(v) for v in mini_shape)
    mini_mask = np.zeros(mini_shape + (count,), dtype=bool)
    for i in range(count):
        y1, x1, y2, x2 = bbox[i]
        m = mask[y1:y2, x1:x2, i].astype(bool)
        if m.size == 0:
            raise ValueError("minimize_mask: instance {} has a bounding box of zero area {}"
                             .format(i, tuple(int(v) for v in bbox[i])))
        mini_mask[:, :, i] = _mini_mask(m, mini_shape)
    return mini_mask


def _mini_mask(box_content, mini_shape):
    """One instance's box content [h, w] bool resized bilinearly to mini_shape and rounded
    (np.around: exactly 0.5 is False), Matterport's mini-mask rule."""
    return np.around(resize(box_content, mini_shape)).astype(bool)


def expand_mask(bbox, mini_mask, image_shape):
    """Resizes mini masks back to image size. Reverses the change of minimize_mask().

    bbox: [instances, (y1, x1, y2, x2)] the boxes the mini-masks were cut from.
    mini_mask: [mini_height, mini_width, instances].
    image_shape: (height, width[, channels]) of the image.

    Returns: bool [height, width, instances]. An instance whose box has zero area stays empty
    (Matterport crashed in the resize).
    """
    mini_mask = _as_masks(mini_mask, "mini_mask")
    count = mini_mask.shape[-1]
    bbox = _as_bbox(bbox, count)
    height, width = (int(v) for v in tuple(image_shape)[:2])
    mask = np.zeros((height, width, count), dtype=bool)
    for i in range(count):
        y1, x1, y2, x2 = bbox[i]
        h = y2 - y1
        w = x2 - x1
        if h <= 0 or w <= 0:
            continue
        m = resize(mini_mask[:, :, i], (h, w))
        mask[y1:y2, x1:x2, i] = np.around(m).astype(bool)
    return mask


def unmold_mask(mask, bbox, image_shape):
    """Converts a mask generated by the neural network to a format similar to its original
    shape.

    mask: [height, width] of type float. A small, typically 28x28 mask.
    bbox: [y1, x1, y2, x2]. The box to fit the mask in (pixels, y2/x2 exclusive).
    image_shape: (height, width[, channels]) of the image.

    Returns: bool [height, width]: the mask resized bilinearly to the box and thresholded at
    0.5, placed at the box. Fixes over Matterport: a box of zero height or width gives an
    all-False mask instead of a crash, and the part of a box outside the image is dropped.
    """
    threshold = 0.5
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError("mask must have shape [height, width], got shape {}".format(mask.shape))
    if np.shape(bbox)[-1:] != (4,):
        raise ValueError("bbox must be [y1, x1, y2, x2], got {!r}".format(bbox))
    y1, x1, y2, x2 = (int(v) for v in bbox)
    height, width = (int(v) for v in tuple(image_shape)[:2])
    full_mask = np.zeros((height, width), dtype=bool)
    if y2 <= y1 or x2 <= x1:
        return full_mask
    mask = resize(mask, (y2 - y1, x2 - x1)) >= threshold
    # Paste the part of the box that lies inside the image.
    top, left = max(y1, 0), max(x1, 0)
    bottom, right = min(y2, height), min(x2, width)
    if bottom > top and right > left:
        full_mask[top:bottom, left:right] = mask[top - y1:bottom - y1, left - x1:right - x1]
    return full_mask
