"""Targets of the classifier and mask heads computed in NumPy, for training without the RPN.

Normal training builds these targets in the graph (DetectionTargetLayer) from the RPN's
proposals. These NumPy versions serve USE_RPN_ROIS = False (random ROIs around the GT boxes
stand in for proposals) and the inspect notebooks (data_generator(detection_targets=True)).

Glossary:
    rois / rpn_rois  [R, (y1, x1, y2, x2)] pixel boxes, y2/x2 exclusive.
    gt_boxes         int32 [N, (y1, x1, y2, x2)] pixel boxes; gt_class_ids int32 [N]: class 0 is
                     background / padding, negative ids mark crowds (both ignored here).
    gt_masks         bool [H, W, N] full-size masks, or [mini_h, mini_w, N] mini-masks when
                     config.USE_MINI_MASK.
    deltas           (dy, dx, log(dh), log(dw)) per class, divided by config.BBOX_STD_DEV.
"""
import numpy as np

from mrcnn.core.boxes import box_refinement, compute_overlaps
from mrcnn.core.contracts import ROI_FOREGROUND_IOU
from mrcnn.core.images import resize

__all__ = ["generate_random_rois", "build_detection_targets"]

def _randint(rng, low, high):
    """Random integers in [low, high) with array bounds, from a Generator or np.random."""
    if isinstance(rng, np.random.Generator):
        return rng.integers(low, high)
    return rng.randint(low, high)


def _random_spans(rng, low, high):
    """Random (start, end) with low <= start < end < high, uniform over such pairs.

    low, high: int arrays [K] with high - low >= 2.

    Returns: (start, end) int arrays [K]. Equivalent to Matterport's drawing of two integers in
    [low, high) until they differ, then sorting them, without its retry loop.
    """
    first = _randint(rng, low, high)
    second = _randint(rng, low, high - 1)
    second = second + (second >= first)  # skip `first`: uniform over the other values
    return np.minimum(first, second), np.maximum(first, second)


def generate_random_rois(image_shape, count, gt_class_ids, gt_boxes, *, rng=None):
    """Generates ROI proposals similar to what a region proposal network would generate.

    image_shape: [Height, Width, Depth]
    count: Number of ROIs to generate
    gt_class_ids: [N] Integer ground truth class IDs
    gt_boxes: [N, (y1, x1, y2, x2)] Ground truth boxes in pixels.
    rng: keyword only, optional numpy.random.Generator; None uses np.random as Matterport.

    Returns: int32 [count, (y1, x1, y2, x2)] ROI boxes in pixels, each at least 1 pixel high
    and wide. The first int(0.9 * count / N) * N rows are random boxes around the GT boxes
    (row block i around box i, within the box grown by its own size on every side, clipped to
    the image); the rest are random boxes anywhere in the image.

    Fixes over Matterport: no GT box (N == 0, which divided by zero) gives `count` boxes
    anywhere in the image; zero-area GT rows (padding) are ignored; images smaller than 2x2
    (where Matterport looped forever) raise ValueError.
    """
    rng = np.random if rng is None else rng
    height, width = (int(v) for v in tuple(image_shape)[:2])
    if height < 2 or width < 2:
        raise ValueError("image_shape must be at least 2x2 to hold a ROI, got {!r}"
                         .format(tuple(image_shape)))
    count = int(count)
    if count < 0:
        raise ValueError("count must be >= 0, got {}".format(count))
    gt_boxes = np.asarray(gt_boxes, dtype=np.int64).reshape(-1, 4)
    if np.shape(gt_class_ids)[:1] != gt_boxes.shape[:1]:
        raise ValueError("gt_class_ids has {} entries but gt_boxes has {} rows"
                         .format(np.shape(gt_class_ids)[:1], gt_boxes.shape[0]))
    y1, x1, y2, x2 = gt_boxes.T
    gt_boxes = gt_boxes[(y2 > y1) & (x2 > x1)]
    box_count = gt_boxes.shape[0]

    # 90% of the ROIs around GT boxes, rois_per_box per box, the rest anywhere.
    rois_per_box = int(0.9 * count / box_count) if box_count else 0
    remaining_count = count - rois_per_box * box_count
    y1, x1, y2, x2 = gt_boxes.T
    h = y2 - y1
    w = x2 - x1
    # Sampling ranges: the box grown by its height / width, clipped to the image. The clip
    # keeps every range at least 2 wide, so a ROI of at least 1 pixel always exists.
    r_y1 = np.clip(y1 - h, 0, height - 2)
    r_y2 = np.clip(y2 + h, r_y1 + 2, height)
    r_x1 = np.clip(x1 - w, 0, width - 2)
    r_x2 = np.clip(x2 + w, r_x1 + 2, width)
    low_y = np.concatenate([np.repeat(r_y1, rois_per_box), np.zeros(remaining_count, np.int64)])
    high_y = np.concatenate([np.repeat(r_y2, rois_per_box),
                             np.full(remaining_count, height, np.int64)])
    low_x = np.concatenate([np.repeat(r_x1, rois_per_box), np.zeros(remaining_count, np.int64)])
    high_x = np.concatenate([np.repeat(r_x2, rois_per_box),
                             np.full(remaining_count, width, np.int64)])
    roi_y1, roi_y2 = _random_spans(rng, low_y, high_y)
    roi_x1, roi_x2 = _random_spans(rng, low_x, high_x)
    return np.stack([roi_y1, roi_x1, roi_y2, roi_x2], axis=1).astype(np.int32).reshape(count, 4)


def _check_dtypes(gt_class_ids, gt_boxes, gt_masks):
    """TypeErrors naming the argument, in place of Matterport's asserts."""
    if gt_class_ids.dtype.kind not in "iu":
        raise TypeError("gt_class_ids must be an integer array, got {}".format(gt_class_ids.dtype))
    if gt_boxes.dtype.kind not in "iu":
        raise TypeError("gt_boxes must be an integer array (pixels), got {}".format(gt_boxes.dtype))
    if gt_masks.dtype != np.bool_:
        raise TypeError("gt_masks must be a bool array, got {}".format(gt_masks.dtype))


def _class_mask(gt_masks, gt_boxes, gt_id, config):
    """The full-image bool [H, W] mask of GT instance gt_id (mini-masks are expanded into a
    config.IMAGE_SHAPE placeholder, as Matterport)."""
    class_mask = gt_masks[:, :, gt_id]
    if not config.USE_MINI_MASK:
        return class_mask
    placeholder = np.zeros(tuple(config.IMAGE_SHAPE[:2]), dtype=bool)
    gt_y1, gt_x1, gt_y2, gt_x2 = gt_boxes[gt_id]
    placeholder[gt_y1:gt_y2, gt_x1:gt_x2] = \
        np.round(resize(class_mask, (gt_y2 - gt_y1, gt_x2 - gt_x1))).astype(bool)
    return placeholder


def build_detection_targets(rpn_rois, gt_class_ids, gt_boxes, gt_masks, config, *, rng=None):
    """Generate targets for training Stage 2 classifier and mask heads.
    This is not used in normal training. It's useful for debugging or to train
    the Mask RCNN heads without using the RPN head.

    Inputs:
    rpn_rois: [N, (y1, x1, y2, x2)] proposal boxes (pixels).
    gt_class_ids: int [instance count] Integer class IDs (only ids > 0 are used).
    gt_boxes: int [instance count, (y1, x1, y2, x2)]
    gt_masks: bool [height, width, instance count] Ground truth masks. Can be full
              size or mini-masks (config.USE_MINI_MASK).
    config: TRAIN_ROIS_PER_IMAGE, ROI_POSITIVE_RATIO, NUM_CLASSES, BBOX_STD_DEV, MASK_SHAPE,
        USE_MINI_MASK, IMAGE_SHAPE.
    rng: keyword only, optional numpy.random.Generator; None uses np.random as Matterport.

    ROIs with IoU > 0.5 with a GT box are foreground, < 0.5 background; up to
    TRAIN_ROIS_PER_IMAGE * ROI_POSITIVE_RATIO foreground ROIs are kept at random, background
    fills the rest, and if there are still too few, kept background ROIs are repeated.

    Returns:
    rois: [TRAIN_ROIS_PER_IMAGE, (y1, x1, y2, x2)], dtype of rpn_rois.
    class_ids: int32 [TRAIN_ROIS_PER_IMAGE]. Integer class IDs (0 for background).
    bboxes: float32 [TRAIN_ROIS_PER_IMAGE, NUM_CLASSES, (dy, dx, log(dh), log(dw))].
            Class-specific bbox refinements, zero except at the class of foreground ROIs.
    masks: float32 [TRAIN_ROIS_PER_IMAGE, height, width, NUM_CLASSES] (MASK_SHAPE). Class
           specific masks cropped to bbox boundaries and resized to neural network output size.

    Fixes over Matterport (which asserted or crashed): an image without instances gives
    background-only targets; when there is no background ROI to repeat, kept foreground ROIs
    are repeated; empty rpn_rois raise ValueError and wrong dtypes TypeError.
    """
    rng = np.random if rng is None else rng
    rpn_rois = np.asarray(rpn_rois)
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    gt_boxes = np.asarray(gt_boxes)
    gt_boxes = gt_boxes.reshape(-1, 4) if gt_boxes.size == 0 else gt_boxes
    gt_masks = np.asarray(gt_masks)
    if rpn_rois.ndim != 2 or rpn_rois.shape[1] != 4 or rpn_rois.shape[0] == 0:
        raise ValueError("rpn_rois must have shape [N > 0, 4], got shape {}".format(rpn_rois.shape))
    _check_dtypes(gt_class_ids, gt_boxes, gt_masks)
    if gt_masks.ndim != 3 or not (gt_boxes.shape[0] == gt_class_ids.shape[0] == gt_masks.shape[2]):
        raise ValueError("gt_class_ids [N], gt_boxes [N, 4] and gt_masks [H, W, N] disagree: "
                         "shapes {}, {}, {}".format(gt_class_ids.shape, gt_boxes.shape,
                                                    gt_masks.shape))
    train_rois = int(config.TRAIN_ROIS_PER_IMAGE)
    roi_count = rpn_rois.shape[0]

    # Trim empty padding and crowds in gt_boxes and gt_masks parts
    instance_ids = np.where(gt_class_ids > 0)[0]
    gt_class_ids = gt_class_ids[instance_ids].astype(np.int32)
    gt_boxes = gt_boxes[instance_ids]
    gt_masks = gt_masks[:, :, instance_ids]

    # Assign ROIs to GT boxes: overlaps [rpn_rois, gt_boxes]
    if gt_boxes.shape[0] > 0:
        overlaps = compute_overlaps(rpn_rois, gt_boxes)
        rpn_roi_iou_argmax = np.argmax(overlaps, axis=1)
        rpn_roi_iou_max = overlaps[np.arange(roi_count), rpn_roi_iou_argmax]
        rpn_roi_gt_boxes = gt_boxes[rpn_roi_iou_argmax]
        rpn_roi_gt_class_ids = gt_class_ids[rpn_roi_iou_argmax]
    else:
        rpn_roi_iou_argmax = np.zeros([roi_count], dtype=np.int64)
        rpn_roi_iou_max = np.zeros([roi_count])
        rpn_roi_gt_boxes = np.zeros([roi_count, 4], dtype=gt_boxes.dtype)
        rpn_roi_gt_class_ids = np.zeros([roi_count], dtype=np.int32)

    # Positive ROIs are those with > 0.5 IoU with a GT box, negatives < 0.5.
    fg_ids = np.where(rpn_roi_iou_max > ROI_FOREGROUND_IOU)[0]
    bg_ids = np.where(rpn_roi_iou_max < ROI_FOREGROUND_IOU)[0]

    # Subsample ROIs. Aim for ROI_POSITIVE_RATIO foreground.
    fg_roi_count = int(train_rois * config.ROI_POSITIVE_RATIO)
    if fg_ids.shape[0] > fg_roi_count:
        keep_fg_ids = rng.choice(fg_ids, fg_roi_count, replace=False)
    else:
        keep_fg_ids = fg_ids
    remaining = train_rois - keep_fg_ids.shape[0]
    if bg_ids.shape[0] > remaining:
        keep_bg_ids = rng.choice(bg_ids, remaining, replace=False)
    else:
        keep_bg_ids = bg_ids
    keep = np.concatenate([keep_fg_ids, keep_bg_ids])
    # Need more? Not enough samples to keep the balance: repeat some.
    remaining = train_rois - keep.shape[0]
    if remaining > 0:
        if keep_bg_ids.shape[0] > 0:
            keep = np.concatenate([keep, rng.choice(keep_bg_ids, remaining, replace=True)])
        elif keep.shape[0] > 0:
            keep = np.concatenate([keep, rng.choice(keep, remaining, replace=True)])
        else:
            # Every ROI has IoU exactly 0.5: neither class; use them as background.
            keep_bg_ids = rng.choice(np.arange(roi_count), remaining, replace=True)
            keep = keep_bg_ids

    # Reset the gt boxes assigned to BG ROIs.
    rpn_roi_gt_boxes[keep_bg_ids, :] = 0
    rpn_roi_gt_class_ids[keep_bg_ids] = 0

    # For each kept ROI, assign a class_id, and for FG ROIs also add bbox refinement.
    rois = rpn_rois[keep]
    roi_gt_boxes = rpn_roi_gt_boxes[keep]
    roi_gt_class_ids = rpn_roi_gt_class_ids[keep]
    roi_gt_assignment = rpn_roi_iou_argmax[keep]

    # Class-aware bbox deltas. [y, x, log(h), log(w)]
    bboxes = np.zeros((train_rois, config.NUM_CLASSES, 4), dtype=np.float32)
    pos_ids = np.where(roi_gt_class_ids > 0)[0]
    if pos_ids.shape[0] > 0:
        bboxes[pos_ids, roi_gt_class_ids[pos_ids]] = box_refinement(
            rois[pos_ids], roi_gt_boxes[pos_ids, :4])
    # Normalize bbox refinements
    bboxes /= np.asarray(config.BBOX_STD_DEV)

    # Generate class-specific target masks: each foreground ROI's part of its GT mask,
    # resized to MASK_SHAPE (one resize per ROI).
    mask_h, mask_w = (int(v) for v in config.MASK_SHAPE[:2])
    masks = np.zeros((train_rois, mask_h, mask_w, config.NUM_CLASSES), dtype=np.float32)
    for i in pos_ids:
        class_mask = _class_mask(gt_masks, gt_boxes, roi_gt_assignment[i], config)
        y1, x1, y2, x2 = rois[i].astype(np.int32)
        masks[i, :, :, roi_gt_class_ids[i]] = resize(class_mask[y1:y2, x1:x2], (mask_h, mask_w))

    return rois, roi_gt_class_ids, bboxes, masks
