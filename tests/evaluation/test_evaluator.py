"""Tests of mrcnn/evaluation/evaluator.py: COCO figures against pycocotools called directly, VOC
figures and precision/recall by hand, crowds, the per-class table, bad input, a real COCO
excerpt and evaluate_model on a tiny model."""
import json
import math
import os
import types

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from handmade import (
    complex_set,
    detection,
    make_dataset,
    no_detection,
    perfect_detections,
    rect_masks,
)
from mrcnn.datasets.base import Dataset
from mrcnn.evaluation.coco_format import save_coco_results
from mrcnn.evaluation.evaluator import COCO_STATS, Evaluator, evaluate_detections, evaluate_model
from mrcnn.evaluation.report import format_results
from tiny import rectangles_dataset

# pycocotools' mask.decode (annToMask) trips a NumPy 2 deprecation inside pycocotools itself.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def pycocotools_stats(dataset, results_path, iou_type, cat_ids=None):
    """COCOeval stats computed by pycocotools itself from a GT json written here and the
    results json (for segm without "bbox", as the COCO server scores segm results)."""
    images, annotations = [], []
    for image_id in dataset.image_ids:
        mask, class_ids = dataset.load_mask(image_id)
        images.append({"id": int(image_id), "height": mask.shape[0], "width": mask.shape[1]})
        for k in range(mask.shape[2]):
            rle = mask_utils.encode(np.asfortranarray(mask[..., k].astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1, "image_id": int(image_id),
                "category_id": int(abs(class_ids[k])), "iscrowd": int(class_ids[k] < 0),
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                "area": float(mask_utils.area(rle)), "bbox": mask_utils.toBbox(rle).tolist()})
    gt = {"images": images, "annotations": annotations,
          "categories": [{"id": c, "name": n} for c, n in enumerate(dataset.class_names)][1:]}
    gt_path = os.path.join(os.path.dirname(results_path), "gt.json")
    with open(gt_path, "w") as f:
        json.dump(gt, f)
    with open(results_path) as f:
        results = json.load(f)
    if iou_type == "segm":
        for r in results:
            del r["bbox"]
    coco_gt = COCO(gt_path)
    coco_eval = COCOeval(coco_gt, coco_gt.loadRes(results), iou_type)
    if cat_ids is not None:
        coco_eval.params.catIds = cat_ids
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    return [float(v) for v in coco_eval.stats]


# ------------------------------------------------------------------------- COCO figures

def test_ground_truth_against_itself_gives_ap_one():
    # Objects of the three COCO sizes (small < 32², medium < 96², large) and a crowd.
    gt = rect_masks((128, 128), [(0, 0, 10, 10), (20, 20, 60, 60), (10, 15, 125, 125),
                                 (100, 0, 128, 20)])
    second = rect_masks((48, 64), [(5, 5, 25, 30), (30, 40, 45, 60)])
    dataset = make_dataset([(gt, [1, 2, 3, -1]), (second, [1, 3]), (gt[..., :1], [2])])
    results = evaluate_detections(dataset, perfect_detections(dataset))
    for iou_type in ("bbox", "segm"):
        for stat in ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR10", "AR100",
                     "ARs", "ARm", "ARl"):
            # approx: pycocotools divides by tp + fp + np.spacing(1).
            assert results[f"{iou_type}/{stat}"] == pytest.approx(1.0), (iou_type, stat)
    assert results["voc/mAP@0.5"] == 1.0
    assert results["voc/mAP@[0.5:0.95]"] == 1.0
    assert results["voc/precision@score0.5"] == 1.0 and results["voc/recall@score0.5"] == 1.0
    # 3 + 2 + 1 regular instances, 1 crowd.
    assert (results["num_gt"], results["num_crowd"], results["num_detections"]) == (6, 1, 6)


def test_matches_pycocotools_on_the_same_json(tmp_path):
    dataset, detections = complex_set()
    path = str(tmp_path / "results.json")
    save_coco_results(path, dataset, detections)
    results = evaluate_detections(dataset, detections)
    for iou_type in ("bbox", "segm"):
        expected = pycocotools_stats(dataset, path, iou_type)
        assert [results[f"{iou_type}/{s}"] for s in COCO_STATS] == expected, iou_type
        # The set is not trivial: neither perfect nor empty.
        assert 0 < results[f"{iou_type}/AP"] < 1
        # Per-class AP equals pycocotools restricted to that class.
        for row in results["per_class"]:
            one = pycocotools_stats(dataset, path, iou_type, cat_ids=[row["class_id"]])
            assert [row[f"{iou_type}/AP"], row[f"{iou_type}/AP50"],
                    row[f"{iou_type}/AP75"]] == one[:3]
    # Masks and boxes differ (a disk, a triangle), so the two iou types differ.
    assert results["bbox/AP"] != results["segm/AP"]


def test_coco_and_voc_figures_by_hand():
    # Image 0: gt1 (class 1) 10x10, gt2 (class 2) 10x10. Detection 1 = gt1 (score 0.9);
    # detection 2 of class 2 covers 8x9 = 72 px inside gt2: IoU 72 / 100 = 0.72 (score 0.6).
    # Image 1: no ground truth, one detection of class 1 (score 0.8).
    gt = rect_masks((40, 40), [(2, 2, 12, 12), (20, 20, 30, 30)])
    dataset = make_dataset([(gt, [1, 2]), (np.zeros((40, 40, 0), bool), [])])
    detections = {
        0: detection(rect_masks((40, 40), [(2, 2, 12, 12), (20, 20, 28, 29)]), [1, 2],
                     [0.9, 0.6]),
        1: detection(rect_masks((40, 40), [(5, 5, 15, 15)]), [1], [0.8]),
    }
    results = evaluate_detections(dataset, detections, score_thresholds=(0.5, 0.7, 0.95))
    # COCO, per class then averaged. Class 1: TP (0.9) then FP (0.8) at recall 1 already:
    # AP 1 at every IoU. Class 2: one detection at IoU 0.72: AP 1 at IoU 0.50..0.70 (5 of 10
    # thresholds), 0 above: AP 0.5, AP50 1, AP75 0. Mean over classes: AP (1 + 0.5) / 2 = 0.75,
    # AP50 1, AP75 (1 + 0) / 2 = 0.5. (Boxes give the same IoUs as the rectangular masks.)
    for iou_type in ("bbox", "segm"):
        assert results[f"{iou_type}/AP"] == pytest.approx(0.75)
        assert results[f"{iou_type}/AP50"] == pytest.approx(1.0)
        assert results[f"{iou_type}/AP75"] == pytest.approx(0.5)
    rows = {row["class_id"]: row for row in results["per_class"]}
    assert rows[2]["segm/AP"] == pytest.approx(0.5) and rows[2]["segm/AP75"] == 0.0
    # VOC: only image 0 has ground truth. At IoU <= 0.72 both detections match: AP 1. Above,
    # TP then FP: precisions [1, 1/2] at recalls [1/2, 1/2]; the area under the envelope is
    # 1/2 * 1 = 0.5. Thresholds 0.50..0.70 (5) give 1, 0.75..0.95 (5) give 0.5: mean 0.75.
    assert results["voc/mAP@0.5"] == pytest.approx(1.0)
    assert results["voc/mAP@[0.5:0.95]"] == pytest.approx(0.75)
    assert results["num_images_with_gt"] == 1
    # Precision/recall at IoU 0.5, scores 0.9 (TP), 0.8 (FP, image 1), 0.6 (TP); 2 gt.
    # >= 0.5: 2 TP of 3: P 2/3, R 2/2. >= 0.7: 1 TP of 2: P 1/2, R 1/2. >= 0.95: none: P -1.
    assert results["voc/precision@score0.5"] == pytest.approx(2 / 3)
    assert results["voc/recall@score0.5"] == 1.0
    assert results["voc/precision@score0.7"] == 0.5
    assert results["voc/recall@score0.7"] == 0.5
    assert results["voc/precision@score0.95"] == -1.0
    assert results["voc/recall@score0.95"] == 0.0
    # At IoU 0.75 the 0.72 detection is no TP: >= 0.5 gives 1 TP of 3, recall 1/2.
    strict = evaluate_detections(dataset, detections, iou_types=(), pr_iou_threshold=0.75)
    assert strict["voc/precision@score0.5"] == pytest.approx(1 / 3)
    assert strict["voc/recall@score0.5"] == 0.5
    assert "segm/AP" not in strict and strict["voc/mAP@0.5"] == results["voc/mAP@0.5"]


def test_crowd_region_is_not_a_false_positive():
    # gt: class 1 at 16x16 [4:20, 4:20]; a crowd of class 1 at [30:60, 30:60].
    # Detections: the gt (score 0.8) and a 20x20 box inside the crowd with a HIGHER score 0.95.
    gt = rect_masks((64, 64), [(4, 4, 20, 20), (30, 30, 60, 60)])
    on_crowd = rect_masks((64, 64), [(4, 4, 20, 20), (35, 35, 55, 55)])
    dataset = make_dataset([(gt, [1, -1])])
    results = evaluate_detections(dataset, {0: detection(on_crowd, [1, 1], [0.8, 0.95])})
    for iou_type in ("bbox", "segm"):
        assert results[f"{iou_type}/AP"] == pytest.approx(1.0)   # tp / (tp + fp + eps)
    assert results["voc/mAP@0.5"] == 1.0
    assert results["voc/precision@score0.5"] == 1.0
    assert (results["num_gt"], results["num_crowd"], results["num_detections_on_crowd"]) \
        == (1, 1, 1)
    # Without the crowd annotation the same detection is a false positive ranked first: the
    # precision envelope is 1/2 at every recall, so AP = 0.5.
    plain = make_dataset([(gt[..., :1], [1])])
    results = evaluate_detections(plain, {0: detection(on_crowd, [1, 1], [0.8, 0.95])})
    assert results["segm/AP"] == pytest.approx(0.5)
    assert results["voc/mAP@0.5"] == pytest.approx(0.5)
    # A crowd only excuses detections of its own class: as class 2 the detection is a false
    # positive for VOC (TP after FP: AP 0.5). COCO skips class 2, which has no gt: AP stays 1.
    results = evaluate_detections(dataset, {0: detection(on_crowd, [1, 2], [0.8, 0.95])})
    assert results["voc/mAP@0.5"] == pytest.approx(0.5)
    assert results["voc/precision@score0.5"] == 0.5
    assert results["segm/AP"] == pytest.approx(1.0)


def test_per_class_table():
    # Class 1 found exactly; class 2's only detection misses its gt (IoU 0); class 3 absent.
    gt = rect_masks((64, 64), [(4, 4, 20, 20), (30, 30, 50, 50)])
    found = rect_masks((64, 64), [(4, 4, 20, 20), (4, 40, 20, 60)])
    dataset = make_dataset([(gt, [1, 2])])
    results = evaluate_detections(dataset, {0: detection(found, [1, 2], [0.9, 0.8])})
    rows = results["per_class"]
    assert [(r["class_id"], r["name"], r["num_gt"], r["num_detections"]) for r in rows] == \
        [(1, "one", 1, 1), (2, "two", 1, 1), (3, "three", 0, 0)]
    for iou_type in ("bbox", "segm"):
        assert [r[f"{iou_type}/AP"] for r in rows] == pytest.approx([1.0, 0.0, -1.0])
        assert [r[f"{iou_type}/AP50"] for r in rows] == pytest.approx([1.0, 0.0, -1.0])
        # The overall AP averages the classes that have gt: (1 + 0) / 2.
        assert results[f"{iou_type}/AP"] == pytest.approx(0.5)


def test_empty_detections():
    dataset = make_dataset([(rect_masks((32, 32), [(2, 2, 12, 12)]), [1]),
                            (np.zeros((32, 32, 0), bool), [])])
    results = evaluate_detections(dataset, {0: no_detection((32, 32)),
                                            1: no_detection((32, 32))})
    for iou_type in ("bbox", "segm"):
        assert results[f"{iou_type}/AP"] == 0.0 and results[f"{iou_type}/AR100"] == 0.0
    assert results["voc/mAP@0.5"] == 0.0 and results["voc/mAP@[0.5:0.95]"] == 0.0
    assert results["voc/precision@score0.5"] == -1.0 and results["voc/recall@score0.5"] == 0.0
    assert results["num_detections"] == 0
    # No ground truth anywhere and no detection: nothing to average, -1 everywhere.
    results = evaluate_detections(dataset, {1: no_detection((32, 32))})
    assert all(results[f"{t}/{s}"] == -1.0 for t in ("bbox", "segm") for s in COCO_STATS)
    assert results["voc/mAP@0.5"] == -1.0 and results["voc/recall@score0.5"] == -1.0


def test_bad_input_is_named():
    dataset, detections = complex_set()
    with pytest.raises(TypeError, match="detections"):
        evaluate_detections(dataset, [detections[0]])
    with pytest.raises(ValueError, match="empty"):
        evaluate_detections(dataset, {})
    with pytest.raises(ValueError, match="image id 5"):
        evaluate_detections(dataset, {5: detections[0]})
    with pytest.raises(ValueError, match=r"detections\[1\].*96x128"):
        evaluate_detections(dataset, {1: detections[0]})          # 128x128 masks on image 1
    with pytest.raises(ValueError, match=r"detections\[0\] lacks \['masks'\]"):
        evaluate_detections(dataset, {0: {k: v for k, v in detections[0].items()
                                          if k != "masks"}})
    bad_class = dict(detections[0], class_ids=np.array([1, 1, 4, 1, 3], np.int32))
    with pytest.raises(ValueError, match=r"detections\[0\]: class ids"):
        evaluate_detections(dataset, {0: bad_class})
    padded = dict(detections[0], rois=np.vstack([detections[0]["rois"][:4], [[0, 0, 0, 0]]]))
    with pytest.raises(ValueError, match="padding"):
        evaluate_detections(dataset, {0: padded})
    with pytest.raises(ValueError, match="iou_types"):
        evaluate_detections(dataset, detections, iou_types=("mask",))
    evaluator = Evaluator(dataset)
    evaluator.add(0, detections[0])
    with pytest.raises(ValueError, match="added twice"):
        evaluator.add(0, detections[0])
    wrong = make_dataset([(rect_masks((16, 16), [(1, 1, 5, 5)]), [1, 2])])
    with pytest.raises(ValueError, match="image 0.*2 class ids for 1 masks"):
        evaluate_detections(wrong, {0: no_detection((16, 16))})


# ------------------------------------------------------------------- a real COCO excerpt

REAL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets",
                    "coco_icevision", "annotations.json")


class CocoExcerpt(Dataset):
    """A COCO file read with pycocotools alone (not mrcnn.datasets.coco, tested elsewhere):
    source "coco", original image and category ids, crowds as negative class ids."""

    def load(self, path):
        self.coco = COCO(path)
        for cat in self.coco.loadCats(self.coco.getCatIds()):
            self.add_class("coco", cat["id"], cat["name"])
        for img in self.coco.loadImgs(self.coco.getImgIds()):
            self.add_image("coco", img["id"], None, height=img["height"], width=img["width"],
                           annotations=self.coco.loadAnns(self.coco.getAnnIds(img["id"])))
        self.prepare()
        return self

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        masks = [self.coco.annToMask(a).astype(bool) for a in info["annotations"]]
        ids = [self.map_source_class_id(f"coco.{a['category_id']}") * (-1 if a["iscrowd"] else 1)
               for a in info["annotations"]]
        if not masks:
            return np.zeros((info["height"], info["width"], 0), bool), np.zeros(0, np.int32)
        return np.stack(masks, axis=-1), np.array(ids, np.int32)


@pytest.mark.skipif(not os.path.isfile(REAL), reason=f"the shared datasets folder is absent "
                    f"({os.path.dirname(os.path.dirname(REAL))}); only the project's workspace "
                    f"has it")
def test_real_coco_excerpt_scores_against_its_own_file(tmp_path):
    dataset = CocoExcerpt().load(REAL)
    detections = perfect_detections(dataset)
    # Add the crowd region itself (bottles, COCO category 44) as a detection ranked first.
    crowd_image = dataset.image_from_source_map["coco.464689"]
    mask, class_ids = dataset.load_mask(crowd_image)
    crowd = mask[..., class_ids < 0]
    d = detections[crowd_image]
    detections[crowd_image] = detection(
        np.concatenate([crowd, d["masks"]], axis=-1),
        np.concatenate([[dataset.map_source_class_id("coco.44")], d["class_ids"]]),
        np.concatenate([[2.0], d["scores"]]))
    results = evaluate_detections(dataset, detections)
    assert results["segm/AP"] == pytest.approx(1.0) and results["bbox/AP"] == pytest.approx(1.0)
    assert results["voc/mAP@0.5"] == 1.0 and results["voc/precision@score0.5"] == 1.0
    # 6 images, 5 with instances (image 89 has none); 35 instances, 1 crowd.
    assert (results["num_images"], results["num_images_with_gt"]) == (6, 5)
    assert (results["num_gt"], results["num_crowd"], results["num_detections_on_crowd"]) == \
        (35, 1, 1)
    # The exported json carries the original ids, so pycocotools scores it against the
    # original file (polygons there, RLE here: the same pixels, IoU 1; the crowd ignored).
    path = str(tmp_path / "results.json")
    exported = save_coco_results(path, dataset, detections)
    assert {r["image_id"] for r in exported} == {128372, 404249, 343934, 194216, 464689}
    original = COCO(REAL)
    segm = [{k: v for k, v in r.items() if k != "bbox"} for r in exported]
    coco_eval = COCOeval(original, original.loadRes(segm), "segm")
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    assert coco_eval.stats[0] == pytest.approx(1.0)


# ------------------------------------------------------------------------ evaluate_model

def test_evaluate_model_on_a_tiny_model(inference_model, tmp_path, capsys):
    dataset = rectangles_dataset(count=3, empty_ids=(1,))
    path = tmp_path / "detections.json"
    results = evaluate_model(inference_model, dataset, batch_size=2, verbose=1,
                             coco_results_path=str(path))
    printed = capsys.readouterr().out
    assert "3/3" in printed and format_results(results) in printed   # progress bar, table
    keys = [f"{t}/{s}" for t in ("bbox", "segm") for s in COCO_STATS] + \
        ["voc/mAP@0.5", "voc/mAP@[0.5:0.95]", "voc/precision@score0.5", "voc/recall@score0.5"]
    for key in keys:
        assert results[key] == -1.0 or 0.0 <= results[key] <= 1.0, key
        assert math.isfinite(results[key])
    assert results["num_images"] == 3 and results["num_images_with_gt"] == 2
    # The same detect() calls, then evaluate_detections, give the same figures.
    images = [dataset.load_image(i) for i in dataset.image_ids]
    detections = dict(enumerate(inference_model.detect(images[:2]) +
                                inference_model.detect(images[2:])))
    assert evaluate_detections(dataset, detections) == results
    assert len(json.loads(path.read_text())) == results["num_detections"]
    with pytest.raises(ValueError, match="mode='inference'"):
        evaluate_model(types.SimpleNamespace(mode="training", detect=None), dataset)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate_model(inference_model, dataset, batch_size=0)
