"""What runner.detect (``mrcnn detect``) prints: one line per image with its detections counted
by class, singular and plural, and no "No instances" noise. A fake model stands in for
MaskRCNN, so no network runs."""
import numpy as np
import PIL.Image
import pytest

from mrcnn import runner
from tiny import tiny_config

NAMES = ["BG", "cat", "dog"]


class FakeModel:
    """detect() returns the given class ids, one 4x4 box and mask each, image after image."""

    def __init__(self, *class_ids_per_image):
        self.config = tiny_config()
        self.todo = list(class_ids_per_image)

    def detect(self, images, verbose=0):
        (image,), ids = images, np.array(self.todo.pop(0), np.int32)
        masks = np.zeros(image.shape[:2] + (len(ids),), bool)
        rois = np.array([[2 * i, 2 * i, 2 * i + 4, 2 * i + 4] for i in range(len(ids))],
                        np.int32).reshape(-1, 4)
        for i, (y1, x1, y2, x2) in enumerate(rois):
            masks[y1:y2, x1:x2, i] = True
        return [{"rois": rois, "class_ids": ids, "scores": np.full(len(ids), 0.9, np.float32),
                 "masks": masks}]


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        PIL.Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(folder / name)
    return folder


def test_one_line_per_image_singular_plural_and_none(images, tmp_path, capsys):
    out = tmp_path / "out"
    results = tmp_path / "detections.json"
    saved = runner.detect(FakeModel([1, 2, 1], [2], []), str(images), NAMES, str(out),
                          results_json=str(results))
    assert [picture for picture, _ in saved] == [str(out / n) for n in ("a.png", "b.png",
                                                                        "c.png")]
    assert capsys.readouterr().out.splitlines() == [
        f"{images / 'a.png'}: 3 detections (2 cat, 1 dog) -> {out / 'a.png'}",
        f"{images / 'b.png'}: 1 detection (dog) -> {out / 'b.png'}",
        f"{images / 'c.png'}: no detections -> {out / 'c.png'}",
        f"4 detections of 3 images in {results}",
    ]
    assert (out / "c.png").stat().st_size > 0  # the plain picture is still saved


def test_ties_keep_detection_order_and_one_image_is_singular(images, tmp_path, capsys):
    out = tmp_path / "out"
    results = tmp_path / "one.json"
    runner.detect(FakeModel([2, 1]), str(images / "a.png"), NAMES, str(out),
                  results_json=str(results))
    assert capsys.readouterr().out.splitlines() == [
        f"{images / 'a.png'}: 2 detections (1 dog, 1 cat) -> {out / 'a.png'}",
        f"2 detections of 1 image in {results}",
    ]
    runner.detect(FakeModel([1]), str(images / "b.png"), NAMES, str(out),
                  results_json=str(results))
    assert capsys.readouterr().out.splitlines()[-1] == f"1 detection of 1 image in {results}"
