"""An evaluation as a static web page: ``DIR/index.html`` with its PNG pictures beside it.

The page opens from disk (no server, no script): the COCO AP/AR figures for boxes and masks,
overall and per class, the VOC figures, per-class precision-recall curves, the confusion matrix
at one mask IoU, a gallery of the evaluated images worst first (ground truth beside detections,
errors listed), the training curves of a log folder, and what produced it (weights, dataset,
config).

Glossary: ``results`` is the dict :meth:`mrcnn.evaluation.evaluator.Evaluator.summarize`
returns; errors, the confusion matrix and "worst" are those of :mod:`mrcnn.evaluation.errors`.
Every figure cell carries ``data-key`` (the results key; per class "class/<id>/<key>") and
``data-value`` (the number as Python's repr), so a reader or a test can check the page against
the results json.
"""
import datetime
import html
import numbers
import os

from mrcnn.core.boxes import extract_bboxes
from mrcnn.evaluation.errors import (
    confusion_matrix,
    evaluator_errors,
    group_by_image,
    image_instances,
    worst_first,
)
from mrcnn.evaluation.evaluator import COCO_STATS, IOU_TYPES
from mrcnn.files import atomic_path

__all__ = ["write_report", "check_report_arguments", "REPORT_PAGE"]

REPORT_PAGE = "index.html"

_STAT_MEANINGS = {
    "AP": "AP at IoU 0.50:0.95", "AP50": "AP at IoU 0.50", "AP75": "AP at IoU 0.75",
    "APs": "AP, small objects (< 32² px)", "APm": "AP, medium objects",
    "APl": "AP, large objects (> 96² px)", "AR1": "AR, 1 detection per image",
    "AR10": "AR, 10 detections per image", "AR100": "AR, 100 detections per image",
    "ARs": "AR, small objects", "ARm": "AR, medium objects", "ARl": "AR, large objects",
}
_IOU_NAMES = {"bbox": "boxes", "segm": "masks"}

_STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1300px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.diag { background: #e3f0e3; } td.bad { background: #f8e0e0; }
table.about td:first-child { font-weight: bold; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.figure { margin: 0.8em 0; }
.card { border: 1px solid #ccc; border-radius: 4px; padding: 0.6em; margin: 1em 0; }
.card h3 { margin: 0 0 0.4em 0; font-size: 1.05em; }
.note { color: #666; }
ul.errors { margin: 0.3em 0; }
"""


def check_report_arguments(out_dir, max_images, min_score, log_dir, provenance):
    """An error naming the argument that cannot work (before an evaluation spends its time):
    FileExistsError for out_dir an existing file, FileNotFoundError for a missing log_dir,
    ValueError for max_images not an int >= 0, min_score not in [0, 1], provenance not a
    {str: text} mapping."""
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise FileExistsError(f"report: {out_dir} is a file, not a folder to write the report "
                              f"into")
    if (isinstance(max_images, bool) or not isinstance(max_images, numbers.Integral)
            or max_images < 0):
        raise ValueError(f"report_images must be an integer >= 0, got {max_images!r}")
    if isinstance(min_score, bool) or not isinstance(min_score, numbers.Real) \
            or not 0 <= min_score <= 1:
        raise ValueError(f"report_min_score must be a number in [0, 1], got {min_score!r}")
    if log_dir is not None and not os.path.isdir(log_dir):
        raise FileNotFoundError(f"log_dir {os.fspath(log_dir)}: no such folder (the training "
                                f"log folder holding TensorBoard event files)")
    if provenance is not None and (not hasattr(provenance, "items")
                                   or not all(isinstance(k, str) for k in provenance)):
        raise ValueError(f"provenance must be a dict {{label: text}}, got {provenance!r}")


def _e(value):
    return html.escape(str(value))


def _number(value):
    """Shown as the text table shows it: 3 decimals, "-" for -1 (nothing to measure)."""
    if value is None or value == -1:
        return "-"
    return f"{value:.3f}"


def _count(number, noun):
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _figure_cell(key, value):
    return (f'<td class="num" data-key="{_e(key)}" data-value="{_e(repr(float(value)))}">'
            f"{_number(value)}</td>")


def _image(src, alt):
    return f'<div class="figure"><img src="{_e(src)}" alt="{_e(alt)}"></div>'


def _about(evaluator, results, provenance, config, log_dir, min_score, iou_threshold):
    dataset = evaluator.dataset
    rows = []
    provenance = dict(provenance or {})
    for label in ("weights", "dataset"):
        rows.append((label, provenance.pop(label, "not given")))
    rows.append(("dataset class", f"{type(dataset).__module__}.{type(dataset).__name__}, "
                                  f"{dataset.num_classes - 1} classes, "
                                  f"{len(dataset.image_ids)} images"))
    if config is not None:
        rows.append(("config", f"{type(config).__name__} (NAME {config.NAME}, BACKBONE "
                               f"{config.BACKBONE}, IMAGE_RESIZE_MODE "
                               f"{config.IMAGE_RESIZE_MODE}, DETECTION_MIN_CONFIDENCE "
                               f"{config.DETECTION_MIN_CONFIDENCE}); all values below"))
    rows += list(provenance.items())
    rows.append(("evaluated", f"{results['num_images']} images ({results['num_images_with_gt']}"
                              f" with ground truth), {results['num_gt']} instances, "
                              f"{results['num_crowd']} crowd regions, "
                              f"{results['num_detections']} detections"))
    rows.append(("errors counted at", f"mask IoU >= {iou_threshold:g}, detections with score "
                                      f">= {min_score:g}"))
    rows.append(("training logs", log_dir if log_dir is not None else "not given"))
    rows.append(("written", datetime.datetime.now().isoformat(timespec="seconds")))
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="about">{body}</table>'


def _coco_table(results, iou_types):
    head = "".join(f"<th>{_e(_IOU_NAMES[t])} ({_e(t)})</th>" for t in iou_types)
    rows = "".join(f"<tr><th>{_e(s)}</th><td>{_e(_STAT_MEANINGS[s])}</td>"
                   + "".join(_figure_cell(f"{t}/{s}", results[f"{t}/{s}"]) for t in iou_types)
                   + "</tr>" for s in COCO_STATS)
    return f"<table><tr><th>COCO</th><th></th>{head}</tr>{rows}</table>"


def _voc_table(results):
    rows = [f"<tr><th>{_e(k[4:])}</th>{_figure_cell(k, results[k])}</tr>"
            for k in ("voc/mAP@0.5", "voc/mAP@[0.5:0.95]")]
    table = ("<p>VOC figures (Matterport's compute_ap on masks), mean over the "
             f"{results['num_images_with_gt']} images with ground truth:</p>"
             f"<table>{''.join(rows)}</table>")
    thresholds = [k[len("voc/precision@score"):] for k in results
                  if k.startswith("voc/precision@score")]
    if thresholds:
        keys = [(f"voc/precision@score{t}", f"voc/recall@score{t}") for t in thresholds]
        pr_rows = "".join(f"<tr><td class=\"num\">{_e(t)}</td>"
                          f"{_figure_cell(p, results[p])}{_figure_cell(r, results[r])}</tr>"
                          for t, (p, r) in zip(thresholds, keys))
        table += (f"<p>Precision and recall at mask IoU {results['pr_iou_threshold']:g}:</p>"
                  f"<table><tr><th>score &gt;=</th><th>precision</th><th>recall</th></tr>"
                  f"{pr_rows}</table>")
    return table


def _class_table(results, iou_types, matrix):
    stats = ("AP", "AP50", "AP75")
    head = ("<tr><th>id</th><th>class</th><th>gt</th><th>detections</th>"
            + "".join(f"<th>{_e(t)} {_e(s)}</th>" for t in iou_types for s in stats)
            + "<th>found</th><th>missed</th><th>taken for another class</th>"
            "<th>false positives</th></tr>")
    rows = []
    for row in results["per_class"]:
        c = row["class_id"]
        confused = int(matrix[c, 1:].sum() - matrix[c, c])
        false_positives = int(matrix[:, c].sum() - matrix[c, c])
        rows.append(
            f"<tr><td class=\"num\">{c}</td><td>{_e(row['name'])}</td>"
            f"<td class=\"num\">{row['num_gt']}</td>"
            f"<td class=\"num\">{row['num_detections']}</td>"
            + "".join(_figure_cell(f"class/{c}/{t}/{s}", row[f"{t}/{s}"])
                      for t in iou_types for s in stats)
            + f"<td class=\"num\">{matrix[c, c]}</td><td class=\"num\">{matrix[c, 0]}</td>"
            f"<td class=\"num\">{confused}</td><td class=\"num\">{false_positives}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _pr_section(evaluator, results, out_dir):
    from mrcnn.visualization.evaluation import plot_class_precision_recall

    types = [t for t in IOU_TYPES if t in evaluator.pr_curves]
    if not types:
        return '<p class="note">No COCO evaluation was run (iou_types=()): no curves.</p>'
    rows = [row for row in results["per_class"] if row["num_gt"] > 0]
    if not rows:
        return '<p class="note">No class has ground truth in the evaluated images.</p>'
    recall = evaluator.pr_curves[types[0]]["recall"]
    curves = [{f"{_IOU_NAMES[t]} ({t})": evaluator.pr_curves[t]["precision"][row["class_id"]]
               for t in types} for row in rows]
    titles = [f"{row['name']}: AP50 " + ", ".join(f"{t} {_number(row[f'{t}/AP50'])}"
                                                  for t in types) for row in rows]
    plot_class_precision_recall(recall, curves, titles,
                                save_path=os.path.join(out_dir, "precision_recall.png"))
    absent = [row["name"] for row in results["per_class"] if row["num_gt"] == 0]
    note = (f'<p class="note">Without ground truth, not drawn: {_e(", ".join(absent))}.</p>'
            if absent else "")
    return ("<p>pycocotools' interpolated precision at IoU 0.5 (101 recall points, up to 100 "
            "detections per image): the mean of each curve is the class's AP50 above.</p>"
            + _image("precision_recall.png", "precision-recall curves per class") + note)


def _confusion_section(matrix, class_names, out_dir, iou_threshold, min_score):
    from mrcnn.visualization.evaluation import plot_confusion_matrix

    plot_confusion_matrix(matrix, class_names,
                          title=f"mask IoU >= {iou_threshold:g}, score >= {min_score:g}",
                          save_path=os.path.join(out_dir, "confusion_matrix.png"))
    names = ["background"] + list(class_names[1:])
    head = "<tr><th>ground truth \\ predicted</th>" + "".join(
        f"<th>{_e(n)}</th>" for n in names) + "</tr>"
    rows = []
    for g, name in enumerate(names):
        cells = []
        for p in range(len(names)):
            kind = "diag" if g == p and g else ("bad" if matrix[g, p] and g != p else "")
            cells.append(f'<td class="num {kind}" data-key="confusion/{g}/{p}">'
                         f"{matrix[g, p]}</td>")
        rows.append(f"<tr><th>{_e(name)}</th>{''.join(cells)}</tr>")
    return (f"<p>Objects matched at mask IoU &gt;= {iou_threshold:g} to detections of score "
            f"&gt;= {min_score:g}: first to a detection of their own class, then what is left "
            "to one of another class. Column <i>background</i>: missed objects; row "
            "<i>background</i>: detections that match no object (hallucinated).</p>"
            + _image("confusion_matrix.png", "confusion matrix")
            + f"<table>{head}{''.join(rows)}</table>")


def _curves_section(log_dir, out_dir):
    if log_dir is None:
        return ('<p class="note">No training log folder given (log_dir / --report-logs): no '
                "training curves.</p>")
    from mrcnn.visualization.curves import save_training_curves
    try:
        save_training_curves(log_dir, save_path=os.path.join(out_dir, "training_curves.png"))
    except (FileNotFoundError, ValueError) as e:
        return f'<p class="note">No training curves: {_e(e)}</p>'
    return (f"<p>Loss curves from the TensorBoard event files under {_e(log_dir)}.</p>"
            + _image("training_curves.png", "training curves"))


def _captions(record, class_names, gt_class_ids, scores, class_ids, min_score):
    """What the gallery picture shows: (ground-truth captions, crowds included; the indices of
    the detections to draw: those of score >= min_score, the ignored ones in crowds too; their
    captions)."""
    found = record.gt_found
    gt_captions, g = [], 0
    for class_id in gt_class_ids:
        if class_id < 0:
            gt_captions.append(f"{class_names[-class_id]} (crowd)")
            continue
        p = record.gt_match[g]
        if found[g]:
            gt_captions.append(class_names[class_id])
        elif p > -1:
            gt_captions.append(f"{class_names[class_id]} \u2192 "
                               f"{class_names[record.pred_class_ids[p]]}")
        else:
            gt_captions.append(f"{class_names[class_id]} MISSED")
        g += 1
    status = {int(i): "" if ok else (" wrong class" if m > -1 else " FP")
              for i, ok, m in zip(record.pred_index, record.pred_correct, record.pred_match)}
    drawn = [i for i in range(len(class_ids)) if scores[i] >= min_score]
    pred_captions = [f"{class_names[class_ids[i]]} {scores[i]:.2f}"
                     + status.get(i, " in crowd") for i in drawn]
    return gt_captions, drawn, pred_captions


def _gallery_section(evaluator, records, out_dir, max_images, class_names, min_score):
    from mrcnn.visualization.evaluation import display_ground_truth_and_detections

    if max_images == 0 or not records:
        return '<p class="note">No gallery (report_images=0).</p>'
    groups = group_by_image(evaluator)
    shown = worst_first(records)[:max_images]
    cards = []
    for record in shown:
        image_id = record.image_id
        gt_masks, gt_class_ids, rois, class_ids, scores, masks = image_instances(groups[image_id])
        gt_captions, drawn, pred_captions = _captions(record, class_names, gt_class_ids,
                                                      scores, class_ids, min_score)
        reference = evaluator.dataset.image_reference(image_id) or ""
        name = f"image_{image_id}.png"
        display_ground_truth_and_detections(
            evaluator.dataset.load_image(image_id), extract_bboxes(gt_masks), gt_masks,
            gt_class_ids, rois[drawn], masks[..., drawn], class_ids[drawn], scores[drawn],
            class_names, gt_captions=gt_captions, pred_captions=pred_captions,
            save_path=os.path.join(out_dir, name))
        messages = record.messages(class_names)
        listing = ("<ul class=\"errors\">" + "".join(f"<li>{_e(m)}</li>" for m in messages)
                   + "</ul>") if messages else '<p class="note">No errors.</p>'
        cards.append(
            f'<div class="card" data-image-id="{image_id}" data-errors="{record.errors}">'
            f"<h3>image {image_id}{' — ' + _e(reference) if reference else ''}: "
            f"{_count(record.false_negatives, 'false negative')}, "
            f"{_count(record.false_positives, 'false positive')}</h3>"
            f"{_image(name, f'image {image_id}: ground truth and detections')}"
            f"{listing}</div>")
    return (f"<p>The {len(shown)} of {len(records)} images with the most errors (false "
            f"positives + false negatives) first. Left the ground truth (MISSED: no detection; "
            f"\u2192: taken for another class), right the detections of score &gt;= "
            f"{min_score:g} (FP: false positive); colours are per class.</p>" + "".join(cards))


def _config_section(config):
    if config is None:
        return ""
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>"
                   for k, v in config.to_dict().items())
    return (f"<h2>Config</h2><details><summary>All {len(config.to_dict())} values of "
            f"{_e(type(config).__name__)}</summary><table class=\"about\">{rows}</table>"
            "</details>")


def write_report(evaluator, results, out_dir, max_images=24, min_score=0.5, iou_threshold=0.5,
                 log_dir=None, provenance=None, config=None):
    """Write the report of an evaluation into the folder ``out_dir``; returns the page's path.

    evaluator: the :class:`~mrcnn.evaluation.evaluator.Evaluator` that gave ``results`` (its
        images, ground truth, detections and COCO curves are drawn; its dataset's
        ``load_image`` gives the gallery's images).
    results: the dict ``evaluator.summarize()`` returned (the figures on the page).
    max_images: the gallery shows at most this many images, worst first (0: no gallery).
    min_score, iou_threshold: the matching of the confusion matrix and the gallery's errors.
    log_dir: a training log folder; its TensorBoard loss curves are drawn.
    provenance: {label: text} shown at the top ("weights" and "dataset" first).
    config: the model's Config, shown in full.
    The folder is created; ``index.html``, ``precision_recall.png``, ``confusion_matrix.png``,
    ``training_curves.png`` and ``image_<id>.png`` in it are replaced.
    """
    check_report_arguments(out_dir, max_images, min_score, log_dir, provenance)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    class_names = list(evaluator.dataset.class_names)
    iou_types = [t for t in IOU_TYPES if f"{t}/AP" in results]
    records = evaluator_errors(evaluator, iou_threshold=iou_threshold, min_score=min_score)
    matrix = confusion_matrix(records, len(class_names))
    title = "Evaluation report" + (f": {config.NAME}" if config is not None else "")
    sections = [
        f"<h1>{_e(title)}</h1>",
        _about(evaluator, results, provenance, config, log_dir, min_score, iou_threshold),
        "<h2>COCO figures</h2>" + (_coco_table(results, iou_types) if iou_types else
                                   '<p class="note">No COCO evaluation was run.</p>'),
        "<h2>VOC figures</h2>" + _voc_table(results),
        "<h2>Per class</h2>" + _class_table(results, iou_types, matrix),
        "<h2>Precision-recall curves per class</h2>" + _pr_section(evaluator, results, out_dir),
        "<h2>Confusion matrix</h2>" + _confusion_section(matrix, class_names, out_dir,
                                                         iou_threshold, min_score),
        "<h2>Training curves</h2>" + _curves_section(log_dir, out_dir),
        "<h2>Images, worst first</h2>" + _gallery_section(evaluator, records, out_dir,
                                                          max_images, class_names, min_score),
        _config_section(config),
    ]
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(sections) + "\n</body></html>\n")
    path = os.path.join(out_dir, REPORT_PAGE)
    with atomic_path(path, suffix=".html.tmp") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(page)
    return path
