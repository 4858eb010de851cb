"""Tests of mrcnn/evaluation/report.py: the results table and the results json."""
import json

import pytest

from handmade import complex_set, no_detection
from mrcnn.evaluation.evaluator import evaluate_detections
from mrcnn.evaluation.report import format_results, save_results

# pycocotools' mask.decode trips a NumPy 2 deprecation inside pycocotools itself.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_format_and_save_results(tmp_path):
    dataset, detections = complex_set()
    results = evaluate_detections(dataset, detections)
    text = format_results(results)
    lines = text.splitlines()
    assert lines[0].split() == ["COCO", "bbox", "segm"]
    ap_line = lines[1].split()
    assert ap_line == ["AP", f"{results['bbox/AP']:.3f}", f"{results['segm/AP']:.3f}"]
    assert any(line.split()[:2] == ["mAP@0.5", f"{results['voc/mAP@0.5']:.3f}"]
               for line in lines)
    three = [line.split() for line in lines if " three " in line][0]
    assert three[:4] == ["3", "three", "2", "2"]
    path = tmp_path / "eval.json"
    assert save_results(results, str(path)) == str(path)
    assert json.loads(path.read_text()) == results
    # -1 (nothing to measure) prints as "-".
    empty = evaluate_detections(dataset, {1: no_detection((96, 128))}, iou_types=("segm",))
    assert [line.split() for line in format_results(empty).splitlines()
            if line.startswith("APl")] == [["APl", "-"]]
