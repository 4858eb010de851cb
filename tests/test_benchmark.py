"""The benchmark script runs end to end and prints its figures (their values are not checked:
speed is measured by running it, never asserted in tests)."""
import importlib.util
import os
import re

import pytest

from tiny import call_main


@pytest.mark.slow
def test_benchmark_prints_every_figure():
    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "benchmark.py")
    spec = importlib.util.spec_from_file_location("benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    code, out = call_main(benchmark, ["--size", "128", "--batch", "1", "--rois", "8",
                                      "--layers", "heads", "--steps", "1", "--warmup", "0",
                                      "--detect-images", "1", "--workers", "1"])
    assert code is None
    number = r"\s+\d+\.\d+ "
    for pattern in ["data pipeline workers=1" + number + "s/batch",
                    "train layers=heads" + number + "s/step",
                    "detect 1 image" + number + "s/image", "export" + number + "s",
                    "SavedModel 1 images" + number + "s/image",
                    "detect 1 image" + number + r"s/image .* 0 detections \(classifier set"]:
        assert re.search(pattern, out), (pattern, out)
