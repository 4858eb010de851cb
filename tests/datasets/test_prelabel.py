"""Tests for mrcnn/datasets/prelabel.py: detections written as labelme / VIA / COCO files come
back through the project's own loaders (same classes, mask IoU >= 0.9), on images the tests make
and on the real sets in ../shared/datasets; the never-overwrite rule; the written files go
through the training batch pipeline."""
import json
import logging
import os
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import skimage.draw
from pycocotools import mask as mask_utils

from mrcnn.datasets import CocoDataset, LabelmeDataset, ViaDataset
from mrcnn.datasets.prelabel import mask_polygons, write_coco, write_labelme, write_via
from mrcnn.datasets.rasterize import draw_shape, polygon
from mrcnn.datasets.via import GROUP_KEY

SHARED = Path(__file__).parents[2].parent / "shared" / "datasets"
needs_real = pytest.mark.skipif(not SHARED.is_dir(),
                                reason="the real annotation sets are not at {} (only the "
                                       "project's shared workspace has them)".format(SHARED))

H, W = 96, 128                                     # not square: x and y cannot be swapped
NAMES = ["round", "ell", "pair", "corner"]         # class ids 1..4


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return np.logical_and(a, b).sum() / union


def scene():
    """(masks bool [H, W, 4], class_ids, scores, expected class names) of four instances: a disc
    with a 3-pixel speck beside it, an L, an instance of two parts, a quarter disc in the
    top-right corner (touching the top and right borders)."""
    masks = np.zeros((H, W, 4), bool)
    rr, cc = skimage.draw.disk((30, 40), 14, shape=(H, W))
    masks[rr, cc, 0] = True
    masks[5, 5:8, 0] = True                                    # a speck: dropped
    masks[50:86, 10:21, 1] = True                              # the L: a bar ...
    masks[75:86, 10:50, 1] = True                              # ... and its foot
    masks[40:60, 60:75, 2] = True                              # part one of "pair"
    rr, cc = skimage.draw.ellipse(78, 95, 10, 16, shape=(H, W))
    masks[rr, cc, 2] = True                                    # part two
    rr, cc = skimage.draw.disk((0, W - 1), 26, shape=(H, W))
    masks[rr, cc, 3] = True
    class_ids = np.array([2, 4, 3, 1], np.int32)
    scores = np.array([0.91, 0.62, 0.87, 0.55], np.float32)
    return masks, class_ids, scores, ["ell", "corner", "pair", "round"]


def result(masks, class_ids, scores):
    """A detect() result dict (rois from the masks, as detect() gives them)."""
    rois = np.zeros((masks.shape[2], 4), np.int32)
    for i in range(masks.shape[2]):
        rows, cols = np.flatnonzero(masks[..., i].any(1)), np.flatnonzero(masks[..., i].any(0))
        rois[i] = rows[0], cols[0], rows[-1] + 1, cols[-1] + 1
    return {"rois": rois, "class_ids": np.asarray(class_ids, np.int32),
            "scores": np.asarray(scores, np.float32), "masks": masks}


@pytest.fixture
def images(tmp_path):
    """Three PNGs and their detections: a.png the scene; b.png one disc (class 4) and a
    detection of score 0.2; c.png nothing. Returns (folder, detections, expected) with
    expected {file name: [(class name, mask)]} for min_score 0.5."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for name in ("a", "b", "c"):
        PIL.Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(
            folder / (name + ".png"))
    masks, class_ids, scores, names = scene()
    b_masks = np.zeros((H, W, 2), bool)
    rr, cc = skimage.draw.disk((60, 64), 20, shape=(H, W))
    b_masks[rr, cc, 0] = True
    b_masks[5:25, 5:25, 1] = True
    detections = [(str(folder / "a.png"), result(masks, class_ids, scores)),
                  (str(folder / "b.png"), result(b_masks, [4, 2], [0.95, 0.2])),
                  (str(folder / "c.png"), result(np.zeros((H, W, 0), bool), [], []))]
    expected = {"a.png": list(zip(names, np.moveaxis(masks, 2, 0))),
                "b.png": [("corner", b_masks[..., 0])], "c.png": []}
    return folder, detections, expected


def loaded(dataset):
    """{image file name: [(class name, mask)]} of a loaded, prepared dataset."""
    out = {}
    for image_id in dataset.image_ids:
        mask, class_ids = dataset.load_mask(image_id)
        name = os.path.basename(dataset.image_info[image_id]["path"])
        out[name] = [(dataset.class_names[c], mask[..., i]) for i, c in enumerate(class_ids)]
    return out


def assert_same(got, expected, min_iou=0.9):
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert [c for c, _ in got[name]] == [c for c, _ in expected[name]], name
        for (_, a), (_, b) in zip(got[name], expected[name]):
            assert iou(a, b) >= min_iou, (name, iou(a, b))


# ------------------------------------------------------------------------------ polygons

def test_untouched_polygons_redraw_the_mask_exactly():
    """tolerance 0: the traced outline covers exactly the traced pixels when the loaders draw
    it (pixel centres at integers), also for parts on the border; COCO polygons (+0.5) do the
    same through pycocotools."""
    masks, _, _, _ = scene()
    for i in range(masks.shape[2]):
        polygons = mask_polygons(masks[..., i], tolerance=0, min_part_area=1)
        drawn = np.zeros((H, W), bool)
        for p in polygons:
            drawn |= draw_shape(polygon(p[:, 0], p[:, 1]), H, W)
        assert np.array_equal(drawn, masks[..., i]), i
        coco = [list((p + 0.5).ravel()) for p in polygons]
        decoded = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(coco, H, W)))
        assert np.array_equal(decoded.astype(bool), masks[..., i]), i


def test_polygons_per_part_in_x_y_order():
    mask = np.zeros((H, W), bool)
    mask[10:20, 100:120] = True                     # wide, near the right: x > 99 everywhere
    mask[70:90, 3:8] = True                         # tall, on the left
    mask[50, 50] = True                             # one pixel: below min_part_area
    first, second = mask_polygons(mask, tolerance=1.0, min_part_area=2)
    # Raster order; x is the column, y the row; the outline runs between the part's outer
    # pixel centres and half a pixel outside them (marching squares cuts the corners).
    for part, (x1, x2, y1, y2) in ((first, (100, 119, 10, 19)), (second, (3, 7, 70, 89))):
        assert x1 - 0.5 <= part[:, 0].min() <= x1 and x2 <= part[:, 0].max() <= x2 + 0.5
        assert y1 - 0.5 <= part[:, 1].min() <= y1 and y2 <= part[:, 1].max() <= y2 + 0.5
        assert len(part) == 4                        # a rectangle keeps 4 vertices
        drawn = draw_shape(polygon(part[:, 0], part[:, 1]), H, W)
        assert np.array_equal(drawn[y1:y2 + 1, x1:x2 + 1], np.ones((y2 - y1 + 1, x2 - x1 + 1)))
        assert drawn.sum() == (y2 - y1 + 1) * (x2 - x1 + 1)
    assert len(mask_polygons(mask, min_part_area=1)) == 3


def test_simplification_keeps_few_vertices_and_the_area():
    mask = np.zeros((H, W), bool)
    rr, cc = skimage.draw.disk((48, 64), 30, shape=(H, W))
    mask[rr, cc] = True
    exact, = mask_polygons(mask, tolerance=0)
    simple, = mask_polygons(mask, tolerance=1.0)
    assert len(simple) < len(exact) / 5
    drawn = draw_shape(polygon(simple[:, 0], simple[:, 1]), H, W)
    assert iou(drawn, mask) >= 0.97


def test_a_thin_part_keeps_its_outline():
    mask = np.zeros((H, W), bool)
    mask[40, 10:90] = True                          # one pixel high, 80 long
    outline, = mask_polygons(mask, tolerance=2.0)
    drawn = draw_shape(polygon(outline[:, 0], outline[:, 1]), H, W)
    assert drawn[40, 10:90].all()


def test_bad_masks_and_tolerance():
    with pytest.raises(ValueError, match="mask must have shape"):
        mask_polygons(np.zeros((4, 4, 1), bool))
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        mask_polygons(np.zeros((4, 4), bool), tolerance=-1)
    assert mask_polygons(np.zeros((4, 4), bool)) == []


# ------------------------------------------------------------------------------ labelme

def test_labelme_round_trip(images, tmp_path):
    folder, detections, expected = images
    report = write_labelme(detections, NAMES, min_score=0.5)
    assert sorted(os.path.basename(p) for p in report.written) == ["a.json", "b.json",
                                                                  "c.json"]
    assert (report.instances, report.polygons, report.below_score) == (5, 6, 1)
    assert "labelme: wrote 3 file(s) holding 5 instance(s) as 6 polygon(s)" in str(report)
    content = json.loads((folder / "a.json").read_text())
    assert content["version"].startswith("5.")
    assert (content["imagePath"], content["imageData"]) == ("a.png", None)
    assert (content["imageHeight"], content["imageWidth"]) == (H, W)
    shapes = content["shapes"]
    assert [s["label"] for s in shapes] == ["ell", "corner", "pair", "pair", "round"]
    assert all(s["shape_type"] == "polygon" for s in shapes)
    groups = [s["group_id"] for s in shapes]
    assert groups[2] == groups[3] is not None
    assert groups[:2] + groups[4:] == [None, None, None]
    assert [s["description"] for s in shapes] == [
        "mrcnn score 0.910", "mrcnn score 0.620", "mrcnn score 0.870", "mrcnn score 0.870",
        "mrcnn score 0.550"]
    assert json.loads((folder / "c.json").read_text())["shapes"] == []

    dataset = LabelmeDataset()
    dataset.load_labelme(folder, class_names=NAMES)
    dataset.prepare()
    assert_same(loaded(dataset), expected)


def test_labelme_in_an_out_folder_points_back_to_the_images(images, tmp_path):
    folder, detections, expected = images
    out = tmp_path / "labels"
    report = write_labelme(detections, ["BG"] + NAMES, out_dir=out, min_score=0.5)
    assert len(report.written) == 3 and not list(folder.glob("*.json"))
    assert json.loads((out / "b.json").read_text())["imagePath"] == "../images/b.png"
    dataset = LabelmeDataset()
    dataset.load_labelme(out, class_names=NAMES)
    dataset.prepare()
    assert_same(loaded(dataset), expected)


# ------------------------------------------------------------------------------ VIA

def test_via_round_trip(images, tmp_path, caplog):
    folder, detections, expected = images
    report = write_via(detections, NAMES, min_score=0.5)
    path = folder / "via_project.json"
    assert report.written == [str(path)] and (report.instances, report.polygons) == (5, 6)
    content = json.loads(path.read_text())
    entries = list(content["_via_img_metadata"].values())
    assert [e["filename"] for e in entries] == ["a.png", "b.png", "c.png"]
    assert entries[0]["size"] == os.path.getsize(folder / "a.png")
    regions = entries[0]["regions"]
    attributes = [r["region_attributes"] for r in regions]
    assert [a["label"] for a in attributes] == ["ell", "corner", "pair", "pair", "round"]
    assert [a["score"] for a in attributes] == ["0.910", "0.620", "0.870", "0.870", "0.550"]
    assert [a["instance"] for a in attributes] == ["1", "2", "3", "3", "4"]
    assert content["_via_attributes"]["region"]["label"]["options"] == {n: n for n in NAMES}

    # The two parts of "pair" are two regions with one "instance" value: group_key makes
    # them one instance again (IoU >= 0.9 with the detected mask, checked by assert_same).
    dataset = ViaDataset()
    dataset.load_via(path, class_key="label", class_names=NAMES, keep_unannotated=True,
                     group_key=GROUP_KEY)
    dataset.prepare()
    got = loaded(dataset)
    assert [name for name, _ in got["a.png"]] == ["ell", "corner", "pair", "round"]
    assert_same(got, expected)
    assert iou(got["a.png"][2][1], detections[0][1]["masks"][..., 2]) >= 0.9

    # Without group_key each region is an instance (as VIA files always loaded), and a
    # warning names the attribute to pass.
    ungrouped = ViaDataset()
    with caplog.at_level(logging.WARNING):
        ungrouped.load_via(path, class_key="label", class_names=NAMES)
    ungrouped.prepare()
    assert len(ungrouped.load_mask(0)[1]) == 5
    assert "regions share a 'instance' value in 1 image(s) (a.png)" in caplog.text
    assert "pass group_key='instance'" in caplog.text


def test_via_class_key_of_choice(images):
    folder, detections, expected = images
    path = folder / "regions.json"
    write_via(detections[1:2], NAMES, path=path, class_key="species")
    dataset = ViaDataset()
    dataset.load_via(path, class_key="species")
    dataset.prepare()
    # The project's "species" options: the model's classes in its order, also those without
    # a region here (only "corner" and "ell" have some).
    assert dataset.class_names == ["BG", "round", "ell", "pair", "corner"]
    with pytest.raises(ValueError, match="class_key must be"):
        write_via(detections, NAMES, path=path, class_key="score")


# ------------------------------------------------------------------------------ COCO

@pytest.mark.parametrize("segmentation", ["rle", "polygon"])
def test_coco_round_trip(images, tmp_path, segmentation):
    folder, detections, expected = images
    out = tmp_path / "coco" / "instances.json"
    report = write_coco(detections, NAMES, path=out, segmentation=segmentation,
                        min_score=0.5)
    assert report.image_dir == str(folder) and str(folder) in str(report)
    content = json.loads(out.read_text())
    assert [i["file_name"] for i in content["images"]] == ["a.png", "b.png", "c.png"]
    assert [(c["id"], c["name"]) for c in content["categories"]] == list(
        enumerate(NAMES, start=1))
    annotations = content["annotations"]
    assert [a["category_id"] for a in annotations] == [2, 4, 3, 1, 4]
    assert [a["score"] for a in annotations] == pytest.approx([0.91, 0.62, 0.87, 0.55, 0.95])
    assert all(a["iscrowd"] == 0 for a in annotations)
    pair = annotations[2]["segmentation"]
    if segmentation == "rle":
        assert pair["size"] == [H, W] and isinstance(pair["counts"], str)
        # The speck of "round" is left out of its RLE; the rest is exact.
        assert annotations[0]["area"] == expected["a.png"][0][1].sum() - 3
    else:
        assert len(pair) == 2 and all(len(p) % 2 == 0 for p in pair)
    # bbox [x, y, w, h] of the quarter disc (class "round"): columns 102..127, rows 0..25;
    # of the L ("corner"): columns 10..49, rows 50..85 (polygons: within a pixel).
    assert annotations[3]["bbox"] == [102.0, 0.0, 26.0, 26.0]
    assert annotations[1]["bbox"] == pytest.approx([10.0, 50.0, 40.0, 36.0],
                                                   abs=0 if segmentation == "rle" else 1)

    dataset = CocoDataset()
    dataset.load_coco(out, report.image_dir)
    dataset.prepare()
    assert_same(loaded(dataset), expected, min_iou=0.99 if segmentation == "rle" else 0.9)


def test_unsimplified_files_give_the_masks_back_exactly(images, tmp_path):
    """tolerance 0 through the files: labelme polygons (pixel centres at integers) and COCO
    polygons (pixel edges at integers) are drawn back onto exactly the detected pixels."""
    folder, detections, expected = images
    expected["a.png"][0] = ("ell", scene()[0][..., 0] & ~_speck())
    write_labelme(detections, NAMES, out_dir=tmp_path / "labelme", tolerance=0, min_score=0.5)
    write_coco(detections, NAMES, path=tmp_path / "coco.json", segmentation="polygon",
               tolerance=0, min_score=0.5)
    labelme, coco = LabelmeDataset(), CocoDataset()
    labelme.load_labelme(tmp_path / "labelme", class_names=NAMES)
    coco.load_coco(tmp_path / "coco.json", folder)
    for dataset in (labelme, coco):
        dataset.prepare()
        got = loaded(dataset)
        for name in expected:
            for (_, a), (_, b) in zip(got[name], expected[name], strict=True):
                assert np.array_equal(a, b)


def _speck():
    speck = np.zeros((H, W), bool)
    speck[5, 5:8] = True
    return speck


def test_coco_options_checked(images):
    _, detections, _ = images
    with pytest.raises(ValueError, match="segmentation must be 'rle' or 'polygon'"):
        write_coco(detections, NAMES, segmentation="mask")


# ------------------------------------------------------------------------------ rules

def test_existing_files_are_never_overwritten(images, tmp_path):
    folder, detections, _ = images
    human = b'{"version": "5.5.0", "shapes": [], "note": "corrected by hand"}'
    (folder / "a.json").write_bytes(human)
    report = write_labelme(detections, NAMES)
    assert (folder / "a.json").read_bytes() == human
    assert report.skipped == [(str(folder / "a.json"), "exists")]
    assert sorted(os.path.basename(p) for p in report.written) == ["b.json", "c.json"]
    assert report.instances == 2                            # b's two detections only
    assert "skipped 1 existing file(s)" in str(report) and str(folder / "a.json") in str(report)
    report = write_labelme(detections, NAMES, overwrite=True)
    assert len(report.written) == 3 and not report.skipped
    assert json.loads((folder / "a.json").read_text())["shapes"][0]["label"] == "ell"

    for writer, name in ((write_via, "via_project.json"), (write_coco, "coco_instances.json")):
        (folder / name).write_bytes(human)
        report = writer(detections, NAMES)
        assert (folder / name).read_bytes() == human
        assert report.written == [] and report.skipped == [(str(folder / name), "exists")]
        assert report.instances == 0
        report = writer(detections, NAMES, overwrite=True)
        assert report.written == [str(folder / name)]
        assert (folder / name).read_bytes() != human


def test_class_names_are_needed_and_must_cover_the_ids(images):
    _, detections, _ = images
    for writer in (write_labelme, write_via, write_coco):
        with pytest.raises(ValueError, match="class names are needed"):
            writer(detections, None)
        with pytest.raises(ValueError) as error:
            writer(detections, NAMES[:3])
        assert "a.png" in str(error.value) and "class id(s) [4] have no name" in str(error.value)


def test_class_names_from_a_dataset(images, tmp_path):
    from tiny import rectangles_dataset
    _, detections, _ = images
    names = rectangles_dataset(count=1)                     # classes a, b, c
    detection = [(detections[0][0], result(scene()[0][..., :1], [3], [0.5]))]
    write_labelme(detection, names, out_dir=tmp_path)
    assert json.loads((tmp_path / "a.json").read_text())["shapes"][0]["label"] == "c"


def test_malformed_detections_name_the_image(images):
    folder, _, _ = images
    bad = {"masks": np.zeros((H, W, 2), bool), "class_ids": [1], "scores": [0.5]}
    with pytest.raises(ValueError, match="a.png: masks of shape .* do not match 1 class_ids"):
        write_labelme([(str(folder / "a.png"), bad)], NAMES)
    with pytest.raises(ValueError, match="needs 'masks', 'class_ids' and 'scores'"):
        write_labelme([(str(folder / "a.png"), {"masks": bad["masks"]})], NAMES)
    with pytest.raises(ValueError, match="would both write"):
        write_labelme([(str(folder / "a.png"), result(np.zeros((H, W, 0), bool), [], [])),
                       (str(folder / "a.jpg"), result(np.zeros((H, W, 0), bool), [], []))],
                      NAMES)


# ------------------------------------------------------------------------------ training

def test_written_labelme_files_go_through_the_batch_pipeline(images):
    from mrcnn.data.pipeline import build_batch
    from tiny import tiny_config
    folder, detections, _ = images
    write_labelme(detections, NAMES, min_score=0.5)
    dataset = LabelmeDataset()
    dataset.load_labelme(folder, class_names=NAMES)
    dataset.prepare()
    config = tiny_config(NUM_CLASSES=1 + len(NAMES), IMAGES_PER_GPU=3)
    batch = build_batch(dataset, config, dataset.image_ids, rng=np.random.default_rng(0))
    ids = batch["input_gt_class_ids"]
    assert ids.shape == (3, config.MAX_GT_INSTANCES)
    assert sorted(ids[0][ids[0] > 0]) == [1, 2, 3, 4]          # a: round, ell, pair, corner
    assert ids[1].tolist()[:2] == [4, 0] and not ids[2].any()  # b: corner; c: background
    assert (batch["input_rpn_match"][:2] == 1).any(axis=(1, 2)).all()
    assert np.isfinite(batch["input_image"]).all()


# ------------------------------------------------------------------------------ real sets

def real_sets():
    """(name, prepared dataset) of the shared real sets."""
    rice = ViaDataset()
    rice.load_via(SHARED / "via_rice_leaf" / "train" / "via_region_data.json",
                  class_key="class_id")
    kudzu = ViaDataset()
    kudzu.load_via(SHARED / "via_kudzu" / "train" / "via_region_data.json")
    coco = CocoDataset()
    coco.load_coco(SHARED / "coco_icevision" / "annotations.json",
                   SHARED / "coco_icevision" / "images")
    for dataset in (rice, kudzu, coco):
        dataset.prepare()
    return [("via_rice_leaf", rice), ("via_kudzu", kudzu), ("coco_icevision", coco)]


@needs_real
@pytest.mark.filterwarnings("ignore")
def test_real_ground_truth_round_trips(tmp_path):
    """Each set's first images: their ground truth written as if detected, read back by the
    loaders: the same classes in the same order, mask IoU >= 0.9 for instances of 300 pixels
    and more (every instance comes back: min_part_area 1)."""
    compared = 0
    for name, dataset in real_sets():
        names = dataset.class_names[1:]
        detections, expected = [], {}
        for image_id in dataset.image_ids[:3]:
            mask, class_ids = dataset.load_mask(image_id)
            keep = class_ids > 0                                   # crowds are not detections
            mask, class_ids = mask[..., keep], class_ids[keep]
            path = dataset.image_info[image_id]["path"]
            scores = np.linspace(0.99, 0.5, len(class_ids))
            detections.append((path, result(mask, class_ids, scores)))
            expected[os.path.basename(path)] = [(dataset.class_names[c], mask[..., i])
                                                for i, c in enumerate(class_ids)]
        out = tmp_path / name
        write_labelme(detections, names, out_dir=out / "labelme", min_part_area=1)
        write_via(detections, names, path=out / "via.json", min_part_area=1)
        write_coco(detections, names, path=out / "rle.json", min_part_area=1)
        write_coco(detections, names, path=out / "polygon.json", segmentation="polygon",
                   min_part_area=1)
        labelme = LabelmeDataset()
        labelme.load_labelme(out / "labelme", class_names=names)
        via = ViaDataset()
        via.load_via(out / "via.json", class_key="label", class_names=names,
                     keep_unannotated=True, group_key=GROUP_KEY)
        image_dir = os.path.dirname(detections[0][0])
        rle, polygons = CocoDataset(), CocoDataset()
        rle.load_coco(out / "rle.json", image_dir)
        polygons.load_coco(out / "polygon.json", image_dir)
        for kind, reloaded in (("labelme", labelme), ("via", via), ("rle", rle),
                               ("polygon", polygons)):
            reloaded.prepare()
            got = loaded(reloaded)
            assert sorted(got) == sorted(expected), (name, kind)
            for file in expected:
                assert [c for c, _ in got[file]] == [c for c, _ in expected[file]], \
                    (name, kind, file)
                for (_, a), (_, b) in zip(got[file], expected[file]):
                    if b.sum() >= 300:
                        assert iou(a, b) >= (0.99 if kind == "rle" else 0.9), \
                            (name, kind, file, iou(a, b))
                        compared += 1
    assert compared > 50
