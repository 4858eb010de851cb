"""Bounding boxes: extraction from masks, IoU, non-max suppression, deltas, normalization.

Glossary:
    box          (y1, x1, y2, x2). In pixel coordinates y2/x2 are exclusive: the box of a mask
                 covering rows 2..4 has y1 = 2, y2 = 5 (Matterport's extract_bboxes).
    normalized   Matterport's norm_boxes: (y1, x1, y2 - 1, x2 - 1) / (H - 1, W - 1, H - 1, W - 1),
                 so corners are inclusive and lie in [0, 1] for boxes inside the image.
    deltas       (dy, dx, log(dh), log(dw)): centre shift in units of the box size and log of the
                 size ratio, as Matterport's box_refinement / apply_box_deltas. Applying them
                 clamps log(dh), log(dw) at MAX_LOG_SIZE_RATIO.
    padding      all-zero rows are padding (see trim_zeros).

Matterport behaviour kept: names, arguments, defaults, dtypes and arithmetic. Fixed edge cases
are listed in each docstring (empty inputs, zero-area boxes).
"""
import numpy as np

__all__ = [
    "extract_bboxes", "compute_iou", "compute_overlaps", "non_max_suppression",
    "apply_box_deltas", "box_refinement", "norm_boxes", "denorm_boxes", "trim_zeros",
    "MAX_LOG_SIZE_RATIO",
    "BBOX_STD_DEV",
]

#: Largest log(dh), log(dw) applied to a box (a box grows at most 1000/16 = 62.5x per side), as
#: in Detectron2 and torchvision. Trained heads stay far below it (Matterport's COCO weights
#: never reach it), but an untrained one can predict hundreds: exp overflows to inf and the box
#: becomes NaN (inf - inf), which CropAndResize refuses. Matterport has no clamp.
MAX_LOG_SIZE_RATIO = float(np.log(1000.0 / 16))

#: Matterport's divisor of box deltas (dy, dx, log dh, log dw) in targets and head outputs: the
#: default of Config.RPN_BBOX_STD_DEV and Config.BBOX_STD_DEV and of the layers that take them.
BBOX_STD_DEV = (0.1, 0.1, 0.2, 0.2)


def _as_boxes(boxes, name):
    """Returns `boxes` as an array of shape [N, 4], or raises ValueError naming `name`."""
    boxes = np.asarray(boxes)
    if boxes.ndim != 2 or boxes.shape[1] < 4:
        raise ValueError("{} must have shape [N, 4] (y1, x1, y2, x2), got shape {}"
                         .format(name, boxes.shape))
    return boxes


def _safe_iou(intersection, union):
    """intersection / union with 0 where union is 0 (two zero-area boxes), no warnings."""
    dtype = np.result_type(intersection, union, np.float16)
    iou = np.zeros(np.broadcast(intersection, union).shape, dtype=dtype)
    np.divide(intersection, union, out=iou, where=union > 0)
    return iou


def extract_bboxes(mask):
    """Computes bounding boxes from masks.

    mask: [height, width, num_instances]. Mask pixels are either 1 or 0 (any dtype; nonzero is
        foreground).

    Returns: bbox array [num_instances, (y1, x1, y2, x2)] int32, y2/x2 exclusive.
        An instance without any pixel (it can happen after resizing or cropping) gets an
        all-zero row.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError("mask must have shape [height, width, num_instances], got shape {}"
                         .format(mask.shape))
    height, width, count = mask.shape
    if count == 0 or height == 0 or width == 0:
        return np.zeros([count, 4], dtype=np.int32)
    rows = np.any(mask, axis=1)  # [height, N]: row y holds a pixel of instance n
    cols = np.any(mask, axis=0)  # [width, N]
    present = rows.any(axis=0)   # [N]
    y1 = np.argmax(rows, axis=0)
    y2 = height - np.argmax(rows[::-1], axis=0)
    x1 = np.argmax(cols, axis=0)
    x2 = width - np.argmax(cols[::-1], axis=0)
    boxes = np.stack([y1, x1, y2, x2], axis=1).astype(np.int32)
    boxes[~present] = 0
    return boxes


def compute_iou(box, boxes, box_area, boxes_area):
    """Calculates IoU of the given box with the array of the given boxes.

    box: 1D vector [y1, x1, y2, x2]
    boxes: [boxes_count, (y1, x1, y2, x2)]
    box_area: float. the area of 'box'
    boxes_area: array of length boxes_count.

    Note: the areas are passed in rather than calculated here for efficiency. Calculate once
    in the caller to avoid duplicate work.

    Returns: [boxes_count] IoU values. Fix over Matterport: where both boxes have zero area
    (union 0) the IoU is 0 instead of NaN with a division warning.
    """
    box = np.asarray(box)
    boxes = _as_boxes(boxes, "boxes")
    if box.shape[0] < 4:
        raise ValueError("box must be a vector [y1, x1, y2, x2], got shape {}".format(box.shape))
    y1 = np.maximum(box[0], boxes[:, 0])
    y2 = np.minimum(box[2], boxes[:, 2])
    x1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[3], boxes[:, 3])
    intersection = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = box_area + np.asarray(boxes_area) - intersection
    return _safe_iou(intersection, union)


def compute_overlaps(boxes1, boxes2):
    """Computes IoU overlaps between two sets of boxes.

    boxes1: [N1, (y1, x1, y2, x2)]
    boxes2: [N2, (y1, x1, y2, x2)]

    Returns: [N1, N2] float64 matrix of IoU values; shape (N1, N2) also when N1 or N2 is 0.
    Zero-area boxes give IoU 0 (Matterport gave NaN for two zero-area boxes).
    """
    boxes1 = _as_boxes(boxes1, "boxes1")
    boxes2 = _as_boxes(boxes2, "boxes2")
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    # Broadcast [N1, 1] against [1, N2]; same arithmetic as Matterport's per-column loop.
    y1 = np.maximum(boxes1[:, None, 0], boxes2[None, :, 0])
    y2 = np.minimum(boxes1[:, None, 2], boxes2[None, :, 2])
    x1 = np.maximum(boxes1[:, None, 1], boxes2[None, :, 1])
    x2 = np.minimum(boxes1[:, None, 3], boxes2[None, :, 3])
    intersection = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = area2[None, :] + area1[:, None] - intersection
    return _safe_iou(intersection, union).astype(np.float64)


def non_max_suppression(boxes, scores, threshold):
    """Performs greedy non-maximum suppression and returns indices of kept boxes.

    boxes: [N, (y1, x1, y2, x2)]. Notice that (y2, x2) lays outside the box.
    scores: [N] box scores.
    threshold: Float. IoU threshold: a box whose IoU with a kept box is above it is dropped.

    Returns: int32 [K] indices into boxes, in the order they were kept (highest score first;
    ties in the order of np.argsort(scores)[::-1], as Matterport). Empty input gives an empty
    array (Matterport asserted N > 0).
    """
    boxes = _as_boxes(boxes, "boxes")
    scores = np.asarray(scores)
    if scores.shape != (boxes.shape[0],):
        raise ValueError("scores must have shape [{}] to match boxes, got shape {}"
                         .format(boxes.shape[0], scores.shape))
    if boxes.shape[0] == 0:
        return np.zeros([0], dtype=np.int32)
    if boxes.dtype.kind != "f":
        boxes = boxes.astype(np.float32)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    ixs = scores.argsort()[::-1]
    pick = []
    while len(ixs) > 0:
        i = ixs[0]
        pick.append(i)
        rest = ixs[1:]
        iou = compute_iou(boxes[i], boxes[rest], area[i], area[rest])
        ixs = rest[~(iou > threshold)]
    return np.array(pick, dtype=np.int32)


def apply_box_deltas(boxes, deltas):
    """Applies the given deltas to the given boxes.

    boxes: [N, (y1, x1, y2, x2)]. Note that (y2, x2) is outside the box.
    deltas: [N, (dy, dx, log(dh), log(dw))]

    Returns: [N, (y1, x1, y2, x2)] float32 refined boxes. log(dh), log(dw) above
    MAX_LOG_SIZE_RATIO are clamped to it (Matterport: no clamp; NaN boxes on overflow).
    """
    boxes = _as_boxes(boxes, "boxes").astype(np.float32)
    deltas = _as_boxes(deltas, "deltas")
    if deltas.shape[0] != boxes.shape[0]:
        raise ValueError("deltas has {} rows but boxes has {}"
                         .format(deltas.shape[0], boxes.shape[0]))
    height = boxes[:, 2] - boxes[:, 0]
    width = boxes[:, 3] - boxes[:, 1]
    center_y = boxes[:, 0] + 0.5 * height
    center_x = boxes[:, 1] + 0.5 * width
    center_y += deltas[:, 0] * height
    center_x += deltas[:, 1] * width
    height *= np.exp(np.minimum(deltas[:, 2], MAX_LOG_SIZE_RATIO))
    width *= np.exp(np.minimum(deltas[:, 3], MAX_LOG_SIZE_RATIO))
    y1 = center_y - 0.5 * height
    x1 = center_x - 0.5 * width
    y2 = y1 + height
    x2 = x1 + width
    return np.stack([y1, x1, y2, x2], axis=1)


def box_refinement(box, gt_box):
    """Computes the refinement needed to transform box to gt_box.

    box: [N, (y1, x1, y2, x2)]. (y2, x2) is assumed to be outside the box.
    gt_box: [N, (y1, x1, y2, x2)], same N.

    Returns: [N, (dy, dx, dh, dw)] float32, with dh = log(gt_height / height) and heights
    y2 - y1 (no +1), as Matterport's NumPy version. The inverse of apply_box_deltas.
    A box or gt_box of zero (or negative) height or width has no defined refinement: Matterport
    returned inf/NaN with warnings, this raises ValueError naming the row.
    """
    box = _as_boxes(box, "box").astype(np.float32)
    gt_box = _as_boxes(gt_box, "gt_box").astype(np.float32)
    if box.shape[0] != gt_box.shape[0]:
        raise ValueError("gt_box has {} rows but box has {}".format(gt_box.shape[0], box.shape[0]))
    height = box[:, 2] - box[:, 0]
    width = box[:, 3] - box[:, 1]
    gt_height = gt_box[:, 2] - gt_box[:, 0]
    gt_width = gt_box[:, 3] - gt_box[:, 1]
    for name, h, w in (("box", height, width), ("gt_box", gt_height, gt_width)):
        bad = np.flatnonzero((h <= 0) | (w <= 0))
        if bad.size:
            raise ValueError("{} row {} has zero or negative height/width; its refinement is "
                             "undefined".format(name, int(bad[0])))
    center_y = box[:, 0] + 0.5 * height
    center_x = box[:, 1] + 0.5 * width
    gt_center_y = gt_box[:, 0] + 0.5 * gt_height
    gt_center_x = gt_box[:, 1] + 0.5 * gt_width
    dy = (gt_center_y - center_y) / height
    dx = (gt_center_x - center_x) / width
    dh = np.log(gt_height / height)
    dw = np.log(gt_width / width)
    return np.stack([dy, dx, dh, dw], axis=1)


def _shape_hw(shape):
    """(height, width) from `shape`, or a ValueError (normalizing needs both >= 2)."""
    if len(shape) != 2:
        raise ValueError("shape must be (height, width), got {!r}".format(shape))
    h, w = (int(v) for v in shape)
    if h < 2 or w < 2:
        raise ValueError("shape must be at least (2, 2) to normalize boxes, got {!r}"
                         .format(tuple(shape)))
    return h, w


def norm_boxes(boxes, shape):
    """Converts boxes from pixel coordinates to normalized coordinates.

    boxes: [N, (y1, x1, y2, x2)] in pixel coordinates
    shape: (height, width) in pixels

    Note: In pixel coordinates (y2, x2) is outside the box. But in normalized coordinates
    it's inside the box.

    Returns: [N, (y1, x1, y2, x2)] float32 in normalized coordinates:
        (y1, x1, y2 - 1, x2 - 1) / (h - 1, w - 1, h - 1, w - 1).
    """
    h, w = _shape_hw(shape)
    boxes = np.asarray(boxes)
    if boxes.shape[-1:] != (4,):
        raise ValueError("boxes must have shape [N, 4], got shape {}".format(boxes.shape))
    scale = np.array([h - 1, w - 1, h - 1, w - 1])
    shift = np.array([0, 0, 1, 1])
    return np.divide((boxes - shift), scale).astype(np.float32)


def denorm_boxes(boxes, shape):
    """Converts boxes from normalized coordinates to pixel coordinates.

    boxes: [N, (y1, x1, y2, x2)] in normalized coordinates
    shape: (height, width) in pixels

    Note: In pixel coordinates (y2, x2) is outside the box. But in normalized coordinates
    it's inside the box.

    Returns: [N, (y1, x1, y2, x2)] int32 in pixel coordinates (rounded with np.around).
    """
    h, w = _shape_hw(shape)
    boxes = np.asarray(boxes)
    if boxes.shape[-1:] != (4,):
        raise ValueError("boxes must have shape [N, 4], got shape {}".format(boxes.shape))
    scale = np.array([h - 1, w - 1, h - 1, w - 1])
    shift = np.array([0, 0, 1, 1])
    return np.around(np.multiply(boxes, scale) + shift).astype(np.int32)


def trim_zeros(x):
    """Removes rows that are all zeros (zero padding).

    x: [rows, columns].

    Returns: [kept_rows, columns], the rows of x that hold a nonzero value, in order.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError("trim_zeros expects a 2-D array [rows, columns], got shape {}"
                         .format(x.shape))
    return x[~np.all(x == 0, axis=1)]
