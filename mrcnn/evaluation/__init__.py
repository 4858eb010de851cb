"""Evaluation: COCO AP/AR through pycocotools, Matterport's VOC mAP, precision/recall, COCO
results json, a results table and a training callback. The public entry point is
:mod:`mrcnn.evaluate`; the modules here are:

    coco_format  a Dataset's ground truth and detect() results in the COCO format (RLE masks)
    evaluator    Evaluator, evaluate_detections, evaluate_model
    report       format_results, save_results
    errors       per-image matching (found, missed, confused, hallucinated), confusion matrix
    html_report  write_report: the static HTML report of evaluate_model(report=DIR)
    callback     MeanAPCallback (imports Keras)
"""
