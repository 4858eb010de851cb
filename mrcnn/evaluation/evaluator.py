"""Score detections against a Dataset: COCO AP/AR (pycocotools), VOC mAP, precision/recall.

Glossary (see :mod:`mrcnn.evaluation.coco_format` for detections, ids and the COCO format):
    COCO figures   pycocotools' 12 summary numbers per iou type ("bbox": box IoU, "segm": mask
                   IoU): AP (mean over IoU 0.50:0.95), AP50, AP75, APs/APm/APl (small, medium,
                   large objects), AR1/AR10/AR100 (recall with at most 1/10/100 detections per
                   image), ARs/ARm/ARl. -1 where pycocotools has nothing to average (no ground
                   truth).
    crowd          a ground-truth region with a negative class id: COCO matches detections inside
                   it (intersection over the detection's area >= the IoU threshold) to it and
                   ignores them instead of counting false positives; it is never a miss.
    VOC figures    Matterport's notebook metrics: per image compute_ap (mask IoU 0.5) and
                   compute_ap_range (mask IoU 0.5:0.95), averaged over the images that have
                   ground truth.
    precision / recall at a score threshold: over all images, detections with score >= the
                   threshold matched (mask IoU >= pr_iou_threshold, Matterport's greedy
                   compute_matches) to ground truth: precision = TP / detections, recall =
                   TP / ground-truth instances; -1 when the denominator is 0.

Crowds in the VOC figures and precision/recall (Matterport's notebooks had no rule for them):
crowd regions are not ground truth to find, and a detection lying in a crowd region of its
class (intersection >= half of its mask) that matches no other ground truth of its class at
IoU 0.5 is left out, as COCO ignores it.

Memory: images are added one at a time and only their RLEs and match flags are kept, so
evaluating a large set does not hold every mask.
"""
import numbers
from collections.abc import Mapping

import numpy as np

from mrcnn.config import check_dataset_classes
from mrcnn.core.boxes import extract_bboxes
from mrcnn.core.masks import compute_overlaps_masks
from mrcnn.core.metrics import compute_ap, compute_ap_range, compute_matches
from mrcnn.evaluation.coco_format import (
    categories,
    check_detection,
    check_image_id,
    detection_results,
    ground_truth_annotations,
    load_coco_results,
    load_ground_truth,
    make_coco,
    quiet,
    to_source_ids,
    write_json,
)

__all__ = ["COCO_STATS", "IOU_TYPES", "DEFAULT_SCORE_THRESHOLDS", "Evaluator",
           "evaluate_detections", "evaluate_model", "score_thresholds_for"]

COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
"""Names of pycocotools' ``COCOeval.stats`` in order; results keys are "<iou_type>/<name>"."""

IOU_TYPES = ("bbox", "segm")

DEFAULT_SCORE_THRESHOLDS = (0.5, 0.7, 0.9)


def score_thresholds_for(min_confidence, thresholds=DEFAULT_SCORE_THRESHOLDS):
    """The ``thresholds`` at or above ``min_confidence`` (a model's DETECTION_MIN_CONFIDENCE:
    its detections all score at least that, so a row below it would repeat the row at it);
    ``(min_confidence,)`` when none is."""
    kept = tuple(t for t in thresholds if t >= min_confidence)
    return kept or (float(min_confidence),)


def _check_iou_types(iou_types):
    if isinstance(iou_types, str):
        iou_types = (iou_types,)
    iou_types = tuple(iou_types)
    unknown = [t for t in iou_types if t not in IOU_TYPES]
    if unknown or len(set(iou_types)) != len(iou_types):
        raise ValueError(f"iou_types must be distinct names among {IOU_TYPES}, got {iou_types}")
    return iou_types


def _check_thresholds(values, name):
    values = tuple(values)
    if not all(isinstance(v, numbers.Real) and 0 <= v <= 1 for v in values):
        raise ValueError(f"{name} must be numbers in [0, 1], got {values}")
    return values


def on_crowd(masks, class_ids, crowd_masks, crowd_class_ids, gt_masks, gt_class_ids,
             threshold=0.5):
    """Which detections lie in a crowd region of their class and match no regular ground truth.

    masks: bool [H, W, N] detections, class_ids [N]; crowd_masks [H, W, C] with the positive
    class ids [C] of the crowds; gt_masks [H, W, G] regular ground truth with class ids [G].
    Returns bool [N]: intersection with a same-class crowd >= threshold * the detection's area,
    and mask IoU < threshold with every regular ground truth of its class.
    """
    n = masks.shape[2]
    if n == 0 or crowd_masks.shape[2] == 0:
        return np.zeros([n], dtype=bool)
    flat = masks.reshape(-1, n).astype(np.float32)
    crowd = crowd_masks.reshape(-1, crowd_masks.shape[2]).astype(np.float32)
    intersection = flat.T @ crowd                                 # [N, C]
    area = flat.sum(axis=0)[:, None]
    same = class_ids[:, None] == crowd_class_ids[None, :]
    in_crowd = np.any(same & (intersection >= threshold * area) & (area > 0), axis=1)
    iou = compute_overlaps_masks(masks, gt_masks)                 # [N, G]
    matches = np.any((class_ids[:, None] == gt_class_ids[None, :]) & (iou >= threshold), axis=1)
    return in_crowd & ~matches


def _mean_valid(values):
    """Mean of the entries > -1 (pycocotools marks 'nothing to average' with -1), else -1."""
    values = np.asarray(values)
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else -1.0


class Evaluator:
    """Accumulates the detections of a dataset's images one by one, then scores them.

    dataset: the prepared Dataset (ground truth from ``load_mask``, original image size).
    iou_types: COCO evaluations to run, among ("bbox", "segm"); () for the VOC figures only.
    score_thresholds: scores at which precision and recall are reported.
    pr_iou_threshold: mask IoU at which a detection counts as found for precision/recall.

    Use :meth:`add` for each image, then :meth:`summarize`; :func:`evaluate_detections` and
    :func:`evaluate_model` do both.
    """

    def __init__(self, dataset, iou_types=IOU_TYPES, score_thresholds=DEFAULT_SCORE_THRESHOLDS,
                 pr_iou_threshold=0.5):
        self.dataset = dataset
        self.iou_types = _check_iou_types(iou_types)
        self.score_thresholds = _check_thresholds(score_thresholds, "score_thresholds")
        (self.pr_iou_threshold,) = _check_thresholds([pr_iou_threshold], "pr_iou_threshold")
        self.images = []             # COCO image entries
        self._added = set()          # their ids
        self.annotations = []        # COCO ground-truth annotations (crowds included)
        self.results = []            # COCO results, internal ids
        self.voc_ap = []             # per image with ground truth: compute_ap at IoU 0.5
        self.voc_ap_range = []       # ... and compute_ap_range 0.5:0.95
        self._scores = []            # per image: detection scores, highest first
        self._matched = []           # per image: bool, whether each of those is a TP
        self.num_gt = 0
        self.num_crowd = 0
        self.num_on_crowd = 0
        self.pr_curves = {}          # per iou type, after summarize: see _coco_eval

    def add(self, image_id, detection):
        """Add one image: ``detection`` is the dict detect() returned for ``image_id``.

        Raises ValueError naming the image when an id is added twice, the masks are not the size
        of the image's ground truth, or an array is malformed.
        """
        image_id = check_image_id(self.dataset, image_id)
        if image_id in self._added:
            raise ValueError(f"image {image_id} was added twice")
        rois, class_ids, scores, masks = check_detection(self.dataset, image_id, detection)
        gt_mask, gt_class_ids = load_ground_truth(self.dataset, image_id,
                                                  image_shape=masks.shape[:2])
        if masks.shape[:2] != gt_mask.shape[:2]:
            raise ValueError(
                f"detections[{image_id}]: masks are {masks.shape[0]}x{masks.shape[1]} but the "
                f"image's ground truth is {gt_mask.shape[0]}x{gt_mask.shape[1]}; detections must "
                f"be in original image pixels, as detect() returns them")
        self._added.add(image_id)
        self.images.append({"id": image_id, "height": int(gt_mask.shape[0]),
                            "width": int(gt_mask.shape[1])})
        self.annotations += ground_truth_annotations(image_id, gt_mask, gt_class_ids,
                                                     first_id=len(self.annotations) + 1)
        self.results += detection_results(image_id, rois, class_ids, scores, masks)
        self._add_matches(gt_mask, gt_class_ids, rois, class_ids, scores, masks)

    def _add_matches(self, gt_mask, gt_class_ids, rois, class_ids, scores, masks):
        """VOC APs of the image and its detections' match flags (crowds left out)."""
        regular = gt_class_ids > 0
        gt_masks, gt_ids = gt_mask[..., regular], gt_class_ids[regular]
        ignore = on_crowd(masks, class_ids, gt_mask[..., ~regular], -gt_class_ids[~regular],
                          gt_masks, gt_ids)
        keep = ~ignore
        rois, class_ids, scores = rois[keep], class_ids[keep], scores[keep]
        masks = masks[..., keep]
        self.num_gt += int(regular.sum())
        self.num_crowd += int((~regular).sum())
        self.num_on_crowd += int(ignore.sum())
        gt_boxes = extract_bboxes(gt_masks)
        if gt_ids.shape[0]:
            ap = compute_ap(gt_boxes, gt_ids, gt_masks, rois, class_ids, scores, masks,
                            iou_threshold=0.5)[0]
            ap_range = compute_ap_range(gt_boxes, gt_ids, gt_masks, rois, class_ids, scores,
                                        masks, verbose=0)
            self.voc_ap.append(float(ap))
            self.voc_ap_range.append(float(ap_range))
        _, pred_match, _ = compute_matches(gt_boxes, gt_ids, gt_masks, rois, class_ids, scores,
                                           masks, iou_threshold=self.pr_iou_threshold)
        order = np.argsort(scores)[::-1]          # compute_matches' order
        self._scores.append(scores[order])
        self._matched.append(pred_match > -1)

    def coco_results(self, source_ids=None):
        """The added detections as COCO results (see
        :func:`mrcnn.evaluation.coco_format.to_source_ids` for ``source_ids``)."""
        return to_source_ids(self.dataset, self.results, source_ids)

    def summarize(self, verbose=0):
        """Score everything added so far.

        verbose: 0 silent; 1 print :func:`format_results`' table; 2 also pycocotools' output.
        Returns the results dict (see :func:`evaluate_detections`).
        """
        if not self.images:
            raise ValueError("no image to evaluate: add detections of at least one image")
        results = {}
        num_classes = self.dataset.num_classes
        gt_counts = np.bincount(
            np.array([a["category_id"] for a in self.annotations if not a["iscrowd"]], np.int64),
            minlength=num_classes)
        det_counts = np.bincount(np.array([r["category_id"] for r in self.results], np.int64),
                                 minlength=num_classes)
        per_class = [{"class_id": c, "name": self.dataset.class_names[c],
                      "num_gt": int(gt_counts[c]), "num_detections": int(det_counts[c])}
                     for c in range(1, num_classes)]

        if self.iou_types:
            coco_gt = make_coco({"images": list(self.images), "annotations": self.annotations,
                                 "categories": categories(self.dataset)}, verbose=verbose)
            for iou_type in self.iou_types:
                stats, class_aps = self._coco_eval(coco_gt, iou_type, verbose)
                for name, value in zip(COCO_STATS, stats):
                    results[f"{iou_type}/{name}"] = float(value)
                for row in per_class:
                    row.update({f"{iou_type}/{k}": v
                                for k, v in class_aps[row["class_id"]].items()})

        results["voc/mAP@0.5"] = float(np.mean(self.voc_ap)) if self.voc_ap else -1.0
        results["voc/mAP@[0.5:0.95]"] = (float(np.mean(self.voc_ap_range))
                                         if self.voc_ap_range else -1.0)
        scores = np.concatenate(self._scores)
        matched = np.concatenate(self._matched)
        for t in self.score_thresholds:
            selected = scores >= t
            tp = int(np.sum(matched & selected))
            detections = int(selected.sum())
            results[f"voc/precision@score{t:g}"] = tp / detections if detections else -1.0
            results[f"voc/recall@score{t:g}"] = tp / self.num_gt if self.num_gt else -1.0
        results.update({
            "pr_iou_threshold": float(self.pr_iou_threshold),
            "num_images": len(self.images),
            "num_images_with_gt": len(self.voc_ap),
            "num_gt": self.num_gt,
            "num_crowd": self.num_crowd,
            "num_detections": len(self.results),
            "num_detections_on_crowd": self.num_on_crowd,
            "per_class": per_class,
        })
        if verbose:
            from mrcnn.evaluation.report import format_results
            print(format_results(results))
        return results

    def _coco_eval(self, coco_gt, iou_type, verbose):
        """pycocotools' COCOeval of one iou type: (12 stats, {class_id: {AP, AP50, AP75}})."""
        from pycocotools.cocoeval import COCOeval

        if iou_type == "segm":
            # As the COCO server scores segm submissions (and detectron2): without "bbox",
            # loadRes takes each result's area from its mask, which sets its size range.
            results = [{k: v for k, v in r.items() if k != "bbox"} for r in self.results]
        else:
            results = [{k: v for k, v in r.items() if k != "segmentation"} for r in self.results]
        coco_dt = load_coco_results(coco_gt, results, verbose=verbose)
        coco_eval = COCOeval(coco_gt, coco_dt, iou_type)
        with quiet(verbose):
            if verbose > 1:
                print(f"\nCOCO evaluation, iou type {iou_type!r}")
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        # precision: [IoU thresholds, recall points, classes, area ranges, max dets]; area range
        # 0 is "all", max dets -1 is 100, as pycocotools' AP.
        precision = coco_eval.eval["precision"][:, :, :, 0, -1]
        thresholds = coco_eval.params.iouThrs
        at50, at75 = np.isclose(thresholds, 0.5), np.isclose(thresholds, 0.75)
        # The curves behind the per-class AP50: {"recall": [R], "precision": {class_id: [R]}}
        # (-1 for a class without ground truth), for the HTML report.
        self.pr_curves[iou_type] = {
            "recall": np.asarray(coco_eval.params.recThrs, np.float64),
            "precision": {int(c): precision[at50, :, k][0]
                          for k, c in enumerate(coco_eval.params.catIds)}}
        class_aps = {int(c): {"AP": _mean_valid(precision[:, :, k]),
                              "AP50": _mean_valid(precision[at50, :, k]),
                              "AP75": _mean_valid(precision[at75, :, k])}
                     for k, c in enumerate(coco_eval.params.catIds)}
        return coco_eval.stats, class_aps


def evaluate_detections(dataset, detections, iou_types=IOU_TYPES,
                        score_thresholds=DEFAULT_SCORE_THRESHOLDS, pr_iou_threshold=0.5,
                        verbose=0):
    """COCO and VOC figures of detections against the dataset's own ground truth.

    dataset: the prepared Dataset; its ``load_mask`` gives the ground truth (original size).
    detections: {image_id: the dict detect() returns for that image}; only these images are
        evaluated.
    iou_types: COCO evaluations, among ("bbox", "segm"); () for the VOC figures only.
    score_thresholds: scores at which precision and recall are given.
    pr_iou_threshold: mask IoU for a detection to count as found in precision/recall.
    verbose: 0 silent, 1 print the table, 2 also pycocotools' output.

    Returns a dict:
        "<iou_type>/<stat>" for stat in COCO_STATS ("segm/AP", "bbox/AP50", "segm/AR100" ...),
        "voc/mAP@0.5", "voc/mAP@[0.5:0.95]": mean over images with ground truth (-1 if none),
        "voc/precision@score<t>", "voc/recall@score<t>" for t in score_thresholds,
        "pr_iou_threshold", "num_images", "num_images_with_gt", "num_gt" (crowds excluded),
        "num_crowd", "num_detections", "num_detections_on_crowd",
        "per_class": one dict per class 1..num_classes - 1: "class_id", "name", "num_gt",
            "num_detections" and per iou type "<iou_type>/AP", "/AP50", "/AP75" (-1 for a class
            without ground truth).
    """
    if not isinstance(detections, Mapping):
        raise TypeError(f"detections must be a dict {{image_id: detect() result}}, "
                        f"got {type(detections).__name__}")
    if not detections:
        raise ValueError("detections is empty: there is nothing to evaluate")
    evaluator = Evaluator(dataset, iou_types, score_thresholds, pr_iou_threshold)
    for image_id in sorted(detections, key=lambda i: check_image_id(dataset, i)):
        evaluator.add(image_id, detections[image_id])
    return evaluator.summarize(verbose=verbose)


def evaluate_model(model, dataset, image_ids=None, batch_size=None, verbose=1,
                   iou_types=IOU_TYPES, score_thresholds=None,
                   pr_iou_threshold=0.5, coco_results_path=None, source_ids=None,
                   report=None, report_images=24, report_min_score=0.5, log_dir=None,
                   provenance=None):
    """Run ``model.detect()`` on the dataset's images and evaluate them.

    model: a MaskRCNN built with mode="inference".
    image_ids: internal image ids to evaluate (default: all of the dataset).
    batch_size: images per detect() call (default: the model's config.BATCH_SIZE).
    verbose: 0 silent; 1 a progress bar (one line at the end when stdout is not a terminal)
        and the results table; 2 also pycocotools' output.
    coco_results_path: if given, the detections are also written there as a COCO results json
        (ids as ``source_ids``, see :func:`mrcnn.evaluation.coco_format.to_source_ids`).
    report: if given, a folder to write an HTML report into (index.html and its PNG pictures,
        :func:`mrcnn.evaluation.html_report.write_report`): the figures, per-class
        precision-recall curves, the confusion matrix and a gallery of the ``report_images``
        worst images, matched at mask IoU 0.5 with detections of score >= ``report_min_score``;
        the training curves of ``log_dir`` (a training log folder with TensorBoard event files);
        ``provenance`` ({label: text}, e.g. {"weights": path, "dataset": name}) says on the page
        what produced it, beside the model's config.
    score_thresholds: as :func:`evaluate_detections`; None: those of DEFAULT_SCORE_THRESHOLDS at
        or above the model's DETECTION_MIN_CONFIDENCE (:func:`score_thresholds_for`).
    Other arguments as :func:`evaluate_detections`, which gives the returned dict.
    Images come from ``dataset.load_image`` at their original size, as the ground truth.
    """
    import keras

    if getattr(model, "mode", None) != "inference" or not hasattr(model, "detect"):
        raise ValueError(f"model: evaluate_model needs a MaskRCNN built with mode='inference', "
                         f"got {type(model).__name__} with mode "
                         f"{getattr(model, 'mode', None)!r}")
    check_dataset_classes(model.config, dataset)        # before any detect()
    image_ids = list(dataset.image_ids if image_ids is None else image_ids)
    if not image_ids:
        raise ValueError("image_ids is empty: there is nothing to evaluate")
    image_ids = [check_image_id(dataset, i) for i in image_ids]
    if batch_size is None:
        batch_size = model.config.BATCH_SIZE
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if report is not None:                              # before any detect()
        from mrcnn.evaluation.html_report import check_report_arguments
        check_report_arguments(report, report_images, report_min_score, log_dir, provenance)

    if score_thresholds is None:
        score_thresholds = score_thresholds_for(
            getattr(model.config, "DETECTION_MIN_CONFIDENCE", 0.0))
    evaluator = Evaluator(dataset, iou_types, score_thresholds, pr_iou_threshold)
    from mrcnn.training.progress import stdout_is_terminal
    # A bar that redraws itself on a terminal; one plain line at the end in a file.
    progbar = keras.utils.Progbar(len(image_ids), unit_name="image",
                                  verbose=0 if not verbose else 1 if stdout_is_terminal() else 2)
    for start in range(0, len(image_ids), batch_size):
        ids = image_ids[start:start + batch_size]
        images = [dataset.load_image(i) for i in ids]
        for image_id, detection in zip(ids, model.detect(images, verbose=0)):
            evaluator.add(image_id, detection)
        progbar.update(start + len(ids))
    if coco_results_path is not None:
        write_json(coco_results_path, evaluator.coco_results(source_ids))
    results = evaluator.summarize(verbose=verbose)
    if report is not None:
        from mrcnn.evaluation.html_report import write_report
        page = write_report(evaluator, results, report, max_images=report_images,
                            min_score=report_min_score, log_dir=log_dir, provenance=provenance,
                            config=model.config)
        if verbose:
            print(f"Report: {page}")
    return results
