"""Tests for mrcnn/datasets/yolo.py on YOLO segmentation sets the tests write (Ultralytics and
Roboflow layouts): polygons and box-only lines compared pixel for pixel with masks drawn here
with NumPy, names as a list or a dict, images without labels, image lists, the errors that name
file and line, and a round trip masks -> polygons -> YOLO lines -> loaded masks."""
import logging

import numpy as np
import PIL.Image
import pytest
import yaml

from mrcnn.datasets import DatasetError, YoloSegDataset
from mrcnn.datasets.yolo import label_path

H, W = 48, 72


def rect(y1, x1, y2, x2):
    """bool [H, W] of rows y1..y2-1, columns x1..x2-1."""
    mask = np.zeros((H, W), bool)
    mask[y1:y2, x1:x2] = True
    return mask


def disc(cy, cx, r):
    rows, cols = np.ogrid[:H, :W]
    return (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r


def polygon_line(class_index, y1, x1, y2, x2):
    """A YOLO polygon line of rect(y1, x1, y2, x2): vertices on its corner pixels' centres."""
    points = [(x1, y1), (x2 - 1, y1), (x2 - 1, y2 - 1), (x1, y2 - 1)]
    return "{} ".format(class_index) + " ".join(
        "{:.6f} {:.6f}".format(x / W, y / H) for x, y in points)


def box_line(class_index, y1, x1, y2, x2):
    """A YOLO box line (xc yc w h, edge coordinates) of rect(y1, x1, y2, x2)."""
    return "{} {:.6f} {:.6f} {:.6f} {:.6f}".format(
        class_index, (x1 + x2) / 2 / W, (y1 + y2) / 2 / H, (x2 - x1) / W, (y2 - y1) / H)


def save_image(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray(np.random.default_rng(seed).integers(0, 256, (H, W, 3), np.uint8)) \
        .save(path)


def write_labels(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def iou(a, b):
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


def assert_masks(loaded, class_ids, expected):
    assert loaded.dtype == bool and loaded.shape == (H, W, len(expected))
    assert class_ids.tolist() == [c for _, c in expected]
    for k, (mask, _) in enumerate(expected):
        np.testing.assert_array_equal(loaded[..., k], mask, err_msg="instance {}".format(k))


@pytest.fixture
def ultralytics_set(tmp_path):
    """images/{train,val} + labels/{train,val}, data.yaml with path and names as a list."""
    root = tmp_path / "shapes"
    for split, names in (("train", ["t0", "t1", "t2"]), ("val", ["v0"])):
        for k, name in enumerate(names):
            save_image(root / "images" / split / (name + ".png"), seed=10 * k + len(split))
    write_labels(root / "labels" / "train" / "t0.txt", [
        polygon_line(1, 5, 6, 20, 30),
        box_line(0, 25, 40, 45, 70),
        polygon_line(2, 30, 2, 40, 12)])
    write_labels(root / "labels" / "train" / "t1.txt", [])          # empty: background
    # t2 has no label file: background too.
    write_labels(root / "labels" / "val" / "v0.txt", [box_line(2, 0, 0, 10, 16)])
    (tmp_path / "data.yaml").write_text(yaml.safe_dump({
        "path": "shapes", "train": "images/train", "val": "images/val",
        "names": ["circle", "square", "triangle"]}))
    return tmp_path / "data.yaml", root


def test_polygons_boxes_and_images_without_labels(ultralytics_set):
    data_yaml, root = ultralytics_set
    dataset = YoloSegDataset()
    dataset.load_yolo(data_yaml, "train")
    dataset.prepare()
    assert dataset.class_names == ["BG", "circle", "square", "triangle"]
    assert [info["id"] for info in dataset.image_info] == [
        "images/train/t0.png", "images/train/t1.png", "images/train/t2.png"]
    # YOLO class c is class id c + 1.
    assert_masks(*dataset.load_mask(0), [(rect(5, 6, 20, 30), 2), (rect(25, 40, 45, 70), 1),
                                         (rect(30, 2, 40, 12), 3)])
    assert_masks(*dataset.load_mask(1), [])
    assert_masks(*dataset.load_mask(2), [])
    assert dataset.image_info[2]["annotation"] is None
    summary = dataset.summary(verbose=False)
    assert summary["instances"] == {"circle": 1, "square": 1, "triangle": 1}
    assert summary["images_without_instances"] == [1, 2]
    expected = np.asarray(PIL.Image.open(root / "images" / "train" / "t0.png"))
    np.testing.assert_array_equal(dataset.load_image(0), expected)

    val = YoloSegDataset()
    val.load_yolo(data_yaml, "val")
    val.prepare()
    assert_masks(*val.load_mask(0), [(rect(0, 0, 10, 16), 3)])


def test_names_as_a_dict_an_image_list_and_roboflow_paths(tmp_path):
    """Roboflow: data.yaml beside train/images, train/labels, with "../train/images"; names as a
    dict; val given as a .txt list of images."""
    save_image(tmp_path / "train" / "images" / "a.png", seed=1)
    write_labels(tmp_path / "train" / "labels" / "a.txt", [polygon_line(0, 2, 2, 12, 12)])
    save_image(tmp_path / "valid" / "images" / "b.png", seed=2)
    write_labels(tmp_path / "valid" / "labels" / "b.txt", [box_line(1, 10, 10, 30, 40)])
    (tmp_path / "val.txt").write_text("./valid/images/b.png\n")
    (tmp_path / "data.yaml").write_text(
        "train: ../train/images\nval: val.txt\nnc: 2\nnames:\n  1: weed\n  0: crop\n")
    dataset = YoloSegDataset()
    dataset.load_yolo(tmp_path / "data.yaml", "train")
    dataset.prepare()
    assert dataset.class_names == ["BG", "crop", "weed"]
    assert_masks(*dataset.load_mask(0), [(rect(2, 2, 12, 12), 1)])
    val = YoloSegDataset()
    val.load_yolo(tmp_path / "data.yaml", "val")
    val.prepare()
    assert val.image_info[0]["path"] == str(tmp_path / "valid" / "images" / "b.png")
    assert_masks(*val.load_mask(0), [(rect(10, 10, 30, 40), 2)])


def test_label_path_follows_ultralytics():
    assert label_path("/d/images/train/x.jpg") == "/d/labels/train/x.txt"
    assert label_path("/images/d/images/x.png") == "/images/d/labels/x.txt"     # the last one
    assert label_path("/d/pics/x.png") == "/d/pics/x.txt"


@pytest.mark.parametrize("tolerance", [0.0, 1.0])
def test_round_trip_masks_to_polygons_to_masks(tmp_path, tolerance):
    """Masks drawn here -> outline polygons (the project's own mask_polygons, as the pre-label
    writers trace them) -> YOLO lines with 6 decimals -> loaded masks: IoU >= 0.9 each, and
    unsimplified outlines lose no pixel."""
    from mrcnn.datasets.prelabel import mask_polygons
    masks = [disc(14, 16, 9), disc(30, 50, 12), rect(3, 40, 15, 66), disc(40, 10, 6)]
    lines = []
    for k, mask in enumerate(masks):
        outline, = mask_polygons(mask, tolerance=tolerance)        # (x, y), one part each
        lines.append("{} ".format(k % 2) + " ".join(
            "{:.6f} {:.6f}".format(x / W, y / H) for x, y in outline))
    save_image(tmp_path / "images" / "r.png", seed=5)
    write_labels(tmp_path / "labels" / "r.txt", lines)
    (tmp_path / "data.yaml").write_text("train: images\nval: images\nnames: [a, b]\n")
    dataset = YoloSegDataset()
    dataset.load_yolo(tmp_path / "data.yaml")
    dataset.prepare()
    loaded, class_ids = dataset.load_mask(0)
    assert class_ids.tolist() == [1, 2, 1, 2]
    for k, mask in enumerate(masks):
        assert iou(loaded[..., k], mask) >= 0.9, k
    if tolerance == 0:
        # The outline passes half a pixel outside the boundary pixels' centres: nothing is lost.
        for k, mask in enumerate(masks):
            assert not np.any(mask & ~loaded[..., k]), k


# ------------------------------------------------------------------ skipped lines and errors
def test_unusable_lines_are_skipped_and_recorded(tmp_path, caplog):
    save_image(tmp_path / "images" / "s.png", seed=0)
    write_labels(tmp_path / "labels" / "s.txt", [
        "0 0.1 0.1 0.2 0.2 0.3",                  # odd number of coordinates
        "0 0.1 0.1 0.2 0.2",                      # a box
        "1 0.5 0.5 0.6 0.6",                      # another box
        "0 0.101 0.101 0.102 0.101 0.101 0.102",  # inside one pixel, around no centre
        "0 0.2 0.2 0.0 0.1",                      # box of width 0
        "",
        polygon_line(1, 10, 10, 20, 20),
        # A diagonal sliver between the lines y = x - 0.3 and y = x - 0.2: its bounding box
        # holds pixel centres, the sliver none (x - y is a whole number at every centre).
        "0 " + " ".join("{:.6f} {:.6f}".format(x / W, y / H) for x, y in
                        [(0.5, 0.2), (10.5, 10.2), (10.5, 10.3), (0.5, 0.3)])])
    (tmp_path / "data.yaml").write_text("train: images\nnames: [a, b]\n")
    dataset = YoloSegDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_yolo(tmp_path / "data.yaml")
    dataset.prepare()
    assert dataset.load_mask(0)[1].tolist() == [1, 2, 2]
    labels = str(tmp_path / "labels" / "s.txt")
    assert dataset.summary(verbose=False)["skipped"] == {
        "odd number of coordinates (neither a box nor a polygon)": [(labels, "line 1")],
        "zero-area polygon (no pixel inside the image)": [(labels, "line 4"),
                                                          (labels, "line 8")],
        "box without area": [(labels, "line 5")]}
    assert "skipped 4 annotation(s)" in caplog.text


@pytest.mark.parametrize("line, message", [
    ("3 0.1 0.1 0.2 0.2", "class 3 is not an index into the 2 names of data.yaml"),
    ("0.5 0.1 0.1 0.2 0.2", "class 0.5 is not an index"),
    ("a 0.1 0.1 0.2 0.2", "not a list of numbers"),
    ("0 12 30 40 30 40 60", "coordinates outside 0..1; YOLO coordinates are normalized"),
])
def test_bad_lines_are_errors_naming_file_and_line(tmp_path, line, message):
    save_image(tmp_path / "images" / "e.png", seed=0)
    write_labels(tmp_path / "labels" / "e.txt", [box_line(0, 1, 1, 5, 5), line])
    (tmp_path / "data.yaml").write_text("train: images\nnames: [a, b]\n")
    with pytest.raises(DatasetError) as error:
        YoloSegDataset().load_yolo(tmp_path / "data.yaml")
    assert "YOLO label file {} line 2: {}".format(tmp_path / "labels" / "e.txt", message) \
        in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("train: images\nnames: [a, b]\nnc: 3\n", "nc is 3 but names lists 2 classes"),
    ("train: images\n", "'names' must be a list or a dict"),
    ("train: images\nnames: {0: a, 2: b}\n", "names keys must be 0..1 without gaps"),
    ("train: images\nnames: [a, a]\n", "lists ['a'] more than once"),
    ("train: [images, nowhere]\nnames: [a]\n", "train 'nowhere' is not found"),
    ("val: images\nnames: [a]\n", "has no 'train' images; its keys: val, names"),
    ("train: images\nnames: [a\n", "is not valid YAML"),
])
def test_bad_data_yaml_is_an_error_naming_it(tmp_path, text, message):
    save_image(tmp_path / "images" / "e.png", seed=0)
    (tmp_path / "data.yaml").write_text(text)
    with pytest.raises(DatasetError) as error:
        YoloSegDataset().load_yolo(tmp_path / "data.yaml")
    assert str(tmp_path / "data.yaml") in str(error.value)
    assert message in str(error.value)


def test_missing_image_in_a_list_is_an_error_naming_it(tmp_path):
    save_image(tmp_path / "images" / "a.png", seed=0)
    (tmp_path / "list.txt").write_text("images/a.png\nimages/gone.png\n")
    (tmp_path / "data.yaml").write_text("train: list.txt\nnames: [a]\n")
    with pytest.raises(DatasetError) as error:
        YoloSegDataset().load_yolo(tmp_path / "data.yaml")
    assert "1 image not found in {}: gone.png".format(tmp_path / "images") in str(error.value)
