"""Evaluation that explains itself: the VOC-vs-COCO sentence under the table, score rows only at
or above DETECTION_MIN_CONFIDENCE, and the command line's json written by default with its
provenance."""
import json
import os
import types

import numpy as np
import pytest

from mrcnn import cli
from mrcnn.core.boxes import extract_bboxes
from mrcnn.evaluation.evaluator import evaluate_model, score_thresholds_for
from mrcnn.evaluation.report import VOC_VS_COCO, format_results, with_provenance
from tiny import call_main, rectangles_dataset, tiny_config, tiny_config_file


@pytest.mark.parametrize("min_confidence, rows", [
    (0.0, (0.5, 0.7, 0.9)), (0.5, (0.5, 0.7, 0.9)), (0.6, (0.7, 0.9)), (0.7, (0.7, 0.9)),
    (0.95, (0.95,))])
def test_score_rows_at_or_above_the_min_confidence(min_confidence, rows):
    assert score_thresholds_for(min_confidence) == rows


def ground_truth_model(dataset, min_confidence, score):
    """A stand-in inference model whose detect() returns each image's ground truth at
    ``score``."""
    def detect(images, verbose=0):
        found = []
        for image in images:
            image_id = next(i for i in dataset.image_ids
                            if np.array_equal(dataset.load_image(i), image))
            masks, class_ids = dataset.load_mask(image_id)
            found.append({"rois": extract_bboxes(masks), "class_ids": class_ids.astype(np.int32),
                          "scores": np.full(len(class_ids), score, np.float32),
                          "masks": masks})
        return found
    config = tiny_config(DETECTION_MIN_CONFIDENCE=min_confidence)
    return types.SimpleNamespace(mode="inference", config=config, detect=detect)


def test_evaluate_model_rows_follow_the_model_and_the_table_explains(capsys):
    dataset = rectangles_dataset(count=3)
    results = evaluate_model(ground_truth_model(dataset, 0.6, 0.8), dataset)
    rows = sorted(k for k in results if k.startswith("voc/precision@score"))
    assert rows == ["voc/precision@score0.7", "voc/precision@score0.9"]
    assert results["voc/precision@score0.7"] == 1.0       # every detection is right, at 0.8
    assert results["voc/precision@score0.9"] == -1.0      # none that high
    printed = capsys.readouterr().out
    assert " ".join(printed.split()).count(VOC_VS_COCO) == 1     # wrapped, whole, once
    assert printed.startswith("3/3 - ") and "\x1b" not in printed and "\b" not in printed
    assert max(len(line) for line in format_results(results).splitlines()) <= 100


def test_the_sentence_is_precise_about_what_is_computed():
    for words in ["all-point interpolated", "each image's detections", "all classes ranked "
                  "together", "images with ground truth", "each class's detections over the "
                  "whole set", "at most 100 per image", "101 recall points"]:
        assert words in VOC_VS_COCO
    # Only where both figures are in the table.
    assert VOC_VS_COCO[:20] not in format_results({"voc/mAP@0.5": 0.5, "num_images": 1})


def test_with_provenance_says_what_made_the_results():
    import mrcnn
    config = tiny_config()
    made = with_provenance({"voc/mAP@0.5": 0.5}, config, weights="/w.h5", dataset="via:x.json")
    about = made["provenance"]
    assert made["voc/mAP@0.5"] == 0.5
    assert (about["weights"], about["dataset"]) == ("/w.h5", "via:x.json")
    assert about["config"]["NUM_CLASSES"] == 4 and about["config"]["IMAGE_MAX_DIM"] == 64
    assert about["mrcnn_version"] == mrcnn.__version__
    assert about["date"].endswith("+00:00") and about["date"][:4].isdigit()


@pytest.mark.slow
def test_cli_evaluate_writes_its_json_by_default(tmp_path):
    """evaluate without --json writes <weights stem>.evaluation.json beside the weights (or in
    --out), with the provenance, and rows only at or above DETECTION_MIN_CONFIDENCE."""
    from mrcnn.maskrcnn import MaskRCNN
    config_file = tiny_config_file(tmp_path / "tiny.yaml", BACKBONE="resnet18")
    model = MaskRCNN("inference", tiny_config(BACKBONE="resnet18"), tmp_path / "logs")
    weights = tmp_path / "models" / "w.h5"
    weights.parent.mkdir()
    model.save_weights(str(weights))
    argv = ["evaluate", "tiny:rectangles_dataset", "--weights", str(weights), "--config",
            str(config_file), "--limit", "1", "--set", "DETECTION_MIN_CONFIDENCE=0.6"]
    code, out = call_main(cli, argv)
    assert code == 0
    path = tmp_path / "models" / "w.evaluation.json"
    assert f"results in {path}" in out
    assert "VOC mAP@0.5 and COCO AP50 differ by design" in out
    results = json.loads(path.read_text())
    assert sorted(k for k in results if k.startswith("voc/recall@score")) == \
        ["voc/recall@score0.7", "voc/recall@score0.9"]
    about = results["provenance"]
    assert sorted(about) == ["config", "dataset", "date", "mrcnn_version", "weights"]
    assert about["weights"] == str(weights) and about["dataset"] == "tiny:rectangles_dataset"
    assert about["config"]["BACKBONE"] == "resnet18"
    assert about["config"]["DETECTION_MIN_CONFIDENCE"] == 0.6
    code, out = call_main(cli, argv + ["--out", str(tmp_path / "evaluations")])
    assert code == 0 and os.path.isfile(tmp_path / "evaluations" / "w.evaluation.json")
