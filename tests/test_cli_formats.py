"""The ``mrcnn`` command line on mask folders, YOLO segmentation labels and Pascal VOC instance
PNGs: their dataset specs (masks:DIR, yolo:DATA_YAML[:SPLIT], voc:DIR[:SPLIT]), the split each
loads as training or validation set, and (slow) one tiny run through train, evaluate and detect
that reads every one of the three formats, written here from the same drawn scene."""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
import yaml

from mrcnn import cli
from mrcnn.cli import DatasetSpec, parse_dataset_spec
from tiny import tiny_config_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 64
CLASSES = ["disc", "square"]


# ------------------------------------------------------------------------------ specs
@pytest.mark.parametrize("spec, expected", [
    ("masks:stage1_train", DatasetSpec("masks", ("stage1_train",))),
    ("yolo:data.yaml", DatasetSpec("yolo", ("data.yaml", None))),
    ("yolo:sets/data.yaml:test", DatasetSpec("yolo", ("sets/data.yaml", "test"))),
    ("voc:VOC2012", DatasetSpec("voc", ("VOC2012", None))),
    ("voc:VOC2012:trainval", DatasetSpec("voc", ("VOC2012", "trainval"))),
])
def test_format_specs_parse(spec, expected):
    assert parse_dataset_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("masks:a:b", "masks takes masks:DIR"),
    ("yolo:data.yaml:val:x", "yolo takes yolo:DATA_YAML[:SPLIT]"),
    ("voc:dir:train:x", "voc takes voc:DIR[:SPLIT]"),
    ("yolo:", "is none of"),
])
def test_bad_format_specs_are_argument_errors(spec, message):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        parse_dataset_spec(spec)
    assert message in str(error.value) and repr(spec) in str(error.value)


def test_help_names_the_new_forms():
    done = subprocess.run([sys.executable, "-m", "mrcnn", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for form in ("masks:DIR", "yolo:DATA_YAML[:SPLIT]", "voc:DIR[:SPLIT]"):
        assert form in text


# ------------------------------------------------------------------------------ the scene
def scene(index):
    """(image uint8 [64, 64, 3], [(mask, class name)]): a bright disc and a bright square,
    placed differently in each image."""
    rows, cols = np.ogrid[:SIZE, :SIZE]
    cy, cx = 18 + 3 * index, 20 + 4 * index
    disc = (rows - cy) ** 2 + (cols - cx) ** 2 <= 9 ** 2
    square = np.zeros((SIZE, SIZE), bool)
    y, x = 38 - 2 * index, 34 + index
    square[y:y + 18, x:x + 20] = True
    image = np.full((SIZE, SIZE, 3), 25, np.uint8)
    image[disc] = (230, 90, 60)
    image[square] = (60, 200, 230)
    return image, [(disc, "disc"), (square, "square")]


def write_masks(folder, count):
    """Per-image folders with one 0/255 PNG per instance in masks/<class>/."""
    for i in range(count):
        image, instances = scene(i)
        (folder / f"s{i}" / "images").mkdir(parents=True)
        PIL.Image.fromarray(image).save(folder / f"s{i}" / "images" / f"s{i}.png")
        for k, (mask, name) in enumerate(instances):
            (folder / f"s{i}" / "masks" / name).mkdir(parents=True)
            PIL.Image.fromarray(mask.astype(np.uint8) * 255).save(
                folder / f"s{i}" / "masks" / name / f"m{k}.png")
    return folder


def outline(mask):
    """Polygon vertices (x, y) of a mask's boundary pixels' centres, in order around it: the
    pixels of each row's first and last column, down one side and up the other."""
    rows = np.nonzero(mask.any(axis=1))[0]
    left = [(np.nonzero(mask[r])[0][0], r) for r in rows]
    right = [(np.nonzero(mask[r])[0][-1], r) for r in rows[::-1]]
    return left + right


def write_yolo(folder, count):
    """images/{train,val} + labels/{train,val} (the same scenes) and data.yaml (names as a
    dict)."""
    for split in ("train", "val"):
        (folder / "images" / split).mkdir(parents=True)
        (folder / "labels" / split).mkdir(parents=True)
        for i in range(count):
            image, instances = scene(i)
            PIL.Image.fromarray(image).save(folder / "images" / split / f"s{i}.png")
            lines = [f"{CLASSES.index(name)} " + " ".join(
                f"{x / SIZE:.6f} {y / SIZE:.6f}" for x, y in outline(mask))
                for mask, name in instances]
            (folder / "labels" / split / f"s{i}.txt").write_text("\n".join(lines) + "\n")
    (folder / "data.yaml").write_text(yaml.safe_dump({
        "path": ".", "train": "images/train", "val": "images/val",
        "names": dict(enumerate(CLASSES))}))
    return folder / "data.yaml"


def write_voc(folder, count, val_ids=()):
    """JPEGImages, palette SegmentationObject / SegmentationClass PNGs with a void border,
    class_names.txt; ImageSets lists when val_ids are given."""
    for name in ("JPEGImages", "SegmentationObject", "SegmentationClass"):
        (folder / name).mkdir(parents=True)
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [224, 224, 192] * 252
    for i in range(count):
        image, instances = scene(i)
        PIL.Image.fromarray(image).save(folder / "JPEGImages" / f"s{i}.jpg", quality=95)
        objects = np.zeros((SIZE, SIZE), np.uint8)
        classes = np.zeros((SIZE, SIZE), np.uint8)
        for k, (mask, name) in enumerate(instances, start=1):
            objects[mask], classes[mask] = k, CLASSES.index(name) + 1
            edge = mask & ~np.pad(mask, 1)[2:, 1:-1]                 # bottom edge: void
            objects[edge], classes[edge] = 255, 255
        for sub, label in (("SegmentationObject", objects), ("SegmentationClass", classes)):
            png = PIL.Image.fromarray(label, mode="P")
            png.putpalette(palette)
            png.save(folder / sub / f"s{i}.png")
    (folder / "class_names.txt").write_text("_background_\n" + "\n".join(CLASSES) + "\n")
    if val_ids:
        (folder / "ImageSets" / "Segmentation").mkdir(parents=True)
        ids = [f"s{i}" for i in range(count)]
        (folder / "ImageSets" / "Segmentation" / "val.txt").write_text(
            "\n".join(i for i in ids if i in val_ids) + "\n")
        (folder / "ImageSets" / "Segmentation" / "train.txt").write_text(
            "\n".join(i for i in ids if i not in val_ids) + "\n")
    return folder


def test_load_dataset_of_each_format_and_the_split_of_each_role(tmp_path):
    masks = cli.load_dataset(parse_dataset_spec(f"masks:{write_masks(tmp_path / 'm', 2)}"))
    data_yaml = write_yolo(tmp_path / "y", 2)
    yolo_train = cli.load_dataset(parse_dataset_spec(f"yolo:{data_yaml}"))
    yolo_val = cli.load_dataset(parse_dataset_spec(f"yolo:{data_yaml}"), role="val")
    yolo_named = cli.load_dataset(parse_dataset_spec(f"yolo:{data_yaml}:val"))
    voc_dir = write_voc(tmp_path / "v", 3, val_ids=("s1",))
    voc_train = cli.load_dataset(parse_dataset_spec(f"voc:{voc_dir}"))
    voc_val = cli.load_dataset(parse_dataset_spec(f"voc:{voc_dir}"), role="val")
    voc_all = cli.load_dataset(parse_dataset_spec(f"voc:{write_voc(tmp_path / 'w', 2)}"),
                               role="val")
    for dataset in (masks, yolo_train, yolo_val, voc_train, voc_all):
        assert dataset.class_names == ["BG"] + CLASSES
    assert yolo_train.image_info[0]["id"] == "images/train/s0.png"
    assert [i["id"] for i in yolo_val.image_info] == ["images/val/s0.png", "images/val/s1.png"]
    assert [i["id"] for i in yolo_named.image_info] == [i["id"] for i in yolo_val.image_info]
    assert [i["id"] for i in voc_train.image_info] == ["s0", "s2"]
    assert [i["id"] for i in voc_val.image_info] == ["s1"]
    assert [i["id"] for i in voc_all.image_info] == ["s0", "s1"]      # no lists: every image
    # Each loads the drawn scene: the disc (class 1) and the square (class 2).
    image, instances = scene(1)
    for dataset, image_id in ((masks, 1), (yolo_val, 1), (voc_val, 0)):
        mask, class_ids = dataset.load_mask(image_id)
        assert class_ids.tolist() == [1, 2]
        for k, (drawn, _) in enumerate(instances):
            overlap = (mask[..., k] & drawn).sum() / (mask[..., k] | drawn).sum()
            assert overlap >= 0.9, (dataset, k)
    # The polygons through the boundary pixels' centres give the masks exactly.
    mask, _ = yolo_val.load_mask(1)
    np.testing.assert_array_equal(mask[..., 1], instances[1][0])


def test_a_masks_validation_set_gets_the_training_classes(tmp_path):
    train = write_masks(tmp_path / "train", 1)
    val = tmp_path / "val"
    image, instances = scene(2)
    (val / "v" / "images").mkdir(parents=True)
    PIL.Image.fromarray(image).save(val / "v" / "images" / "v.png")
    (val / "v" / "masks" / "square").mkdir(parents=True)                # no disc in val
    PIL.Image.fromarray(instances[1][0].astype(np.uint8)).save(
        val / "v" / "masks" / "square" / "m.png")
    train_set = cli.load_dataset(parse_dataset_spec(f"masks:{train}"))
    spec = parse_dataset_spec(f"masks:{val}")
    val_set = cli.load_dataset(spec, cli._class_names(spec, train_set.class_names), role="val")
    assert val_set.class_names == ["BG", "disc", "square"]
    assert val_set.load_mask(0)[1].tolist() == [2]


def test_a_missing_data_yaml_is_one_line_exit_1(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mrcnn", "train",
                           f"yolo:{tmp_path / 'data.yaml'}", "--epochs", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"mrcnn: error: cannot read YOLO data file "
                                   f"{tmp_path / 'data.yaml'}: No such file or directory")


# ------------------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_train_evaluate_detect_on_each_format(tmp_path, capsys):
    """One training step on the mask folder with VOC as the validation set, one more on YOLO and
    one on VOC, evaluation on each of the three formats and detection with YOLO's class
    names."""
    masks = f"masks:{write_masks(tmp_path / 'masks', 2)}"
    yolo = f"yolo:{write_yolo(tmp_path / 'yolo', 2)}"
    voc = f"voc:{write_voc(tmp_path / 'voc', 2)}"
    config_file = tiny_config_file(tmp_path / "tiny.yaml", BACKBONE="resnet18")
    logs = tmp_path / "logs"
    shared = ["--config", str(config_file), "--logs", str(logs)]

    code = cli.main(["train", masks, "--val", voc, "--weights", "none", "--layers", "all",
                     "--epochs", "1", "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1",
                     "VALIDATION_STEPS=1"] + shared)
    assert code == 0
    assert "val_loss" in capsys.readouterr().out             # the VOC set was read
    checkpoints = glob.glob(str(logs / "mrcnn*" / "mask_rcnn_mrcnn_0001.h5"))
    assert len(checkpoints) == 1
    # YOLO and VOC as training sets too: one more step each, heads only, from the last weights.
    for spec in (yolo, voc):
        code = cli.main(["train", spec, "--weights", "last", "--layers", "heads", "--epochs",
                         "1", "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1",
                         "VALIDATION_STEPS=1"] + shared)
        assert code == 0, spec
        assert "loss" in capsys.readouterr().out

    for spec in (masks, yolo, voc):
        results = tmp_path / f"{spec.split(':')[0]}.json"
        code = cli.main(["evaluate", spec, "--weights", "last", "--json", str(results)]
                        + shared)
        assert code == 0
        assert "Evaluated 2 images; results in" in capsys.readouterr().out
        figures = json.loads(results.read_text())
        assert figures["num_images"] == 2 and figures["num_gt"] == 4
        assert [row["name"] for row in figures["per_class"]] == CLASSES

    out_dir = tmp_path / "pictures"
    image = str(tmp_path / "yolo" / "images" / "val" / "s0.png")
    code = cli.main(["detect", image, "--weights", "last", "--dataset", yolo, "--out",
                     str(out_dir)] + shared)
    assert code == 0
    assert sorted(os.listdir(out_dir)) == ["detections.json", "s0.png"]
    detections = json.loads((out_dir / "detections.json").read_text())
    assert all(d["category_id"] in (1, 2) and d["file_name"] == "s0.png" for d in detections)
