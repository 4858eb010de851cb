"""Tests for mrcnn/datasets/labelme.py on labelme files and shape lists written by the tests."""
import base64
import io
import json
import logging

import numpy as np
import PIL.Image
import PIL.ImageOps
import pytest

from mrcnn.datasets import DatasetError, LabelmeDataset
from mrcnn.datasets.image_io import EXIF_ORIENTATION_TAG

HEIGHT, WIDTH = 30, 40


def write_png(path, array, exif_orientation=None):
    image = PIL.Image.fromarray(array)
    if exif_orientation:
        exif = PIL.Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = exif_orientation
        image.save(path, exif=exif)
    else:
        image.save(path)


def png_base64(array):
    buffer = io.BytesIO()
    PIL.Image.fromarray(array).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def labelme_file(path, shapes, image_path=None, image_data=None, height=HEIGHT, width=WIDTH):
    """Write a labelme 5 json; shapes are (label, shape_type, points[, group_id[, mask]])."""
    entries = []
    for shape in shapes:
        label, shape_type, points = shape[:3]
        entry = {"label": label, "points": points, "group_id": shape[3] if len(shape) > 3
                 else None, "description": "", "shape_type": shape_type, "flags": {}}
        if len(shape) > 4:
            entry["mask"] = shape[4]
        entries.append(entry)
    path.write_text(json.dumps({
        "version": "5.4.1", "flags": {}, "shapes": entries, "imagePath": image_path,
        "imageData": image_data, "imageHeight": height, "imageWidth": width}))


PATCH = np.array([[1, 0, 1], [1, 1, 1]], np.uint8) * 255
EVERY_SHAPE = [
    ("stop", "polygon", [[2, 2], [10, 2], [10, 8], [2, 8]]),                  # 0
    ("yield", "rectangle", [[30, 20], [25, 15]]),                             # 1
    ("stop", "circle", [[20, 5], [20, 7]]),                                   # 2
    ("yield", "mask", [[33, 2], [35, 3]], None, png_base64(PATCH)),           # 3
    ("stop", "polygon", [[0, 20], [4, 20], [4, 24]], 1),                      # 4
    ("stop", "polygon", [[6, 20], [10, 20], [10, 24]], 1),                    # 5
    ("yield", "polygon", [[12, 20], [14, 20], [14, 22], [12, 22]], 1),        # 6
    ("__ignore__", "polygon", [[20, 20], [24, 20], [24, 24]]),                # 7
    ("stop", "line", [[0, 0], [5, 5]]),                                       # 8
    ("stop", "linestrip", [[0, 0], [5, 5], [9, 1]]),                          # 9
    ("stop", "point", [[3, 3]]),                                              # 10
    ("stop", "polygon", [[1, 1], [6, 6]]),                                    # 11
    ("stop", "polygon", [[50, 50], [60, 50], [60, 60]]),                      # 12
]


@pytest.fixture
def street(tmp_path):
    """A folder with street.png (30 x 40) and street.json holding every shape type."""
    write_png(tmp_path / "street.png", np.full((HEIGHT, WIDTH, 3), 50, np.uint8))
    labelme_file(tmp_path / "street.json", EVERY_SHAPE, image_path="street.png")
    return tmp_path


def test_every_shape_type(street, caplog):
    dataset = LabelmeDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_labelme(street)
    dataset.prepare()
    assert dataset.class_names == ["BG", "stop", "yield"]              # sorted labels
    assert dataset.image_info[0]["id"] == "street"
    mask, class_ids = dataset.load_mask(0)
    # Instances in order of first shape: 0, 1, 2, 3, the group (4 + 5), 6.
    np.testing.assert_array_equal(class_ids, [1, 2, 1, 2, 1, 2])
    assert mask.shape == (HEIGHT, WIDTH, 6)

    expected = np.zeros((HEIGHT, WIDTH, 6), bool)
    expected[2:9, 2:11, 0] = True          # polygon x 2..10, y 2..8 inclusive: 9 * 7 = 63
    expected[15:21, 25:31, 1] = True       # rectangle corners (30, 20), (25, 15): 6 * 6
    expected[4:7, 19:22, 2] = True         # circle centre (20, 5), radius 2: the 3 x 3 block
    expected[2:4, 33:36, 3] = PATCH > 0    # the 2 x 3 mask at column 33, row 2
    # Triangles x 0..4 over y 20..24 (row 20 + k covers x k..4: 5 + 4 + 3 + 2 + 1 = 15
    # pixels) and the same shifted by 6 columns: merged by (label "stop", group_id 1).
    for k in range(5):
        expected[20 + k, k:5, 4] = True
        expected[20 + k, 6 + k:11, 4] = True
    expected[20:23, 12:15, 5] = True       # same group_id, other label: its own instance
    np.testing.assert_array_equal(mask, expected)
    assert mask[..., 0].sum() == 63 and mask[..., 4].sum() == 30

    # line, linestrip, point, the 2-point polygon and the shape outside the image: warned,
    # counted and named; the __ignore__ region is recorded but not warned about.
    text = caplog.text
    assert "skipped 5 annotation(s)" in text
    assert "1 x line shape (not an area) (street.json shape 8)" in text
    assert "1 x linestrip shape (not an area) (street.json shape 9)" in text
    assert "1 x point shape (not an area) (street.json shape 10)" in text
    assert ("1 x polygon with fewer than 3 points (polygon shape) (street.json shape 11)"
            in text)
    assert "1 x zero-area instance (no pixel inside the image) (street.json shape(s) 12)" in text
    assert "ignore" not in text
    summary = dataset.summary(verbose=False)
    assert summary["instances"] == {"stop": 3, "yield": 3}
    assert summary["skipped"]["__ignore__ region (not an instance)"] == \
        [(str(street / "street.json"), "shape 7")]
    assert len(dataset.skipped) == 6
    assert dataset.load_image(0).shape == (HEIGHT, WIDTH, 3)


def test_summary_prints_counts(street, capsys):
    dataset = LabelmeDataset()
    dataset.load_labelme(street)
    dataset.prepare()
    dataset.summary()
    out = capsys.readouterr().out
    assert "1 images, 6 instances in 2 classes" in out
    assert "skipped 6 annotations:" in out
    assert "1 x line shape (not an area): street.json shape 8" in out


def test_class_names_subset_skips_other_labels_with_a_warning(street, caplog):
    dataset = LabelmeDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_labelme(street, class_names=["BG", "yield"])    # leading BG dropped
    dataset.prepare()
    assert dataset.class_names == ["BG", "yield"]
    np.testing.assert_array_equal(dataset.load_mask(0)[1], [1, 1, 1])
    assert "x label not in class_names (street.json shape 0 (label 'stop')" in caplog.text


def test_image_data_without_image_file(tmp_path):
    pixels = np.arange(HEIGHT * WIDTH * 3, dtype=np.uint8).reshape(HEIGHT, WIDTH, 3)
    buffer = io.BytesIO()
    PIL.Image.fromarray(pixels).save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    labelme_file(tmp_path / "embedded.json", [("stop", "polygon", [[1, 1], [5, 1], [5, 5]])],
                 image_path="..\\elsewhere\\embedded.jpg", image_data=data)
    # imageData also wins over an imagePath that exists.
    write_png(tmp_path / "other.png", np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    labelme_file(tmp_path / "both.json", [], image_path="other.png", image_data=data)
    dataset = LabelmeDataset()
    dataset.load_labelme(tmp_path)
    dataset.prepare()
    for name in ("embedded", "both"):
        image_id = dataset.image_from_source_map["labelme." + name]
        np.testing.assert_array_equal(dataset.load_image(image_id), pixels)
    assert dataset.image_reference(dataset.image_from_source_map["labelme.embedded"]) == \
        str(tmp_path / "embedded.json")


def test_image_found_by_stem_when_image_path_is_stale(tmp_path):
    write_png(tmp_path / "photo.png", np.full((HEIGHT, WIDTH, 3), 7, np.uint8))
    labelme_file(tmp_path / "photo.json", [("stop", "rectangle", [[1, 1], [3, 3]])],
                 image_path="C:\\Users\\someone\\labels\\photo.png")
    dataset = LabelmeDataset()
    dataset.load_labelme(tmp_path)
    assert dataset.image_info[0]["path"] == str(tmp_path / "photo.png")


def test_exif_orientation_is_applied_as_labelme_shows_the_image(tmp_path):
    # Stored 2 rows x 3 columns with orientation 6 (turn 90 degrees clockwise): labelme shows
    # and annotates it as 3 rows x 2 columns.
    pixels = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 10
    write_png(tmp_path / "turned.png", pixels, exif_orientation=6)
    labelme_file(tmp_path / "turned.json", [("stop", "rectangle", [[0, 2], [1, 2]])],
                 image_path="turned.png", height=3, width=2)
    dataset = LabelmeDataset()
    dataset.load_labelme(tmp_path)
    dataset.prepare()
    with PIL.Image.open(tmp_path / "turned.png") as image:
        upright = np.asarray(PIL.ImageOps.exif_transpose(image))
    assert upright.shape == (3, 2, 3)
    np.testing.assert_array_equal(dataset.load_image(0), upright)
    mask, _ = dataset.load_mask(0)
    np.testing.assert_array_equal(mask[..., 0], [[0, 0], [0, 0], [1, 1]])


def test_channel_count_one(street):
    dataset = LabelmeDataset(channel_count=1)
    dataset.load_labelme(street)
    image = dataset.load_image(0)
    # Gray 50 everywhere: 0.2125 * 50 + 0.7154 * 50 + 0.0721 * 50 = 50.
    assert image.shape == (HEIGHT, WIDTH, 1) and (image == 50).all()


# ------------------------------------------------------------------------------ shape lists
@pytest.fixture
def signs(tmp_path):
    """The road-sign guide's layout: s1.png + s1.json and s2.png + s2.txt shape lists."""
    for name in ("s1", "s2"):
        write_png(tmp_path / (name + ".png"), np.full((HEIGHT, WIDTH, 3), 120, np.uint8))
    (tmp_path / "s1.json").write_text(json.dumps([
        {"category": "59", "type": "polygon", "points": [[2, 2], [10, 2], [10, 8], [2, 8]]},
        {"category": 60, "type": "rectangle", "points": [[20, 10], [25, 12]]},
    ]))
    # A hand-written .txt with Python quotes.
    (tmp_path / "s2.txt").write_text(
        "[{'category': '61', 'type': 'circle', 'points': [[5, 5], [5, 7]]}]")
    (tmp_path / "notes.txt").write_text("not a shape list: no image is called notes")
    return tmp_path


CATEGORIES = {"59": "stop", "60": "yield", "61": "speed"}


def test_shape_lists_with_category_map(signs):
    dataset = LabelmeDataset()
    dataset.load_labelme(signs, category_map=CATEGORIES)
    dataset.prepare()
    # Classes: the map's values, sorted: speed 1, stop 2, yield 3.
    assert dataset.class_names == ["BG", "speed", "stop", "yield"]
    assert [info["id"] for info in dataset.image_info] == ["s1", "s2"]
    mask, class_ids = dataset.load_mask(0)
    np.testing.assert_array_equal(class_ids, [2, 3])
    assert mask[..., 0].sum() == 9 * 7              # x 2..10, y 2..8
    assert mask[..., 1].sum() == 6 * 3              # x 20..25, y 10..12
    mask, class_ids = dataset.load_mask(1)
    np.testing.assert_array_equal(class_ids, [1])
    assert mask[..., 0].sum() == 9                  # radius 2: 3 x 3


def test_shape_list_unknown_category_is_an_error(signs):
    with pytest.raises(DatasetError) as error:
        LabelmeDataset().load_labelme(signs, category_map={"59": "stop", "60": "yield"})
    text = str(error.value)
    assert "1 shape(s) with a label that category_map does not list" in text
    assert "{} shape 0: label '61'".format(signs / "s2.txt") in text


def test_shape_list_category_outside_class_names_is_a_counted_warning(signs, caplog):
    dataset = LabelmeDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_labelme(signs, class_names=["stop"], category_map={"59": "stop"})
    dataset.prepare()
    assert dataset.class_names == ["BG", "stop"]
    assert "2 x label not in class_names" in caplog.text
    assert "s1.json shape 1 (label '60')" in caplog.text
    assert dataset.summary(verbose=False)["instances"] == {"stop": 1}


def test_labels_txt_gives_the_classes_and_rejects_others(street):
    (street / "labels.txt").write_text("__ignore__\n_background_\nyield\nstop\n\n")
    dataset = LabelmeDataset()
    dataset.load_labelme(street)
    dataset.prepare()
    assert dataset.class_names == ["BG", "yield", "stop"]             # labels.txt order
    labelme_file(street / "street.json", [("stop", "polygon", [[1, 1], [5, 1], [5, 5]]),
                                          ("car", "polygon", [[1, 1], [5, 1], [5, 5]])],
                 image_path="street.png")
    with pytest.raises(DatasetError) as error:
        LabelmeDataset().load_labelme(street)
    text = str(error.value)
    assert "label that {} does not list (it has: yield, stop)".format(street / "labels.txt") \
        in text
    assert "street.json shape 1: label 'car'" in text


# ------------------------------------------------------------------------------ bad input
def test_malformed_json_names_file_and_position(street):
    # The missing comma: '{' 1, '"shapes"' 2-9, ':' 10, ' ' 11, '[' 12, '{' 13,
    # '"label"' 14-20, ':' 21, ' ' 22, '"stop"' 23-28, ' ' 29, then '"points"' at column 30.
    (street / "street.json").write_text('{"shapes": [{"label": "stop" "points": []}]}')
    with pytest.raises(DatasetError, match=r"street.json is not valid JSON: Expecting ',' "
                                           r"delimiter at line 1 column 30"):
        LabelmeDataset().load_labelme(street)


def test_missing_images_are_reported_all_at_once(tmp_path):
    labelme_file(tmp_path / "a.json", [], image_path="a.jpg")
    labelme_file(tmp_path / "b.json", [], image_path="gone/b.jpg")
    with pytest.raises(DatasetError) as error:
        LabelmeDataset().load_labelme(tmp_path)
    text = str(error.value)
    assert "2 image(s) missing, unreadable or of the wrong size" in text
    assert "a.json: imagePath 'a.jpg' not found and no imageData" in text
    assert "b.json: imagePath 'gone/b.jpg' not found and no imageData" in text


def test_shape_list_without_its_image(tmp_path):
    (tmp_path / "lonely.json").write_text(json.dumps([{"category": "1", "points": []}]))
    with pytest.raises(DatasetError, match="lonely.json: no image with the stem 'lonely'"):
        LabelmeDataset().load_labelme(tmp_path)


def test_unreadable_image_and_wrong_size(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    labelme_file(tmp_path / "bad.json", [], image_path="bad.png")
    write_png(tmp_path / "small.png", np.zeros((10, 12, 3), np.uint8))
    labelme_file(tmp_path / "small.json", [], image_path="small.png")
    with pytest.raises(DatasetError) as error:
        LabelmeDataset().load_labelme(tmp_path)
    text = str(error.value)
    assert "bad.json: image {} unreadable".format(tmp_path / "bad.png") in text
    assert "small.json: imageHeight x imageWidth is 30x40 but the image {} is 10x12".format(
        tmp_path / "small.png") in text


def test_other_json_and_empty_folders(tmp_path, caplog):
    with pytest.raises(DatasetError, match="no labelme .json or per-image shape-list files"):
        LabelmeDataset().load_labelme(tmp_path)
    with pytest.raises(DatasetError, match="is not a folder"):
        LabelmeDataset().load_labelme(tmp_path / "nope")
    (tmp_path / "settings.json").write_text('{"theme": "dark"}')
    dataset = LabelmeDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_labelme(tmp_path)
    assert dataset.image_info == []
    assert "settings.json file" in caplog.text and "neither a labelme file" in caplog.text
    with pytest.raises(TypeError, match="category_map must be a dict"):
        LabelmeDataset().load_labelme(tmp_path, category_map=[("59", "stop")])
    with pytest.raises(ValueError, match=r"class_names lists \['a'\] more than once"):
        LabelmeDataset().load_labelme(tmp_path, class_names=["a", "b", "a"])


def test_through_load_image_gt(street):
    from mrcnn.data.image_gt import load_image_gt
    from tiny import tiny_config

    dataset = LabelmeDataset()
    dataset.load_labelme(street)
    dataset.prepare()
    image, meta, class_ids, bbox, mask = load_image_gt(dataset, tiny_config(), 0)
    assert image.shape == (64, 64, 3)
    np.testing.assert_array_equal(class_ids, [1, 2, 1, 2, 1, 2])
    assert mask.shape == (64, 64, 6)


def test_two_folders_into_one_dataset_need_the_same_classes(tmp_path):
    for folder, label in (("day", "stop"), ("night", "yield")):
        (tmp_path / folder).mkdir()
        write_png(tmp_path / folder / (folder + ".png"), np.zeros((HEIGHT, WIDTH, 3), np.uint8))
        labelme_file(tmp_path / folder / (folder + ".json"),
                     [(label, "rectangle", [[1, 1], [4, 4]])], image_path=folder + ".png")
    dataset = LabelmeDataset()
    dataset.load_labelme(tmp_path / "day", class_names=["stop", "yield"])
    dataset.load_labelme(tmp_path / "night", class_names=["stop", "yield"])
    dataset.prepare()
    assert [dataset.load_mask(i)[1].tolist() for i in dataset.image_ids] == [[1], [2]]
    # Without class_names each folder has its own classes: ["stop"], then ["yield"].
    dataset = LabelmeDataset()
    dataset.load_labelme(tmp_path / "day")
    with pytest.raises(DatasetError, match=r"already holds the labelme classes \['stop'\] from "
                                           r"an earlier load, and these files give \['yield'\]"):
        dataset.load_labelme(tmp_path / "night")
