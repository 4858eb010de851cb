"""The benchmark script runs end to end and prints its figures (their values are not checked:
speed is measured by running it, never asserted in tests)."""
import importlib.util
import os
import re

import pytest

from tiny import call_main


def load_script(name):
    """The module of benchmarks/<name>.py (the folder is not a package)."""
    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_prints_every_figure():
    benchmark = load_script("benchmark")
    # train_on_batch's timing skipped for time: fit()'s (--feed) runs the same step.
    code, out = call_main(benchmark, ["--size", "128", "--batch", "1", "--rois", "8",
                                      "--backbone", "resnet18",
                                      "--steps", "1", "--warmup", "0", "--feed", "static",
                                      "--skip", "train", "--detect-images", "1",
                                      "--workers", "1"])
    assert code is None
    number = r"\s+\d+\.\d+ "
    for pattern in ["data pipeline workers=1" + number + "s/batch",
                    "fit\\(\\) step, static shapes" + number + "s/step",
                    "detect 1 image" + number + "s/image", "export" + number + "s",
                    "SavedModel 1 images" + number + "s/image",
                    "detect 1 image" + number + r"s/image .* 0 detections \(classifier set"]:
        assert re.search(pattern, out), (pattern, out)


@pytest.mark.slow
def test_benchmark_prints_the_input_pipeline_figures():
    kudzu = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "via_kudzu")
    if not os.path.isdir(kudzu):
        pytest.skip("../shared/datasets/via_kudzu is not here")
    benchmark = load_script("benchmark")
    code, out = call_main(benchmark, ["--skip", "data", "train", "detect", "export",
                                      "--anchor-stride", "2", "--pipeline", "2"])
    assert code is None
    assert re.search(r"input pipeline 1024x1024 RPN_ANCHOR_STRIDE=2 \(24 kudzu photos\): "
                     r"\d+\.\d+ s/image per core \(max \d+\.\d+\), \d+\.\d+ images/s", out), out
    assert re.search(r"input pipeline feed, 2 loading processes: \d+\.\d+ images/s", out), out


@pytest.mark.slow
def test_rectangular_benchmark_prints_both_modes():
    rectangular = load_script("rectangular")
    code, out = call_main(rectangular, ["step", "--photo", "80", "200", "--min-dim", "64",
                                        "--max-dim", "192", "--backbone", "resnet18",
                                        "--steps", "1", "--warmup", "0"])
    assert code is None
    # 80x200: 200 > 192 -> scale 192/200 -> 77x192: square pads to 192x192, scale_pad64 only
    # to 128x192.
    assert re.search(r"square\s+input 192x192\s+\d+\.\d+ s/step", out), out
    assert re.search(r"scale_pad64\s+input 128x192\s+\d+\.\d+ s/step", out), out
    assert re.search(r"square / scale_pad64: \d+\.\d+x", out), out


@pytest.mark.slow
def test_learning_benchmark_runs_the_demo_and_prints_its_headline(tmp_path):
    """benchmarks/learning.py runs samples/shapes/train_shapes.py (what ./run_demo.sh runs):
    training under a time budget, evaluation, pictures and the report, then the headline."""
    learning = load_script("learning")
    code, out = call_main(learning, [
        "--minutes", "0.05", "--eval-images", "2", "--train-images", "8",
        "--logs", str(tmp_path), "--set", "STEPS_PER_EPOCH=2", "VALIDATION_STEPS=1",
        "IMAGES_PER_GPU=2", "IMAGE_MIN_DIM=128", "IMAGE_MAX_DIM=128"])
    assert code is None
    assert re.search(r"float32\s+mAP@0\.5 \d\.\d{3} on 2 held-out images \(COCO mask AP "
                     r"-?\d\.\d{3}, box AP -?\d\.\d{3}\) after \d+\.\d min of training, 1 "
                     r"epochs x 2 steps x 2 images; \d+\.\d min in all", out), out
    produced = tmp_path / "float32" / "out"
    for name in ("shapes_detections.png", "shapes_training_curves.png", "report/index.html",
                 "shapes_evaluation.json"):
        assert (produced / name).is_file(), name
    assert list((tmp_path / "float32" / "logs").glob("shapes*/mask_rcnn_shapes_0001.h5"))
