"""Where a model goes wrong, image by image: found, missed, confused and hallucinated objects at
one mask IoU, the confusion matrix they add up to, and the images ordered worst first.

Glossary (detections and ids as in :mod:`mrcnn.evaluation.coco_format`):
    considered   the detections of an image with score >= ``min_score`` that do not lie in a crowd
                 region of their class (:func:`mrcnn.evaluation.evaluator.on_crowd`, ignored as
                 COCO ignores them); crowd regions are never ground truth to find.
    true positive  a considered detection matched to a ground-truth instance of its own class by
                 Matterport's greedy ``compute_matches`` (mask IoU >= ``iou_threshold``, highest
                 score first).
    confusion    a detection and a ground-truth instance of different classes, both left over by
                 the first matching, matched by a second, class-agnostic ``compute_matches``
                 (IoU >= ``iou_threshold``): the object was found but taken for another class.
    false negative  a ground-truth instance without a true positive (missed or confused).
    false positive  a considered detection that is no true positive (hallucinated or confused).
    confusion matrix  int [num_classes, num_classes], rows the ground-truth class, columns the
                 predicted class, index 0 "background": cell [g, p] counts the objects of class g
                 detected as p (the diagonal: true positives), [g, 0] the missed objects of class
                 g, [0, p] the detections of class p that match nothing (hallucinated).
                 Row g sums to the ground-truth instances of class g; column p to the considered
                 detections of class p.
"""
from dataclasses import dataclass

import numpy as np
import pycocotools.mask as mask_utils

from mrcnn.core.boxes import extract_bboxes
from mrcnn.core.metrics import compute_matches
from mrcnn.evaluation.evaluator import on_crowd

__all__ = ["ImageErrors", "match_image", "group_by_image", "image_instances", "evaluator_errors",
           "confusion_matrix", "worst_first"]


@dataclass
class ImageErrors:
    """The matching of one image's considered detections to its ground truth.

    image_id: the dataset's image id.
    gt_class_ids: int [G], the regular (non-crowd) ground truth, in the order given.
    pred_class_ids: int [D], pred_scores: float [D], the considered detections, highest score
        first; pred_index: int [D], the position of each in the detections as given.
    gt_match: int [G], the considered detection (index into the D) matched to each ground-truth
        instance, of either class, -1 for none; pred_match: int [D], the converse.
    """
    image_id: int
    gt_class_ids: np.ndarray
    pred_class_ids: np.ndarray
    pred_scores: np.ndarray
    pred_index: np.ndarray
    gt_match: np.ndarray
    pred_match: np.ndarray

    @property
    def gt_found(self):
        """bool [G]: matched by a detection of its own class (a true positive)."""
        matched = self.gt_match > -1
        found = np.zeros_like(matched)
        found[matched] = (self.pred_class_ids[self.gt_match[matched]]
                          == self.gt_class_ids[matched])
        return found

    @property
    def pred_correct(self):
        """bool [D]: a true positive."""
        matched = self.pred_match > -1
        correct = np.zeros_like(matched)
        correct[matched] = (self.gt_class_ids[self.pred_match[matched]]
                            == self.pred_class_ids[matched])
        return correct

    @property
    def false_negatives(self):
        return int(np.sum(~self.gt_found))

    @property
    def false_positives(self):
        return int(np.sum(~self.pred_correct))

    @property
    def errors(self):
        """False positives + false negatives: a confusion counts twice, as it does in AP."""
        return self.false_negatives + self.false_positives

    def messages(self, class_names):
        """The image's errors in words, one str each: "missed <class>" per missed object,
        "<class> taken for <class> (score)" per confusion, "false positive <class> (score)" per
        hallucinated detection; ground truth in its order, then detections by score."""
        lines = []
        for g, class_id in enumerate(self.gt_class_ids):
            p = self.gt_match[g]
            if p == -1:
                lines.append(f"missed {class_names[class_id]}")
            elif self.pred_class_ids[p] != class_id:
                lines.append(f"{class_names[class_id]} taken for "
                             f"{class_names[self.pred_class_ids[p]]} ({self.pred_scores[p]:.2f})")
        for p, class_id in enumerate(self.pred_class_ids):
            if self.pred_match[p] == -1:
                lines.append(f"false positive {class_names[class_id]} "
                             f"({self.pred_scores[p]:.2f})")
        return lines


def match_image(gt_masks, gt_class_ids, rois, class_ids, scores, masks, iou_threshold=0.5,
                min_score=0.5, image_id=0):
    """The :class:`ImageErrors` of one image.

    gt_masks: bool [H, W, G]; gt_class_ids: int [G], negative for crowd regions of class -id.
    rois: [N, (y1, x1, y2, x2)] pixels; class_ids: int [N]; scores: [N]; masks: bool [H, W, N]:
        the detections as detect() returns them (original image size).
    iou_threshold: mask IoU for a match; min_score: detections below it are not considered.
    """
    gt_masks = np.asarray(gt_masks, dtype=bool)
    gt_class_ids = np.asarray(gt_class_ids).reshape(-1).astype(np.int64)
    rois = np.asarray(rois).reshape(-1, 4)
    class_ids = np.asarray(class_ids).reshape(-1).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    masks = np.asarray(masks, dtype=bool)
    if gt_masks.ndim != 3 or gt_masks.shape[2] != gt_class_ids.shape[0]:
        raise ValueError(f"image {image_id}: gt_masks {gt_masks.shape} must be [H, W, G] for "
                         f"{gt_class_ids.shape[0]} gt_class_ids")
    n = class_ids.shape[0]
    if rois.shape[0] != n or scores.shape[0] != n or masks.ndim != 3 or masks.shape[2] != n:
        raise ValueError(f"image {image_id}: rois {rois.shape}, class_ids {class_ids.shape}, "
                         f"scores {scores.shape} and masks {masks.shape} must be [N, 4], [N], "
                         f"[N] and [H, W, N]")
    if masks.shape[:2] != gt_masks.shape[:2]:
        raise ValueError(f"image {image_id}: detection masks are {masks.shape[:2]} but the "
                         f"ground truth is {gt_masks.shape[:2]}")
    regular = gt_class_ids > 0
    gt_masks, crowd_masks = gt_masks[..., regular], gt_masks[..., ~regular]
    crowd_ids, gt_class_ids = -gt_class_ids[~regular], gt_class_ids[regular]
    keep = np.flatnonzero((scores >= min_score)
                          & ~on_crowd(masks, class_ids, crowd_masks, crowd_ids, gt_masks,
                                      gt_class_ids, threshold=iou_threshold))
    rois, class_ids, scores, masks = rois[keep], class_ids[keep], scores[keep], masks[..., keep]
    gt_boxes = extract_bboxes(gt_masks)

    # compute_matches indexes the detections in its own score order.
    order = np.argsort(scores)[::-1]
    gt_match, pred_match, _ = compute_matches(gt_boxes, gt_class_ids, gt_masks, rois,
                                              class_ids, scores, masks,
                                              iou_threshold=iou_threshold)
    gt_match, pred_match = gt_match.astype(np.int64), pred_match.astype(np.int64)
    # What is left over, matched across classes.
    free_gt, free_pred = np.flatnonzero(gt_match == -1), np.flatnonzero(pred_match == -1)
    if free_gt.size and free_pred.size:
        sorted_pred = order[free_pred]
        cross_gt, _, _ = compute_matches(
            gt_boxes[free_gt], np.zeros(free_gt.size), gt_masks[..., free_gt],
            rois[sorted_pred], np.zeros(free_pred.size), scores[sorted_pred],
            masks[..., sorted_pred], iou_threshold=iou_threshold)
        cross_order = np.argsort(scores[sorted_pred])[::-1]
        for k, c in enumerate(cross_gt.astype(np.int64)):
            if c > -1:
                p = free_pred[cross_order[c]]
                gt_match[free_gt[k]] = p
                pred_match[p] = free_gt[k]
    return ImageErrors(image_id=int(image_id), gt_class_ids=gt_class_ids,
                       pred_class_ids=class_ids[order], pred_scores=scores[order],
                       pred_index=keep[order], gt_match=gt_match, pred_match=pred_match)


def _decode(rles, shape):
    """bool [H, W, N] of pycocotools RLEs (str or bytes counts)."""
    if not rles:
        return np.zeros(tuple(shape) + (0,), dtype=bool)
    rles = [dict(r, counts=r["counts"].encode("ascii") if isinstance(r["counts"], str)
                 else r["counts"]) for r in rles]
    return mask_utils.decode(rles).astype(bool)


def group_by_image(evaluator):
    """{image_id: (COCO image entry, its ground-truth annotations, its results)} of what an
    :class:`~mrcnn.evaluation.evaluator.Evaluator` holds, images in the order added."""
    groups = {info["id"]: (info, [], []) for info in evaluator.images}
    for a in evaluator.annotations:
        groups[a["image_id"]][1].append(a)
    for r in evaluator.results:
        groups[r["image_id"]][2].append(r)
    return groups


def image_instances(group):
    """One image of :func:`group_by_image`, decoded: (gt_masks bool [H, W, G], gt_class_ids [G]
    negative for crowds, rois [N, (y1, x1, y2, x2)], class_ids [N], scores [N], masks bool
    [H, W, N]), detections in the order they were added."""
    info, gt, dets = group
    shape = (info["height"], info["width"])
    gt_class_ids = np.array([-a["category_id"] if a["iscrowd"] else a["category_id"]
                             for a in gt], np.int64)
    boxes = np.array([r["bbox"] for r in dets], np.float64).reshape(-1, 4)   # x, y, w, h
    rois = np.round(np.stack([boxes[:, 1], boxes[:, 0], boxes[:, 1] + boxes[:, 3],
                              boxes[:, 0] + boxes[:, 2]], axis=1)).astype(np.int32)
    return (_decode([a["segmentation"] for a in gt], shape), gt_class_ids, rois,
            np.array([r["category_id"] for r in dets], np.int64),
            np.array([r["score"] for r in dets], np.float64),
            _decode([r["segmentation"] for r in dets], shape))


def evaluator_errors(evaluator, iou_threshold=0.5, min_score=0.5):
    """:class:`ImageErrors` of every image added to ``evaluator``, in the order added."""
    return [match_image(*image_instances(group), iou_threshold=iou_threshold,
                        min_score=min_score, image_id=image_id)
            for image_id, group in group_by_image(evaluator).items()]


def confusion_matrix(records, num_classes):
    """int64 [num_classes, num_classes] of a list of :class:`ImageErrors` (see the glossary)."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    for r in records:
        for g, class_id in enumerate(r.gt_class_ids):
            p = r.gt_match[g]
            matrix[class_id, r.pred_class_ids[p] if p > -1 else 0] += 1
        for p, class_id in enumerate(r.pred_class_ids):
            if r.pred_match[p] == -1:
                matrix[0, class_id] += 1
    return matrix


def worst_first(records):
    """The records by decreasing errors (false positives + false negatives), ties by image id."""
    return sorted(records, key=lambda r: (-r.errors, r.image_id))
