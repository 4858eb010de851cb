"""Tests of mrcnn/evaluation/coco_format.py: ground truth from load_mask (images without a size,
instances without pixels) and the COCO results json (round trip, source ids)."""
import json

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from handmade import Handmade, complex_set, detection, make_dataset, no_detection, rect_masks
from mrcnn.evaluation.coco_format import (
    build_coco_ground_truth,
    detections_to_coco_results,
    save_coco_results,
)
from mrcnn.evaluation.evaluator import evaluate_detections

# pycocotools' mask.decode trips a NumPy 2 deprecation inside pycocotools itself.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_ground_truth_without_size_and_empty_instances():
    # Matterport's default load_mask returned a [0, 0, 0] mask for an image without instances;
    # an instance without pixels cannot be detected and is dropped.
    class Sizeless(Handmade):
        def load_mask(self, image_id):
            if image_id == 1:
                return np.empty([0, 0, 0]), np.empty([0], np.int32)
            return super().load_mask(image_id)

    gt = rect_masks((32, 48), [(2, 2, 12, 12), (0, 0, 0, 0)])
    dataset = Sizeless()
    dataset.add_class("hand", 1, "one")
    dataset.add_image("hand", 0, None, mask=gt, class_ids=[1, 1], height=32, width=48)
    dataset.add_image("hand", 1, None, height=32, width=48)
    dataset.prepare()
    detections = {0: detection(gt[..., :1], [1], [0.9]), 1: no_detection((32, 48))}
    results = evaluate_detections(dataset, detections)
    assert results["segm/AP"] == pytest.approx(1.0) and results["num_gt"] == 1
    coco = build_coco_ground_truth(dataset)
    assert [(img["height"], img["width"]) for img in coco.dataset["images"]] == [(32, 48)] * 2
    # The box is [x, y, w, h] of the 10x10 square at (2, 2); the area its pixel count.
    assert coco.dataset["annotations"][0]["bbox"] == [2.0, 2.0, 10.0, 10.0]
    assert coco.dataset["annotations"][0]["area"] == 100.0


def test_coco_results_json_round_trip(tmp_path):
    dataset, detections = complex_set()
    results = json.loads(json.dumps(detections_to_coco_results(dataset, detections)))
    assert len(results) == 8
    k = 0
    for image_id in (0, 1):
        d = detections[image_id]
        for i in range(len(d["scores"])):
            r = results[k]
            k += 1
            assert (r["image_id"], r["category_id"]) == (image_id, int(d["class_ids"][i]))
            assert r["score"] == pytest.approx(float(d["scores"][i]))
            y1, x1, y2, x2 = d["rois"][i]
            assert r["bbox"] == [x1, y1, x2 - x1, y2 - y1]
            rle = dict(r["segmentation"], counts=r["segmentation"]["counts"].encode())
            assert np.array_equal(mask_utils.decode(rle).astype(bool), d["masks"][..., i])
    # Image 1, detection 0 is the box [15:70, 20:75]: x 20, y 15, w 55, h 55.
    assert results[5]["bbox"] == [20.0, 15.0, 55.0, 55.0]
    path = tmp_path / "sub" / "results.json"
    written = save_coco_results(str(path), dataset, detections)
    assert json.loads(path.read_text()) == written == results


def test_coco_results_use_source_ids():
    # A COCO-loaded dataset: source "coco", original (64-bit) image ids and category ids.
    gt = rect_masks((32, 32), [(2, 2, 12, 12)])
    coco_ids = [397133, 2 ** 40 + 7]
    dataset = make_dataset([(gt, [1]), (gt, [2])], source="coco", image_source_ids=coco_ids,
                           class_source_ids=(18, 44, 90))
    detections = {1: detection(gt, [2], [0.5]), 0: detection(gt, [3], [0.7])}
    results = detections_to_coco_results(dataset, detections)
    assert [(r["image_id"], r["category_id"]) for r in results] == \
        [(397133, 90), (2 ** 40 + 7, 44)]
    internal = detections_to_coco_results(dataset, detections, source_ids=False)
    assert [(r["image_id"], r["category_id"]) for r in internal] == [(0, 3), (1, 2)]
    # Another source with file-name image ids keeps internal ids, and refuses source ids.
    named = make_dataset([(gt, [1])], image_source_ids=["a.jpg"])
    one = {0: detection(gt, [1], [0.5])}
    assert detections_to_coco_results(named, one)[0]["image_id"] == 0
    with pytest.raises(ValueError, match="'a.jpg'"):
        detections_to_coco_results(named, one, source_ids=True)
