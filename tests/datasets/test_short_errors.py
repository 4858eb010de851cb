"""Errors about many items (issue 15, item 9): mrcnn.datasets.base.few and
missing_files_message, and the loaders' and runner.image_files' errors built with them: a few
examples, the count, and a folder that does not exist named as the cause, on one line."""
import json
import re

import numpy as np
import PIL.Image
import pytest

from mrcnn import runner
from mrcnn.datasets import CocoDataset, DatasetError, LabelmeDataset, ViaDataset
from mrcnn.datasets.base import few, missing_files_message


def test_few_shows_five_and_counts_the_rest():
    assert few(["a", "b", "c"]) == "a, b, c"
    assert few(range(5)) == "0, 1, 2, 3, 4"
    assert few(range(7)) == "0, 1, 2, 3, 4, ... (7 in all)"
    assert few(["x", "y", "z"], sep="; ", shown=2) == "x; y; ... (3 in all)"
    assert few([]) == ""


def test_missing_files_message_names_the_cause(tmp_path):
    (tmp_path / "here").mkdir()
    inside = [str(tmp_path / "here" / "{}.jpg".format(i)) for i in range(7)]
    assert missing_files_message(inside[:1]) == "1 image not found in {}: 0.jpg".format(
        tmp_path / "here")
    assert missing_files_message(inside, total=7) == (
        "7 images not found in {}: 0.jpg, 1.jpg, 2.jpg, 3.jpg, 4.jpg, ... (7 in all); none is "
        "there: is it the right folder?".format(tmp_path / "here"))
    assert missing_files_message(inside[:2], total=7).endswith(": 0.jpg, 1.jpg")
    gone = [str(tmp_path / "nope" / "{}.jpg".format(i)) for i in range(3)]
    assert missing_files_message(gone, "file") == \
        "3 files not found: the folder {} does not exist".format(tmp_path / "nope")
    both = missing_files_message(inside[:1] + gone[:1])
    assert both == "2 images not found: {}, {}; the folder {} does not exist".format(
        inside[0], gone[0], tmp_path / "nope")


def coco_with_images(path, count):
    images = [{"id": i, "file_name": "img{:02d}.jpg".format(i), "height": 8, "width": 8}
              for i in range(1, count + 1)]
    path.write_text(json.dumps({"images": images, "annotations": [],
                                "categories": [{"id": 1, "name": "x"}]}))
    return path


def test_coco_with_30_missing_images_names_five_and_the_count(tmp_path):
    path = coco_with_images(tmp_path / "ann.json", 30)
    with pytest.raises(DatasetError) as error:
        CocoDataset().load_coco(path, tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert "30 images not found in {}".format(tmp_path) in message
    assert len(re.findall(r"img\d\d\.jpg", message)) == 5
    assert "(30 in all); none is there: is it the right folder?" in message

    with pytest.raises(DatasetError) as error:
        CocoDataset().load_coco(path, tmp_path / "nope")
    assert str(error.value) == "load_coco({}): 30 images not found: the folder {} does not " \
                               "exist".format(path, tmp_path / "nope")


def test_coco_layout_problems_are_counted(tmp_path):
    path = coco_with_images(tmp_path / "ann.json", 1)
    data = json.loads(path.read_text())
    data["annotations"] = [{"id": k, "image_id": 99, "category_id": 1} for k in range(12)]
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError) as error:
        CocoDataset().load_coco(path, tmp_path)
    message = str(error.value)
    assert "12 problem(s): " in message and "(12 in all)" in message
    assert message.count("which is not in 'images'") == 5 and "\n" not in message


def test_via_with_a_wrong_image_folder_is_one_line(tmp_path):
    square = {"shape_attributes": {"name": "rect", "x": 1, "y": 1, "width": 3, "height": 3},
              "region_attributes": {}}
    path = tmp_path / "via.json"
    path.write_text(json.dumps({"p{:02d}.jpg1".format(i): {
        "filename": "p{:02d}.jpg".format(i), "size": 1, "regions": [square]}
        for i in range(30)}))
    with pytest.raises(DatasetError) as error:
        ViaDataset().load_via(path, image_dir=tmp_path / "photos")
    assert str(error.value) == "load_via({}): 30 images not found: the folder {} does not " \
                               "exist".format(path, tmp_path / "photos")
    PIL.Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "p00.jpg")
    (tmp_path / "p01.jpg").write_text("not an image")
    with pytest.raises(DatasetError) as error:
        ViaDataset().load_via(path)
    message = str(error.value)
    assert "28 images not found in {}: p02.jpg".format(tmp_path) in message
    assert "(28 in all); 1 image(s) unreadable: {} (named in".format(tmp_path / "p01.jpg") \
        in message
    not_found = message.split("; 1 image(s) unreadable")[0]
    assert re.findall(r"p\d\d\.jpg", not_found) == ["p02.jpg", "p03.jpg", "p04.jpg", "p05.jpg",
                                                   "p06.jpg"]


def test_labelme_with_30_missing_images_names_five(tmp_path):
    for i in range(30):
        (tmp_path / "s{:02d}.json".format(i)).write_text(json.dumps(
            {"shapes": [], "imagePath": "gone/s{:02d}.jpg".format(i)}))
    with pytest.raises(DatasetError) as error:
        LabelmeDataset().load_labelme(tmp_path)
    message = str(error.value)
    assert "30 image(s) missing, unreadable or of the wrong size: " in message
    assert len(re.findall(r"imagePath 'gone/s\d\d\.jpg' not found", message)) == 5
    assert "(30 in all)" in message and "\n" not in message


def test_image_files_says_when_the_folder_does_not_exist(tmp_path):
    with pytest.raises(DatasetError) as error:
        runner.image_files(str(tmp_path / "nope" / "a.jpg"))
    assert str(error.value) == "no image or folder {}: the folder {} does not exist".format(
        tmp_path / "nope" / "a.jpg", tmp_path / "nope")
    with pytest.raises(DatasetError) as error:
        runner.image_files(str(tmp_path / "a.jpg"))
    assert str(error.value) == "no image or folder {}".format(tmp_path / "a.jpg")
