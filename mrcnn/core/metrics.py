"""Detection metrics of one image: matching, VOC-style AP, AP over IoU ranges, box recall.

Glossary:
    gt_*        ground truth of one image: boxes [N, (y1, x1, y2, x2)] (all-zero rows at the
                end are padding and are trimmed), class_ids [N], masks [H, W, N].
    pred_*      detections of one image: boxes [M, 4], class_ids [M], scores [M], masks
                [H, W, M] (as returned by MaskRCNN.detect()).
    overlaps    [M, N] mask IoU between predictions (sorted by score, highest first) and gt.
    match       gt_match[j] = index of the (sorted) prediction matched to gt j, or -1;
                pred_match[i] = index of the gt matched to prediction i, or -1 (float arrays,
                as Matterport).

Matterport's semantics: matching uses mask IoU; predictions are matched greedily in score
order, each to the unmatched gt of the same class with the highest IoU >= iou_threshold; AP is
the area under the precision envelope (VOC: precision at recall r is the maximum precision at
any recall >= r). Crowd gt (negative class ids) is not treated specially, as in Matterport.

Fixes over Matterport:
    - a gt matched to prediction 0 could be matched again (Matterport tested gt_match > 0
      instead of > -1), counting a duplicate of the best detection as a true positive;
    - an image without gt gave NaN AP (0 / 0 recall) or a ZeroDivisionError in compute_recall.
      Recall is defined as 0 when there is no gt, so AP is 0 for such an image whether or not
      there are predictions (Matterport also gave 0 with no gt and no predictions). Averages
      over a dataset may prefer to skip images without gt, as COCO does for empty categories.
    - a gt instance with an empty mask inside the array (not at its end) broke the alignment:
      Matterport's trim_zeros dropped its all-zero box (extract_bboxes gives an empty mask a
      zero box) wherever it was, then kept the first N masks, so the last real mask was lost
      and the class ids shifted (two perfect detections of [G0, empty, G1] scored AP 0.5). Only
      trailing all-zero rows are padding now, indices (gt_match, pred_match, overlaps columns)
      refer to the arrays as given, and a gt instance without any pixel never takes a
      prediction and is not counted in the recall (as padding; the evaluation's
      load_ground_truth drops such instances too). The same holds for predictions: only
      trailing all-zero boxes are padding.
"""
import numpy as np

from mrcnn.core.boxes import compute_overlaps
from mrcnn.core.masks import compute_overlaps_masks

__all__ = ["compute_matches", "compute_ap", "compute_ap_range", "compute_recall"]


def compute_matches(gt_boxes, gt_class_ids, gt_masks,
                    pred_boxes, pred_class_ids, pred_scores, pred_masks,
                    iou_threshold=0.5, score_threshold=0.0):
    """Finds matches between prediction and ground truth instances.

    gt_boxes: [N, (y1, x1, y2, x2)], trailing zero rows are padding. gt_class_ids: [N].
    gt_masks: [height, width, N] (at least as many masks as gt_boxes has rows before its
        padding). A gt without any pixel is never matched and not counted by compute_ap.
    pred_boxes: [M, (y1, x1, y2, x2)], trailing zero rows are padding. pred_class_ids: [M].
    pred_scores: [M]. pred_masks: [height, width, M].
    iou_threshold: minimum mask IoU for a match.
    score_threshold: gt whose IoU with a prediction is below this are not considered for it
        (Matterport's name; it filters IoU values, not prediction scores).

    Returns:
        gt_match: 1-D array. For each GT box it has the index of the matched predicted box
            (index into the score-sorted predictions), -1 if unmatched.
        pred_match: 1-D array. For each predicted box (sorted by score, highest first), it has
            the index of the matched ground truth box, -1 if unmatched.
        overlaps: [pred_boxes, gt_boxes] IoU overlaps (predictions sorted by score).
    """
    gt_boxes = np.asarray(gt_boxes)
    n_gt = _count_before_padding(gt_boxes)
    gt_boxes = gt_boxes[:n_gt]
    gt_class_ids = np.asarray(gt_class_ids)
    gt_masks = _first_masks(gt_masks, n_gt, "gt")
    pred_boxes = np.asarray(pred_boxes)
    n_pred = _count_before_padding(pred_boxes)
    pred_boxes = pred_boxes[:n_pred]
    pred_scores = np.asarray(pred_scores)[:n_pred]
    if pred_scores.shape[0] != pred_boxes.shape[0]:
        raise ValueError("pred_scores has {} entries for {} pred_boxes"
                         .format(pred_scores.shape[0], pred_boxes.shape[0]))
    if gt_class_ids.shape[0] < gt_boxes.shape[0]:
        raise ValueError("gt_class_ids has {} entries for {} gt_boxes"
                         .format(gt_class_ids.shape[0], gt_boxes.shape[0]))
    pred_masks = _first_masks(pred_masks, n_pred, "pred")
    # A gt instance without any pixel (inside the array, not padding) cannot be found by mask
    # IoU: it never takes a prediction and is not counted (see compute_ap).
    gt_present = _mask_present(gt_masks)
    # Sort predictions by score from high to low.
    indices = np.argsort(pred_scores)[::-1]
    pred_boxes = pred_boxes[indices]
    pred_class_ids = np.asarray(pred_class_ids)[indices]
    pred_masks = np.asarray(pred_masks)[..., indices]

    # [pred, gt] mask IoU.
    overlaps = compute_overlaps_masks(pred_masks, gt_masks)

    pred_match = -1 * np.ones([pred_boxes.shape[0]])
    gt_match = -1 * np.ones([gt_boxes.shape[0]])
    # Greedy in score order: each prediction depends on the gt the previous ones took.
    for i in range(len(pred_boxes)):
        # GT by decreasing IoU (ties as Matterport's argsort), keeping those that are free,
        # reach both thresholds and have the prediction's class; take the first.
        order = np.argsort(overlaps[i])[::-1]
        iou = overlaps[i, order]
        ok = ((gt_match[order] == -1) & (iou >= score_threshold) & (iou >= iou_threshold)
              & (gt_class_ids[order] == pred_class_ids[i]) & gt_present[order])
        if ok.any():
            j = order[np.argmax(ok)]
            gt_match[j] = i
            pred_match[i] = j
    return gt_match, pred_match, overlaps


def _count_before_padding(boxes):
    """Rows of ``boxes`` [N, 4] up to the last one that is not all zero (trailing padding off)."""
    if boxes.ndim != 2:
        raise ValueError("boxes must be [N, 4], got shape {}".format(boxes.shape))
    nonzero = np.flatnonzero(np.any(boxes != 0, axis=1))
    return int(nonzero[-1]) + 1 if nonzero.size else 0


def _first_masks(masks, count, name):
    """masks[..., :count], checked to hold ``count`` masks."""
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[-1] < count:
        raise ValueError("{}_masks has shape {} but {}_boxes has {} instances; masks must be "
                         "[height, width, instances]".format(name, masks.shape, name, count))
    return masks[..., :count]


def _mask_present(masks):
    """bool [N]: whether each of masks [H, W, N] has a foreground pixel (> 0.5, as the IoU)."""
    return np.any(masks > 0.5, axis=(0, 1)) if masks.shape[-1] else np.zeros(0, bool)


def compute_ap(gt_boxes, gt_class_ids, gt_masks,
               pred_boxes, pred_class_ids, pred_scores, pred_masks,
               iou_threshold=0.5):
    """Computes Average Precision at a set IoU threshold (default 0.5).

    Arguments as compute_matches().

    Returns:
        mAP: Mean Average Precision (float; 0 when there is no gt or no prediction).
        precisions: [M + 2] precision envelope at each prediction (padded with 0 at both ends).
        recalls: [M + 2] recall at each prediction (padded with 0 at the start and 1 at the end).
        overlaps: [pred_boxes, gt_boxes] IoU overlaps.
    """
    gt_match, pred_match, overlaps = compute_matches(
        gt_boxes, gt_class_ids, gt_masks,
        pred_boxes, pred_class_ids, pred_scores, pred_masks,
        iou_threshold)
    # The gt to find: those compute_matches kept, less the ones without any pixel.
    n_gt = int(_mask_present(_first_masks(gt_masks, len(gt_match), "gt")).sum())

    # Precision and recall after each prediction (in score order).
    true_positives = np.cumsum(pred_match > -1)
    precisions = true_positives / (np.arange(len(pred_match)) + 1)
    if n_gt:
        recalls = true_positives.astype(np.float32) / n_gt
    else:
        recalls = np.zeros(len(pred_match), dtype=np.float32)

    # Pad with start and end values to simplify the math.
    precisions = np.concatenate([[0], precisions, [0]])
    recalls = np.concatenate([[0], recalls, [1]])

    # Precision envelope: at each recall, the best precision at that recall or any higher one.
    precisions = np.maximum.accumulate(precisions[::-1])[::-1]

    # Area under the envelope, summed where recall changes.
    indices = np.where(recalls[:-1] != recalls[1:])[0] + 1
    mAP = np.sum((recalls[indices] - recalls[indices - 1]) * precisions[indices])
    return mAP, precisions, recalls, overlaps


def compute_ap_range(gt_box, gt_class_id, gt_mask,
                     pred_box, pred_class_id, pred_score, pred_mask,
                     iou_thresholds=None, verbose=1):
    """Computes AP over a range of IoU thresholds. Default range is 0.5-0.95 (step 0.05).

    Arguments as compute_ap(); iou_thresholds: sequence of IoU thresholds (a list or an
    array: Matterport's `iou_thresholds or default` failed on arrays).
    verbose: print the AP at each threshold and the mean.

    Returns: the mean of the APs over the thresholds (float).
    """
    if iou_thresholds is None:
        iou_thresholds = np.arange(0.5, 1.0, 0.05)
    iou_thresholds = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
    if iou_thresholds.size == 0:
        raise ValueError("iou_thresholds is empty")
    AP = []
    for iou_threshold in iou_thresholds:
        ap, _, _, _ = compute_ap(gt_box, gt_class_id, gt_mask,
                                 pred_box, pred_class_id, pred_score, pred_mask,
                                 iou_threshold=iou_threshold)
        if verbose:
            print("AP @{:.2f}:\t {:.3f}".format(iou_threshold, ap))
        AP.append(ap)
    AP = np.array(AP).mean()
    if verbose:
        print("AP @{:.2f}-{:.2f}:\t {:.3f}".format(iou_thresholds[0], iou_thresholds[-1], AP))
    return AP


def compute_recall(pred_boxes, gt_boxes, iou):
    """Computes the recall at the given IoU threshold. It's an indication of how many GT
    boxes were found by the given prediction boxes.

    pred_boxes: [N, (y1, x1, y2, x2)] in image coordinates
    gt_boxes: [M, (y1, x1, y2, x2)] in image coordinates
    iou: IoU threshold.

    Returns:
        recall: fraction of gt boxes that are the best match (highest IoU) of at least one
            prediction with IoU >= iou; 0.0 when there are no gt boxes (Matterport divided by
            zero) or no predictions.
        positive_ids: int [K] indices of the predictions whose best IoU is >= iou.
    """
    overlaps = compute_overlaps(pred_boxes, gt_boxes)
    if overlaps.shape[0] == 0 or overlaps.shape[1] == 0:
        return 0.0, np.zeros([0], dtype=np.int64)
    iou_max = np.max(overlaps, axis=1)
    iou_argmax = np.argmax(overlaps, axis=1)
    positive_ids = np.where(iou_max >= iou)[0]
    matched_gt_boxes = iou_argmax[positive_ids]
    recall = len(np.unique(matched_gt_boxes)) / overlaps.shape[1]
    return recall, positive_ids
