"""Evaluation results for people and files: a text table and a JSON file.

Glossary: ``results`` is the dict :func:`mrcnn.evaluate.evaluate_detections` returns; -1 in it
means "nothing to measure" (pycocotools' convention) and prints as "-".
"""
import datetime
import re
import textwrap

from mrcnn.evaluation.coco_format import write_json
from mrcnn.evaluation.evaluator import COCO_STATS, IOU_TYPES

__all__ = ["VOC_VS_COCO", "format_results", "save_results", "with_provenance"]

_PR_KEY = re.compile(r"^voc/precision@score(.+)$")

#: Why the table's VOC mAP@0.5 and COCO AP50 differ (printed under them).
VOC_VS_COCO = (
    "VOC mAP@0.5 and COCO AP50 differ by design: VOC is Matterport's compute_ap, the all-point "
    "interpolated AP of each image's detections (all classes ranked together, mask IoU 0.5) "
    "averaged over the images with ground truth, while COCO AP50 ranks each class's detections "
    "over the whole set (at most 100 per image, crowds ignored, mask IoU for segm and box IoU "
    "for bbox), averages the precision at 101 recall points and then averages over the classes.")


def _number(value, width=7):
    """A figure with 3 decimals, right-aligned; "-" for -1 and missing values."""
    if value is None or value == -1:
        return "-".rjust(width)
    return f"{value:.3f}".rjust(width)


def format_results(results):
    """The results as a text table: COCO figures per iou type, VOC figures, precision/recall
    at each score threshold, and the per-class AP table. Returns a str (lines joined by "\\n")."""
    lines = []
    iou_types = [t for t in IOU_TYPES if f"{t}/AP" in results]
    if iou_types:
        lines.append("COCO".ljust(8) + "".join(t.rjust(8) for t in iou_types))
        for stat in COCO_STATS:
            lines.append(stat.ljust(8) + "".join(
                " " + _number(results.get(f"{t}/{stat}")) for t in iou_types))
        lines.append("")
    with_gt = results.get("num_images_with_gt", "?")
    lines.append(f"VOC (mask IoU, mean over {with_gt} of {results.get('num_images', '?')} "
                 f"images with ground truth)")
    for key in ("voc/mAP@0.5", "voc/mAP@[0.5:0.95]"):
        lines.append(key[4:].ljust(16) + _number(results.get(key)))
    if iou_types:
        lines += textwrap.wrap(VOC_VS_COCO, 100)
    thresholds = [m.group(1) for m in map(_PR_KEY.match, results) if m]
    if thresholds:
        lines.append("")
        lines.append(f"Precision / recall at mask IoU {results.get('pr_iou_threshold', 0.5):g} "
                     f"({results.get('num_gt', '?')} instances, "
                     f"{results.get('num_detections', '?')} detections)")
        lines.append("score >=  precision  recall")
        for t in thresholds:
            lines.append(t.ljust(9) + "  " + _number(results.get(f"voc/precision@score{t}"), 9)
                         + _number(results.get(f"voc/recall@score{t}"), 8))
    per_class = results.get("per_class") or []
    if per_class:
        columns = [f"{t}/{s}" for t in iou_types for s in ("AP", "AP50")]
        width = max([4] + [len(str(row["name"])) for row in per_class])
        lines.append("")
        lines.append("id".rjust(3) + "  " + "class".ljust(width) + "     gt  dets"
                     + "".join(c.rjust(11) for c in columns))
        for row in per_class:
            lines.append(str(row["class_id"]).rjust(3) + "  " + str(row["name"]).ljust(width)
                         + str(row["num_gt"]).rjust(7) + str(row["num_detections"]).rjust(6)
                         + "".join(_number(row.get(c), 11) for c in columns))
    return "\n".join(lines)


def save_results(results, path):
    """Write the results dict to the JSON file ``path`` (indented); returns ``path``."""
    write_json(path, results, indent=2)
    return path


def with_provenance(results, config=None, **about):
    """A copy of ``results`` with a "provenance" dict saying what produced them: the ``about``
    items (e.g. weights="path.h5", dataset="via:..."), "config" (``config.to_dict()``; None
    without a config or for one holding a value that is not data), "mrcnn_version" and "date"
    (UTC, ISO 8601)."""
    import mrcnn
    from mrcnn.config import ConfigError
    try:
        settings = config.to_dict() if config is not None else None
    except ConfigError:
        settings = None
    provenance = dict(about, config=settings, mrcnn_version=mrcnn.__version__,
                      date=datetime.datetime.now(datetime.timezone.utc).isoformat(
                          timespec="seconds"))
    return dict(results, provenance=provenance)
