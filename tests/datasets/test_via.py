"""Tests for mrcnn/datasets/via.py: the real VIA sets in ../shared/datasets and files written
here."""
import json
import logging
import math
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import skimage.draw

from mrcnn.datasets import DatasetError, ViaDataset

SHARED = Path(__file__).parents[2].parent / "shared" / "datasets"
needs_real = pytest.mark.skipif(not (SHARED / "via_rice_leaf").is_dir(),
                                reason="the real datasets folder {} is absent (only the "
                                       "project's shared workspace has it)".format(SHARED))


def regions_of(entry):
    regions = entry["regions"]
    return list(regions.values()) if isinstance(regions, dict) else regions


def unclipped_polygon_mask(shape, height, width):
    """The polygon drawn without clipping, then cut to the image: what clipping must give."""
    rr, cc = skimage.draw.polygon(shape["all_points_y"], shape["all_points_x"])
    inside = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
    mask = np.zeros((height, width), bool)
    mask[rr[inside], cc[inside]] = True
    return mask


# ------------------------------------------------------------------------------ real sets
@needs_real
def test_rice_leaf_via1_counts_unlabelled_regions_and_border_clipping(caplog):
    path = SHARED / "via_rice_leaf" / "train" / "via_region_data.json"
    data = json.loads(path.read_text())
    # Counted from the file: regions with a non-empty class_id, and those without.
    labelled = [(e["filename"], r) for e in data.values() for r in regions_of(e)
                if r["region_attributes"].get("class_id")]
    unlabelled = [(e["filename"], i) for e in data.values()
                  for i, r in enumerate(regions_of(e)) if not r["region_attributes"].get(
                      "class_id")]
    assert isinstance(next(iter(data.values()))["regions"], dict)        # VIA 1.x
    assert len(unlabelled) == 2

    dataset = ViaDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_via(path, class_key="class_id")
    dataset.prepare()
    assert dataset.class_names == ["BG", "bacteria", "brown_spot", "leaf_smut"]
    assert dataset.num_images == len(data) == 98
    summary = dataset.summary(verbose=False)
    assert sum(summary["instances"].values()) == len(labelled) == 625
    for name in ("bacteria", "brown_spot", "leaf_smut"):
        assert summary["instances"][name] == sum(
            r["region_attributes"]["class_id"] == name for _, r in labelled)
    # The unlabelled regions are reported, counted and named.
    reported = summary["skipped"]["region without a 'class_id' class"]
    assert [what for _, what in reported] == [
        "image {} region {}".format(name, i) for name, i in unlabelled]
    assert "2 x region without a 'class_id' class" in caplog.text
    assert "image Brown_spot1.jpg region 33" in caplog.text

    # Polygons with vertices at x or y = 416 (one past the last pixel) are clipped: each
    # image's masks equal the unclipped polygons cut to 416 x 416.
    border = {e["filename"] for e in data.values() for r in regions_of(e)
              if max(r["shape_attributes"]["all_points_x"]) >= 416
              or max(r["shape_attributes"]["all_points_y"]) >= 416}
    assert len(border) == 13
    for name in sorted(border)[:4]:
        image_id = dataset.image_from_source_map["via." + name]
        mask, class_ids = dataset.load_mask(image_id)
        entry = next(e for e in data.values() if e["filename"] == name)
        shapes = [r["shape_attributes"] for r in regions_of(entry)
                  if r["region_attributes"].get("class_id")]
        assert mask.shape == (416, 416, len(shapes))
        for k, shape in enumerate(shapes):
            np.testing.assert_array_equal(mask[..., k], unclipped_polygon_mask(shape, 416, 416))
        assert mask[-1, :, :].any() or mask[:, -1, :].any()              # touches the border
        assert dataset.load_image(image_id).shape == (416, 416, 3)


@needs_real
def test_kudzu_via2_train_and_val_without_attributes(caplog):
    folder = SHARED / "via_kudzu"
    train = json.loads((folder / "train" / "via_region_data.json").read_text())
    val = json.loads((folder / "val" / "via_region_data.json").read_text())
    assert isinstance(next(iter(train.values()))["regions"], list)       # VIA 2.x
    n_train = sum(len(e["regions"]) for e in train.values())
    n_val = sum(len(e["regions"]) for e in val.values())

    dataset = ViaDataset()
    dataset.load_via(folder / "train" / "via_region_data.json", class_key="insect")
    dataset.prepare()
    assert dataset.class_names == ["BG", "kudzu"]
    assert dataset.summary(verbose=False)["instances"] == {"kudzu": n_train}

    # val has no class attribute: one class named by class_names ...
    dataset = ViaDataset()
    dataset.load_via(folder / "val" / "via_region_data.json", class_names=["kudzu"])
    dataset.prepare()
    assert dataset.class_names == ["BG", "kudzu"]
    assert dataset.summary(verbose=False)["instances"] == {"kudzu": n_val}
    assert dataset.num_images == len(val)
    # ... while asking for the attribute reports every region, with one warning.
    dataset = ViaDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_via(folder / "val" / "via_region_data.json", class_key="insect")
    summary = dataset.summary(verbose=False)
    assert len(summary["skipped"]["region without a 'insect' class"]) == n_val
    assert len(summary["images_without_instances"]) == len(val)
    assert "skipped {} annotation(s)".format(n_val) in caplog.text


@needs_real
def test_icevision_via2_rect_nested_attributes_and_subset(caplog):
    path = SHARED / "via_icevision" / "via_bbox.json"
    data = json.loads(path.read_text())
    regions = [r for e in data.values() for r in e["regions"]]
    labels = [r["region_attributes"]["label"] for r in regions]
    assert len(regions) == 10 and labels.count("###") == 2

    dataset = ViaDataset()
    dataset.load_via(path)
    dataset.prepare()
    assert dataset.class_names == ["BG", "object"]
    assert dataset.summary(verbose=False)["instances"] == {"object": 10}

    dataset = ViaDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_via(path, class_key="label", class_names=["c", "n", "o", "z"])
    dataset.prepare()
    assert dataset.summary(verbose=False)["instances"] == {
        name: labels.count(name) for name in "cnoz"}
    assert "2 x class not in class_names" in caplog.text                   # the "###" ones

    # The rect of IMG_4908.jpg: x 263, y 55, width 45, height 48 -> columns 263..308 and
    # rows 55..103 inclusive (a rect is the polygon of its corners): 46 * 49 = 2254 pixels.
    image_id = dataset.image_from_source_map["via.IMG_4908.jpg"]
    mask, class_ids = dataset.load_mask(image_id)
    rect = mask[..., -1]
    assert dataset.class_names[class_ids[-1]] == "n"
    assert rect.sum() == 2254 and rect[55:104, 263:309].all()
    assert dataset.load_image(image_id).shape == (480, 640, 3) == mask.shape[:2] + (3,)

    # A dotted key reaches nested attributes: qualities.is_rotated, true where it is set.
    rotated = [r for r in regions if r["region_attributes"].get("qualities", {}).get(
        "is_rotated")]
    assert 0 < len(rotated) < len(regions)
    dataset = ViaDataset()
    dataset.load_via(path, class_key="qualities.is_rotated")
    dataset.prepare()
    assert dataset.class_names == ["BG", "True"]
    summary = dataset.summary(verbose=False)
    assert summary["instances"] == {"True": len(rotated)}
    assert len(summary["skipped"]["region without a 'qualities.is_rotated' class"]) == \
        len(regions) - len(rotated)


@needs_real
def test_rice_leaf_through_load_image_gt():
    from mrcnn.data.image_gt import load_image_gt
    from tiny import tiny_config

    dataset = ViaDataset()
    dataset.load_via(SHARED / "via_rice_leaf" / "val" / "via_region_data.json",
                     class_key="class_id")
    dataset.prepare()
    image, meta, class_ids, bbox, mask = load_image_gt(dataset, tiny_config(), 0,
                                                       use_mini_mask=True)
    assert image.shape == (64, 64, 3) and len(class_ids) == mask.shape[-1] > 0


# ------------------------------------------------------------------------------ written here
def write_image(path, height=20, width=30):
    PIL.Image.fromarray(np.full((height, width, 3), 30, np.uint8)).save(path)


def region(shape, **attributes):
    return {"shape_attributes": shape, "region_attributes": attributes}


def test_via2_project_with_every_shape(tmp_path, caplog):
    write_image(tmp_path / "a.png")
    write_image(tmp_path / "b.png")
    project = {"_via_settings": {}, "_via_attributes": {}, "_via_img_metadata": {
        "a.png123": {"filename": "a.png", "size": 123, "file_attributes": {}, "regions": [
            region({"name": "circle", "cx": 5, "cy": 5, "r": 2}, kind="bird"),
            region({"name": "ellipse", "cx": 15, "cy": 10, "rx": 5, "ry": 1.5,
                    "theta": math.pi / 2}, kind="bird"),
            region({"name": "rect", "x": 20, "y": 2, "width": 3, "height": 2},
                   kind={"cat": True, "dog": False}),
            region({"name": "polyline", "all_points_x": [1, 5], "all_points_y": [1, 5]},
                   kind="bird"),
            region({"name": "point", "cx": 3, "cy": 3}, kind="bird"),
            region({"name": "polygon", "all_points_x": [1, 5], "all_points_y": [1, 5]},
                   kind="bird"),
            region({"name": "polygon", "all_points_x": [40, 50, 50],
                    "all_points_y": [1, 1, 9]}, kind="bird"),
            region({"name": "rect", "x": 1, "y": 1, "width": 2, "height": 2},
                   kind={"cat": True, "dog": True}),
        ]},
        "b.png456": {"filename": "b.png", "size": 456, "file_attributes": {}, "regions": []},
    }}
    path = tmp_path / "project.json"
    path.write_text(json.dumps(project))
    dataset = ViaDataset()
    with caplog.at_level(logging.WARNING):
        dataset.load_via(path, class_key="kind")
    dataset.prepare()
    assert dataset.class_names == ["BG", "bird", "cat"]
    assert dataset.num_images == 1                      # b.png has no regions: left out
    mask, class_ids = dataset.load_mask(0)
    np.testing.assert_array_equal(class_ids, [1, 1, 2])
    # Circle centre (5, 5), radius 2: the 3 x 3 block. Ellipse rx 5, ry 1.5 turned by 90
    # degrees: long axis vertical, so (x 15, y 14) is in and (x 19, y 10) is out. Rect
    # x 20..23, y 2..4: 4 * 3 = 12 pixels.
    assert mask[..., 0].sum() == 9 and mask[4:7, 4:7, 0].all()
    assert mask[14, 15, 1] and mask[6, 15, 1] and not mask[10, 19, 1]
    assert mask[..., 2].sum() == 12 and mask[2:5, 20:24, 2].all()
    text = caplog.text
    assert "skipped 5 annotation(s)" in text
    assert "1 x polyline region (not an area) (project.json image a.png region 3)" in text
    assert "1 x point region (not an area)" in text
    assert "1 x polygon with fewer than 3 points (polygon region)" in text
    assert "1 x zero-area region (no pixel inside the image) (project.json image a.png " \
        "region 6)" in text
    assert "1 x region with several 'kind' options checked" in text
    assert dataset.summary(verbose=False)["skipped"][
        "image without regions (keep_unannotated=False)"] == [(str(path), "image b.png")]

    dataset = ViaDataset()
    dataset.load_via(path, class_key="kind", keep_unannotated=True)
    assert [info["id"] for info in dataset.image_info] == ["a.png", "b.png"]
    dataset.prepare()
    assert dataset.load_mask(1)[0].shape == (20, 30, 0)


def test_via_bad_input(tmp_path):
    broken = tmp_path / "broken.json"
    # '{' 1, '"a.png1"' 2-9, ':' 10, ' ' 11, '{' 12, '"filename"' 13-22, ':' 23, ' ' 24,
    # '"a.png"' 25-31, ',' 32, ' ' 33, '"regions"' 34-42, ':' 43, ' ' 44, '[' 45, '}' 46.
    broken.write_text('{"a.png1": {"filename": "a.png", "regions": [}}')
    with pytest.raises(DatasetError, match=r"broken.json is not valid JSON: .* line 1 column 46"):
        ViaDataset().load_via(broken)

    via3 = tmp_path / "via3.json"
    via3.write_text(json.dumps({"project": {}, "config": {}, "attribute": {}, "file": {},
                                "metadata": {}, "view": {}}))
    with pytest.raises(DatasetError, match="VIA 3 project, which is not supported"):
        ViaDataset().load_via(via3)

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"x": [1, 2]}))
    with pytest.raises(DatasetError, match="entry 'x' is not a VIA image entry"):
        ViaDataset().load_via(other)

    missing = tmp_path / "missing.json"
    square = region({"name": "rect", "x": 1, "y": 1, "width": 2, "height": 2})
    missing.write_text(json.dumps({
        "a.jpg1": {"filename": "a.jpg", "size": 1, "regions": [square]},
        "b.jpg1": {"filename": "b.jpg", "size": 1, "regions": {"0": square}}}))
    with pytest.raises(DatasetError) as error:
        ViaDataset().load_via(missing, image_dir=tmp_path / "images")
    text = str(error.value)
    assert text.endswith(": 2 images not found: the folder {} does not exist".format(
        tmp_path / "images"))
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError) as error:
        ViaDataset().load_via(missing, image_dir=tmp_path / "images")
    assert str(error.value).endswith(": 2 images not found in {}: a.jpg, b.jpg; none is there: "
                                     "is it the right folder?".format(tmp_path / "images"))

    with pytest.raises(ValueError, match="class_names lists 2 classes but class_key is None"):
        ViaDataset().load_via(missing, class_names=["a", "b"])


# ------------------------------------------------------------------------------ group_key
def group_project(tmp_path, regions_a, regions_b=()):
    write_image(tmp_path / "a.png")
    write_image(tmp_path / "b.png")
    project = {"_via_settings": {}, "_via_attributes": {}, "_via_img_metadata": {
        "a.png1": {"filename": "a.png", "size": 1, "file_attributes": {},
                   "regions": list(regions_a)},
        "b.png1": {"filename": "b.png", "size": 1, "file_attributes": {},
                   "regions": list(regions_b)}}}
    path = tmp_path / "project.json"
    path.write_text(json.dumps(project))
    return path


def rect(x, y, width, height):
    return {"name": "rect", "x": x, "y": y, "width": width, "height": height}


def rect_mask(x, y, width, height):
    """Pixels whose centres lie in the rectangle (both edges included), in a 20 x 30 image."""
    mask = np.zeros((20, 30), bool)
    mask[y:y + height + 1, x:x + width + 1] = True
    return mask


def test_group_key_joins_regions_of_one_image(tmp_path, caplog):
    triangle = {"name": "polygon", "all_points_x": [2, 12, 2], "all_points_y": [2, 2, 12]}
    path = group_project(tmp_path, [
        region(triangle, kind="bird", instance="7"),                    # 0: group 7, first
        region(rect(20, 1, 4, 3), kind="cat"),                          # 1: no attribute
        region(rect(5, 6, 3, 6), kind="bird", instance="7"),            # 2: group 7, overlaps
        region(rect(24, 12, 3, 5), kind="cat", instance=" 8 "),         # 3: group 8
        region(rect(15, 15, 2, 2), kind="cat", instance=""),            # 4: empty: alone
        region(rect(26, 2, 2, 2), kind="cat", instance=8),              # 5: group 8 (number)
    ], [
        region(rect(1, 1, 2, 2), kind="bird", instance="7"),            # per image: apart
        region(rect(5, 5, 2, 2), kind="bird", instance="9"),
    ])
    dataset = ViaDataset()
    dataset.load_via(path, class_key="kind", group_key="instance")
    dataset.prepare()
    assert dataset.class_names == ["BG", "bird", "cat"]
    mask, class_ids = dataset.load_mask(0)
    np.testing.assert_array_equal(class_ids, [1, 2, 2, 2])
    triangle_mask = np.zeros((20, 30), bool)
    rr, cc = skimage.draw.polygon([2, 2, 12], [2, 12, 2], shape=(20, 30))
    triangle_mask[rr, cc] = True
    expected = [triangle_mask | rect_mask(5, 6, 3, 6),                 # in region 0's place
                rect_mask(20, 1, 4, 3),
                rect_mask(24, 12, 3, 5) | rect_mask(26, 2, 2, 2),
                rect_mask(15, 15, 2, 2)]
    assert mask.shape == (20, 30, 4)
    for k, want in enumerate(expected):
        np.testing.assert_array_equal(mask[..., k], want, err_msg=str(k))
    assert mask[..., 0].sum() < triangle_mask.sum() + rect_mask(5, 6, 3, 6).sum()  # overlap
    np.testing.assert_array_equal(dataset.load_mask(1)[1], [1, 1])     # b.png: two instances

    # Without group_key every region is an instance, as before, with a warning naming it.
    plain = ViaDataset()
    with caplog.at_level(logging.WARNING):
        plain.load_via(path, class_key="kind")
    plain.prepare()
    mask, class_ids = plain.load_mask(0)
    np.testing.assert_array_equal(class_ids, [1, 2, 1, 2, 2, 2])
    np.testing.assert_array_equal(mask[..., 2], rect_mask(5, 6, 3, 6))
    assert "regions share a 'instance' value in 1 image(s) (a.png)" in caplog.text

    # A group of a class left out is skipped as one, its regions named.
    birds = ViaDataset()
    birds.load_via(path, class_key="kind", class_names=["bird"], group_key="instance")
    skipped = birds.summary(verbose=False)["skipped"]["class not in class_names"]
    assert [what for _, what in skipped] == [
        "image a.png region 1 (class 'cat')", "image a.png regions 3, 5 (class 'cat')",
        "image a.png region 4 (class 'cat')"]


def test_group_key_nested_attribute_and_single_class(tmp_path):
    path = group_project(tmp_path, [
        region(rect(1, 1, 2, 2), meta={"part": "x"}),
        region(rect(10, 10, 2, 2), meta={"part": "x"}),
        region(rect(20, 10, 2, 2), meta={"part": "y"})])
    dataset = ViaDataset()
    dataset.load_via(path, group_key="meta.part")
    dataset.prepare()
    mask, class_ids = dataset.load_mask(0)
    np.testing.assert_array_equal(class_ids, [1, 1])
    np.testing.assert_array_equal(mask[..., 0], rect_mask(1, 1, 2, 2) | rect_mask(10, 10, 2, 2))
    np.testing.assert_array_equal(mask[..., 1], rect_mask(20, 10, 2, 2))


def test_group_key_errors(tmp_path):
    path = group_project(tmp_path, [], [
        region(rect(1, 1, 2, 2), kind="bird", instance="3"),
        region(rect(9, 9, 2, 2), kind="bird", instance="4"),
        region(rect(5, 5, 2, 2), kind="cat", instance="3")])
    with pytest.raises(DatasetError) as error:
        ViaDataset().load_via(path, class_key="kind", group_key="instance")
    text = str(error.value)
    assert str(path) in text and "image b.png" in text
    assert "regions 0 and 2 share the 'instance' value '3' but are of different classes " \
        "('bird', 'cat')" in text
    # Loaded region by region, the same file is fine.
    ViaDataset().load_via(path, class_key="kind")

    with pytest.raises(ValueError, match="group_key and class_key are both 'kind'"):
        ViaDataset().load_via(path, class_key="kind", group_key="kind")
    with pytest.raises(TypeError, match="group_key must be a non-empty str"):
        ViaDataset().load_via(path, class_key="kind", group_key="")
