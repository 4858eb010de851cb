"""Evaluate Mask R-CNN detections on any Dataset: COCO-style and VOC-style figures.

    from mrcnn.evaluate import evaluate_model, format_results, save_results
    results = evaluate_model(inference_model, val_dataset)     # detect() + evaluation
    results["segm/AP"], results["bbox/AP50"], results["voc/mAP@0.5"]
    save_results(results, "eval.json")

Ground truth comes from the dataset's own ``load_mask`` at the original image size (crowd regions,
with negative class ids, are respected as COCO does); detections are the dicts ``detect()``
returns, keyed by the dataset's image ids. See :mod:`mrcnn.evaluation.evaluator` for the figures
and :mod:`mrcnn.evaluation.coco_format` for the COCO results json.

Importing this module does not import TensorFlow; ``MeanAPCallback`` (a Keras callback) loads
Keras on first use.
"""
from mrcnn.evaluation.coco_format import (
    build_coco_ground_truth,
    detections_to_coco_results,
    save_coco_results,
)
from mrcnn.evaluation.evaluator import COCO_STATS, Evaluator, evaluate_detections, evaluate_model
from mrcnn.evaluation.report import format_results, save_results

__all__ = [
    "evaluate_detections", "evaluate_model", "Evaluator", "COCO_STATS",
    "detections_to_coco_results", "save_coco_results", "build_coco_ground_truth",
    "format_results", "save_results", "MeanAPCallback",
]


def __getattr__(name):
    if name == "MeanAPCallback":
        from mrcnn.evaluation.callback import MeanAPCallback
        return MeanAPCallback
    raise AttributeError(f"module 'mrcnn.evaluate' has no attribute {name!r}")
