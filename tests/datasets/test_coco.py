"""Tests for mrcnn/datasets/coco.py: the real coco_icevision excerpt and COCO files written here."""
import contextlib
import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import skimage.io
from pycocotools import mask as maskUtils
from pycocotools.coco import COCO

from mrcnn.datasets import CocoDataset, DatasetError

SHARED = Path(__file__).parents[2].parent / "shared" / "datasets"
REAL = SHARED / "coco_icevision"
needs_real = pytest.mark.skipif(not (REAL / "annotations.json").is_file(),
                                reason="the real datasets folder {} is absent (only the "
                                       "project's shared workspace has it)".format(SHARED))


# ------------------------------------------------------------------------------ real set
@pytest.fixture(scope="module")
def real():
    dataset = CocoDataset()
    coco = dataset.load_coco(REAL / "annotations.json", REAL / "images", return_coco=True)
    dataset.prepare()
    return dataset, coco


@needs_real
def test_real_set_loads_every_image_and_instance(real):
    dataset, _ = real
    data = json.loads((REAL / "annotations.json").read_text())
    # Counted independently from the file: 6 images, 36 annotations, 1 crowd, 80 categories.
    assert dataset.num_images == len(data["images"]) == 6
    assert dataset.num_classes == 1 + len(data["categories"]) == 81
    class_ids = [dataset.load_mask(i)[1] for i in dataset.image_ids]
    assert sum(len(c) for c in class_ids) == len(data["annotations"]) == 36
    crowds = [a for a in data["annotations"] if a["iscrowd"]]
    assert len(crowds) == 1
    assert sum(int((c < 0).sum()) for c in class_ids) == 1
    # The crowd is a bottle (category 44) of image 464689: its class id is -(bottle's id).
    image_id = dataset.image_from_source_map["coco.464689"]
    bottle = dataset.map_source_class_id("coco.44")
    assert dataset.class_names[bottle] == "bottle"
    assert -bottle in dataset.load_mask(image_id)[1]


@needs_real
def test_real_set_image_without_annotations_is_kept(real):
    dataset, _ = real
    image_id = dataset.image_from_source_map["coco.89"]
    mask, class_ids = dataset.load_mask(image_id)
    assert mask.shape == (480, 640, 0) and class_ids.shape == (0,)
    assert dataset.load_image(image_id).shape == (480, 640, 3)
    assert dataset.summary(verbose=False)["images_without_instances"] == [image_id]


@needs_real
def test_real_set_masks_equal_pycocotools(real):
    dataset, _ = real
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(REAL / "annotations.json"))
    for image_id in dataset.image_ids:
        info = dataset.image_info[image_id]
        mask, class_ids = dataset.load_mask(image_id)
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[info["id"]], iscrowd=None))
        assert mask.shape[2] == len(annotations)
        for k, annotation in enumerate(annotations):
            np.testing.assert_array_equal(mask[..., k], coco.annToMask(annotation) > 0)
            category = dataset.get_source_class_id(abs(int(class_ids[k])), "coco")
            assert category == annotation["category_id"]
        assert dataset.load_image(image_id).shape[:2] == mask.shape[:2]


@needs_real
def test_real_set_ids_map_back_for_evaluation(real):
    dataset, coco = real
    # 64-bit annotation id kept exactly; COCO image ids and category ids recoverable.
    ids = [a["id"] for info in dataset.image_info for a in info["annotations"]]
    assert 904400464689 in ids
    assert sorted(info["id"] for info in dataset.image_info) == sorted(coco.getImgIds())
    # Contiguous internal ids in sorted category-id order, named after the categories.
    assert [dataset.get_source_class_id(i, "coco") for i in range(1, 81)] == \
        sorted(coco.getCatIds())
    assert dataset.class_names[1] == "person"
    assert dataset.image_reference(0).startswith("http://cocodataset.org/#explore?id=")


@needs_real
def test_real_set_subset_of_categories(real):
    dataset = CocoDataset()
    dataset.load_coco(REAL / "annotations.json", REAL / "images", class_ids=[44, 1])
    dataset.prepare()
    # Internal ids follow class_ids: 1 bottle, 2 person. Only images with one of them load:
    # person in 128372 and 404249, bottle in 464689.
    assert dataset.class_names == ["BG", "bottle", "person"]
    assert sorted(info["id"] for info in dataset.image_info) == [128372, 404249, 464689]
    summary = dataset.summary(verbose=False)
    # 13 bottles + 1 crowd bottle in 464689; 9 persons in 128372 + 1 in 404249.
    assert summary["instances"] == {"bottle": 13, "person": 10}
    assert summary["crowds"] == {"bottle": 1}


@needs_real
def test_real_set_through_load_image_gt(real):
    from mrcnn.data.image_gt import load_image_gt
    from tiny import tiny_config

    dataset, _ = real
    image_id = dataset.image_from_source_map["coco.194216"]
    image, meta, class_ids, bbox, mask = load_image_gt(dataset, tiny_config(), image_id,
                                                       use_mini_mask=True)
    assert image.shape == (64, 64, 3)
    assert len(class_ids) == len(bbox) == mask.shape[-1] == 3


# ------------------------------------------------------------------------------ written here
def write_image(path, height, width):
    skimage.io.imsave(path, np.full((height, width, 3), 90, np.uint8), check_contrast=False)


def coco_json(tmp_path, annotations, images=None, categories=None):
    """Write a COCO file with two 16 x 20 images and categories 3 "cat", 7 "dog"."""
    images = images if images is not None else [
        {"id": 1, "file_name": "a.png", "height": 16, "width": 20},
        {"id": 2 ** 40, "file_name": "b.png", "height": 16, "width": 20}]
    for image in images:
        if not (tmp_path / image["file_name"]).exists():
            write_image(tmp_path / image["file_name"], image["height"], image["width"])
    data = {"images": images,
            "categories": categories or [{"id": 7, "name": "dog"}, {"id": 3, "name": "cat"}],
            "annotations": annotations}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path


def hand_mask():
    """16 x 20, rows 2..5, columns 3..9."""
    mask = np.zeros((16, 20), np.uint8)
    mask[2:6, 3:10] = 1
    return mask


def uncompressed_rle(mask):
    """COCO's uncompressed RLE: run lengths in column-major order, starting with zeros."""
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return {"counts": counts, "size": list(mask.shape)}


def test_polygon_and_both_rle_kinds(tmp_path):
    compressed = maskUtils.encode(np.asfortranarray(hand_mask()))
    compressed["counts"] = compressed["counts"].decode("ascii")
    path = coco_json(tmp_path, [
        # Polygon x 4..12, y 4..10: COCO pixels are unit squares, so columns 4..11 and
        # rows 4..9 -> 8 * 6 = 48 pixels.
        {"id": 10, "image_id": 1, "category_id": 3, "iscrowd": 0,
         "segmentation": [[4, 4, 12, 4, 12, 10, 4, 10]]},
        {"id": 11, "image_id": 1, "category_id": 7, "iscrowd": 0,
         "segmentation": uncompressed_rle(hand_mask())},
        {"id": 2 ** 40 + 5, "image_id": 2 ** 40, "category_id": 7, "iscrowd": 0,
         "segmentation": compressed},
        {"id": 13, "image_id": 2 ** 40, "category_id": 3, "iscrowd": 1,
         "segmentation": uncompressed_rle(1 - hand_mask())},
    ])
    dataset = CocoDataset()
    dataset.load_coco(path, tmp_path)
    dataset.prepare()
    # Classes in sorted category-id order: 3 cat -> 1, 7 dog -> 2.
    assert dataset.class_names == ["BG", "cat", "dog"]
    mask, class_ids = dataset.load_mask(dataset.image_from_source_map["coco.1"])
    np.testing.assert_array_equal(class_ids, [1, 2])
    expected = np.zeros((16, 20), bool)
    expected[4:10, 4:12] = True
    np.testing.assert_array_equal(mask[..., 0], expected)
    np.testing.assert_array_equal(mask[..., 1], hand_mask() > 0)       # 4 * 7 = 28 pixels
    assert mask[..., 1].sum() == 28

    mask, class_ids = dataset.load_mask(dataset.image_from_source_map["coco.{}".format(2 ** 40)])
    np.testing.assert_array_equal(class_ids, [2, -1])                  # the crowd cat: -1
    np.testing.assert_array_equal(mask[..., 0], hand_mask() > 0)
    np.testing.assert_array_equal(mask[..., 1], hand_mask() == 0)
    assert dataset.image_info[1]["id"] == 2 ** 40
    # Without coco_url, the reference is the path.
    assert dataset.image_reference(0) == str(tmp_path / "a.png")


def test_unusable_annotations_are_skipped_with_a_counted_warning(tmp_path, caplog):
    path = coco_json(tmp_path, [
        {"id": 20, "image_id": 1, "category_id": 3, "iscrowd": 0,
         "segmentation": [[1, 1, 5, 5]]},                            # 2 points
        {"id": 21, "image_id": 1, "category_id": 3, "iscrowd": 0,
         "segmentation": [[1, 1, 5, 5], [1, 1, 8, 1, 8, 8]]},        # one good polygon left
        {"id": 22, "image_id": 1, "category_id": 7, "iscrowd": 0, "bbox": [1, 1, 3, 3]},
        {"id": 23, "image_id": 1, "category_id": 7, "iscrowd": 0,
         "segmentation": {"counts": [0, 10], "size": [5, 2]}},       # not 16 x 20
        # A polygon thinner than a pixel: no pixel, dropped by load_mask as in Matterport.
        {"id": 24, "image_id": 2 ** 40, "category_id": 7, "iscrowd": 0,
         "segmentation": [[3.1, 3.1, 3.2, 3.1, 3.2, 3.2]]},
    ])
    dataset = CocoDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_coco(path, tmp_path)
    dataset.prepare()
    text = caplog.text
    assert "skipped 4 annotation(s)" in text
    assert "2 x polygon with fewer than 3 points" in text
    assert "annotation 20 (image 1) polygon 0" in text
    assert "1 x annotation without segmentation" in text
    assert "1 x RLE whose size differs from its image's height and width" in text
    mask, class_ids = dataset.load_mask(0)
    np.testing.assert_array_equal(class_ids, [1])                      # annotation 21 only
    mask, class_ids = dataset.load_mask(1)
    assert mask.shape == (16, 20, 0)
    skipped = dataset.summary(verbose=False)["skipped"]
    assert skipped["mask that covers no pixel"] == [
        (str(tmp_path / "b.png"), "annotation 24 (image {})".format(2 ** 40))]
    dataset.load_mask(1)                                              # recorded once only
    assert len(dataset.skipped) == 5


def test_bad_files_give_clear_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [}')    # '{' 1, '"images"' 2-9, ':' 10, ' ' 11, '[' 12, '}' 13
    with pytest.raises(DatasetError, match=r"broken.json is not valid JSON: .* line 1 column 13"):
        CocoDataset().load_coco(broken, tmp_path)

    path = coco_json(tmp_path, [{"id": 30, "image_id": 1, "category_id": 5, "iscrowd": 0,
                                 "segmentation": [[1, 1, 8, 1, 8, 8]]},
                                {"id": 31, "image_id": 9, "category_id": 3, "iscrowd": 0,
                                 "segmentation": [[1, 1, 8, 1, 8, 8]]}])
    with pytest.raises(DatasetError) as error:
        CocoDataset().load_coco(path, tmp_path)
    text = str(error.value)
    assert str(path) in text
    assert "annotation 30 has category 5, which is not in 'categories' (unknown category)" in text
    assert "annotation 31 is for image 9, which is not in 'images'" in text

    path = coco_json(tmp_path, [])
    with pytest.raises(DatasetError, match=r"class_ids \[4\] are not categories of the file"):
        CocoDataset().load_coco(path, tmp_path, class_ids=[3, 4])

    missing = [{"id": 1, "file_name": "nope1.png", "height": 4, "width": 4},
               {"id": 2, "file_name": "a.png", "height": 16, "width": 20},
               {"id": 3, "file_name": "nope2.png", "height": 4, "width": 4}]
    data = {"images": missing, "categories": [{"id": 1, "name": "x"}], "annotations": []}
    path = tmp_path / "missing.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError) as error:
        CocoDataset().load_coco(path, tmp_path)
    text = str(error.value)
    assert "2 images not found in {}: nope1.png, nope2.png".format(tmp_path) in text

    data = {"images": [{"id": 1, "file_name": "a.png"}], "categories": []}
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"images\[0\] has no 'height', 'width'"):
        CocoDataset().load_coco(path, tmp_path)


def test_image_of_another_size_than_the_json_says(tmp_path):
    path = coco_json(tmp_path, [], images=[{"id": 1, "file_name": "a.png", "height": 16,
                                            "width": 20}])
    write_image(tmp_path / "a.png", 10, 20)                          # overwritten: 10 rows
    dataset = CocoDataset()
    dataset.load_coco(path, tmp_path)
    dataset.prepare()
    with pytest.raises(DatasetError, match="is 10x20 .* but its annotations are for 16x20"):
        dataset.load_image(0)
