"""Region proposal network targets: which anchors are objects, and how to move them onto them.

Glossary:
    anchors     [A, (y1, x1, y2, x2)] pixel boxes of every anchor of the image, in the order of
                generate_pyramid_anchors (the order the RPN head outputs its predictions).
    gt_boxes    [N, (y1, x1, y2, x2)] pixel boxes, y2/x2 exclusive; gt_class_ids [N]: class 0 is
                background / padding (ignored), negative ids mark crowds.
    rpn_match   int32 [A]: 1 positive (an object), -1 negative (background), 0 neutral (not
                trained on).
    rpn_bbox    float32 [RPN_TRAIN_ANCHORS_PER_IMAGE, (dy, dx, log(dh), log(dw))]: the deltas
                of the positive anchors, in anchor order, divided by RPN_BBOX_STD_DEV; zero
                rows are padding.

Deltas use Matterport's centre/size convention: h = y2 - y1 (no +1), centre = y1 + 0.5 * h,
dy = (gt_cy - a_cy) / a_h, dh = log(gt_h / a_h).
"""
import numpy as np

from mrcnn.core.anchors import anchor_index
from mrcnn.core.boxes import box_refinement, compute_overlaps
from mrcnn.core.contracts import CROWD_IOU, RPN_NEGATIVE_IOU, RPN_POSITIVE_IOU

__all__ = ["build_rpn_targets"]


def build_rpn_targets(image_shape, anchors, gt_class_ids, gt_boxes, config, *, rng=None):
    """Given the anchors and GT boxes, compute overlaps and identify positive
    anchors and deltas to refine them to match their corresponding GT boxes.

    image_shape: [height, width, channels] of the image (unused, kept for Matterport's
        argument order).
    anchors: [num_anchors, (y1, x1, y2, x2)] pixel coordinates.
    gt_class_ids: [num_gt_boxes] Integer class IDs; negative for crowds, 0 ignored.
    gt_boxes: [num_gt_boxes, (y1, x1, y2, x2)] pixel coordinates.
    config: uses RPN_TRAIN_ANCHORS_PER_IMAGE and RPN_BBOX_STD_DEV.
    rng: keyword only, optional numpy.random.Generator for the random subsets; None uses
        np.random as Matterport.

    Rules (Matterport's):
    1. Anchors whose best IoU with a non-crowd GT box is < 0.3 are negative, unless they
       overlap a crowd box with IoU >= 0.001.
    2. Each GT box's best anchor is positive, whatever its IoU (all anchors tied at the
       maximum; a GT box that overlaps no anchor at all therefore makes every anchor with IoU 0
       positive, as Matterport).
    3. Anchors with IoU >= 0.7 are positive.
    4. At most RPN_TRAIN_ANCHORS_PER_IMAGE // 2 positives (a random subset of the extra ones
       becomes neutral), and negatives are cut at random to RPN_TRAIN_ANCHORS_PER_IMAGE minus
       the positives.

    Returns:
    rpn_match: int32 [N] matches between anchors and GT boxes.
               1 = positive anchor, -1 = negative anchor, 0 = neutral
    rpn_bbox: float32 [RPN_TRAIN_ANCHORS_PER_IMAGE, (dy, dx, log(dh), log(dw))] Anchor bbox
        deltas of the positive anchors (in anchor order), divided by RPN_BBOX_STD_DEV.

    Fixes over Matterport: no (non-crowd) GT box at all gives all-negative candidates and zero
    deltas instead of a crash; class id 0 rows (padding) are ignored also when there is no crowd.
    """
    rng = np.random if rng is None else rng
    anchors = np.asarray(anchors)
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1)
    gt_boxes = np.asarray(gt_boxes)
    if gt_boxes.size == 0:
        gt_boxes = gt_boxes.reshape(0, 4)
    if anchors.ndim != 2 or anchors.shape[1] != 4:
        raise ValueError("anchors must have shape [num_anchors, 4], got shape {}"
                         .format(anchors.shape))
    if gt_boxes.ndim != 2 or gt_boxes.shape[1] != 4 or gt_boxes.shape[0] != gt_class_ids.shape[0]:
        raise ValueError("gt_boxes must have shape [{}, 4] to match gt_class_ids, got shape {}"
                         .format(gt_class_ids.shape[0], gt_boxes.shape))
    train_anchors = int(config.RPN_TRAIN_ANCHORS_PER_IMAGE)

    # RPN Match: 1 = positive anchor, -1 = negative anchor, 0 = neutral
    rpn_match = np.zeros([anchors.shape[0]], dtype=np.int32)
    # RPN bounding boxes: [max anchors per image, (dy, dx, log(dh), log(dw))]
    rpn_bbox = np.zeros((train_anchors, 4), dtype=np.float32)

    # IoUs are computed only for the anchors that can meet each box (anchor_index); every
    # other anchor has IoU 0 with it. The labels are those of Matterport's dense
    # [anchors, boxes] overlaps matrix, value for value.
    index = anchor_index(anchors)

    # Handle COCO crowds. A crowd box in COCO is a bounding box around several instances.
    # Exclude them from training: anchors overlapping a crowd can not be negative.
    crowd_iou_max = np.zeros([anchors.shape[0]])
    for box in gt_boxes[gt_class_ids < 0]:
        near, iou = _box_overlaps(anchors, index, box)
        crowd_iou_max[near] = np.maximum(crowd_iou_max[near], iou)
    no_crowd_bool = crowd_iou_max < CROWD_IOU
    gt_boxes = gt_boxes[gt_class_ids > 0]

    # Each anchor's best IoU and its box (the first box of the best IoU, as np.argmax).
    anchor_iou_max = np.zeros([anchors.shape[0]])
    anchor_iou_argmax = np.zeros([anchors.shape[0]], dtype=np.int64)
    per_box = []
    for i, box in enumerate(gt_boxes):
        near, iou = _box_overlaps(anchors, index, box)
        better = iou > anchor_iou_max[near]
        anchor_iou_max[near[better]] = iou[better]
        anchor_iou_argmax[near[better]] = i
        per_box.append((near, iou))

    if gt_boxes.shape[0] == 0:
        # No object: every anchor away from crowds is a candidate negative.
        rpn_match[no_crowd_bool] = -1
    else:
        # 1. Set negative anchors first. They get overwritten below if a GT box is matched
        #    to them. Skip anchors in crowd areas.
        rpn_match[(anchor_iou_max < RPN_NEGATIVE_IOU) & no_crowd_bool] = -1
        # 2. Set an anchor for each GT box (regardless of IoU value). If multiple anchors
        #    have the same IoU match all of them. A box that meets no anchor has its best IoU,
        #    0, with every anchor: all become positive, as in Matterport.
        for near, iou in per_box:
            best = iou.max() if iou.size else 0.0
            if best > 0:
                rpn_match[near[iou == best]] = 1
            else:
                rpn_match[:] = 1
        # 3. Set anchors with high overlap as positive.
        rpn_match[anchor_iou_max >= RPN_POSITIVE_IOU] = 1

    # Subsample to balance positive and negative anchors.
    # Don't let positives be more than half the anchors.
    ids = np.where(rpn_match == 1)[0]
    extra = len(ids) - (train_anchors // 2)
    if extra > 0:
        rpn_match[rng.choice(ids, extra, replace=False)] = 0
    # Same for negative proposals
    ids = np.where(rpn_match == -1)[0]
    extra = len(ids) - (train_anchors - np.sum(rpn_match == 1))
    if extra > 0:
        rpn_match[rng.choice(ids, extra, replace=False)] = 0

    # For positive anchors, compute shift and scale needed to transform them to match the
    # closest GT box (it might have IoU < 0.7).
    ids = np.where(rpn_match == 1)[0]
    if ids.shape[0] > 0:
        deltas = box_refinement(anchors[ids], gt_boxes[anchor_iou_argmax[ids]])
        deltas /= np.asarray(config.RPN_BBOX_STD_DEV, dtype=np.float64)
        rpn_bbox[:ids.shape[0]] = deltas
    return rpn_match, rpn_bbox


def _box_overlaps(anchors, index, box):
    """(indices, IoUs) of the anchors that can meet ``box``; all other anchors have IoU 0."""
    near = index.overlapping(box)
    return near, compute_overlaps(anchors[near], box[np.newaxis])[:, 0]
