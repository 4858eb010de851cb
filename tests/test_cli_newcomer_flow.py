"""The newcomer flow of issue 15, through the command line: a multi-class VIA set whose class is
the region attribute ``class_id`` (beside another attribute), trained with ``--set`` for a tiny
model; then evaluate, detect, export and inspect-weights with ``--weights last`` and neither
``--set`` nor ``--config``, and training resumed the same way. Each must build the model the
checkpoint was trained with and name its classes. A validation file lacking one class keeps the
model's numbering. The same on the real via_rice_leaf set where ../shared/datasets exists."""
import glob
import json
import os
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from mrcnn import cli
from mrcnn.weights import read_metadata, read_weight_shapes
from tiny import call_main

SHARED = Path(__file__).parents[1].parent / "shared" / "datasets"
RICE = SHARED / "via_rice_leaf"

#: A tiny model for 64 px images, as a newcomer would shrink the defaults with --set.
TINY_SETS = ["BACKBONE=resnet18", "IMAGE_MIN_DIM=64", "IMAGE_MAX_DIM=64", "IMAGES_PER_GPU=1",
             "STEPS_PER_EPOCH=1", "VALIDATION_STEPS=0", "TOP_DOWN_PYRAMID_SIZE=32",
             "FPN_CLASSIF_FC_LAYERS_SIZE=32", "PRE_NMS_LIMIT=200", "POST_NMS_ROIS_TRAINING=40",
             "POST_NMS_ROIS_INFERENCE=20", "RPN_TRAIN_ANCHORS_PER_IMAGE=32",
             "TRAIN_ROIS_PER_IMAGE=8", "MAX_GT_INSTANCES=5", "DETECTION_MAX_INSTANCES=6",
             "DETECTION_MIN_CONFIDENCE=0.0"]

#: (file name, [(class_id, note, x, y, side)]): squares of three diseases, and a free-text
#: "note" attribute that is not the class.
TRAIN_REGIONS = [("a.png", [("smut", "faint", 4, 6, 20), ("bacteria", "", 34, 30, 24)]),
                 ("b.png", [("brown_spot", "edge", 10, 36, 18)]),
                 ("c.png", [("bacteria", "big", 8, 8, 40), ("smut", "", 44, 4, 14)])]
#: The validation file has no brown_spot: alone it would number smut 2, the model says 3.
VAL_REGIONS = [("v.png", [("smut", "", 20, 20, 22), ("bacteria", "", 2, 2, 16)]),
               ("w.png", [("smut", "x", 30, 6, 26)])]
CLASSES = ["BG", "bacteria", "brown_spot", "smut"]


def write_via(folder, regions, seed):
    """A VIA 2 export of ``regions`` (polygons of squares, and their PNGs) in ``folder``."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    metadata = {}
    for name, squares in regions:
        image = rng.integers(0, 60, (64, 64, 3)).astype(np.uint8)
        listed = []
        for k, (kind, note, x, y, side) in enumerate(squares):
            image[y:y + side, x:x + side] = 90 + 50 * CLASSES.index(kind) + k
            listed.append({"shape_attributes": {
                "name": "polygon", "all_points_x": [x, x + side, x + side, x],
                "all_points_y": [y, y, y + side, y + side]},
                "region_attributes": {"class_id": kind, "note": note}})
        PIL.Image.fromarray(image).save(folder / name)
        size = (folder / name).stat().st_size
        metadata[f"{name}{size}"] = {"filename": name, "size": size, "regions": listed,
                                     "file_attributes": {}}
    path = folder / "via_region_data.json"
    path.write_text(json.dumps(metadata))
    return path


def summary_of(out, spec):
    """(number of classes, {class name: instances}) of the last summary printed for dataset
    ``spec``: its count lines, and 0 for the classes it lists as without instances."""
    lines = out.splitlines()
    start = len(lines) - 1 - lines[::-1].index(f"Dataset {spec}:")
    classes = int(lines[start + 1].split(" instances in ")[1].split()[0])
    counts = {}
    for line in lines[start + 2:]:
        words = line.split()
        if len(words) == 2 and words[1].isdigit():
            counts[words[0]] = int(words[1])
        elif "classes without instances:" in line:
            counts.update((name, 0) for name in line.split(": ")[1].split(", "))
        else:
            break
    return classes, counts


def newcomer_flow(train_spec, val_spec, image, class_names, tmp):
    """Run train (--set), evaluate, detect, export, inspect-weights (--weights last) and a
    resumed train (--weights last) in ``tmp``; check each used the trained model's config and
    ``class_names``; returns the evaluate output."""
    logs = str(tmp / "logs")
    code, out = call_main(cli, ["train", train_spec, "--weights", "none", "--layers", "all",
                                "--epochs", "1", "--logs", logs, "--set", *TINY_SETS])
    assert code == 0
    checkpoint, = glob.glob(os.path.join(logs, "mrcnn*", "mask_rcnn_mrcnn_0001.h5"))
    stored = read_metadata(checkpoint)
    assert stored["class_names"] == class_names and stored["backbone"] == "resnet18"
    assert stored["config"]["NUM_CLASSES"] == len(class_names)
    key_line = (f"Config of {checkpoint}: BACKBONE resnet18, NUM_CLASSES {len(class_names)}, "
                f"IMAGE_MAX_DIM 64")
    last = ["--weights", "last", "--logs", logs]

    code, evaluated = call_main(cli, ["evaluate", val_spec, *last, "--limit", "2"])
    assert code == 0 and key_line in evaluated
    assert "differs from the weights file" not in evaluated
    report = json.loads((Path(checkpoint).with_suffix(".evaluation.json")).read_text())
    assert report["provenance"]["weights"] == checkpoint
    assert report["provenance"]["config"]["BACKBONE"] == "resnet18"
    # The evaluated set is numbered with the model's classes, all of them.
    assert summary_of(evaluated, val_spec)[0] == len(class_names) - 1

    code, out = call_main(cli, ["detect", image, *last, "--out", str(tmp / "pictures")])
    assert code == 0 and key_line in out
    assert "Class names from the weights file: " + ", ".join(class_names[1:]) in out
    assert (tmp / "pictures" / (Path(image).stem + ".png")).exists()

    exported = tmp / "exported"
    code, out = call_main(cli, ["export", str(exported), *last])
    assert code == 0 and key_line in out
    assert f"{len(class_names)} classes (input resized to 64 px) to {exported}" in out

    code, out = call_main(cli, ["inspect-weights", *last])
    lines = out.splitlines()
    assert code == 0 and f"Last checkpoint under {logs}: {checkpoint}" in lines
    assert "Backbone: resnet18" in lines and f"NUM_CLASSES of the file: {len(class_names)}" \
        in lines
    assert "Class names: " + ", ".join(class_names) in lines
    assert "  IMAGE_MAX_DIM      64" in lines

    # Resumed without --set: the stored config (a resnet101 at 1024 px would not load).
    code, out = call_main(cli, ["train", train_spec, *last, "--layers", "heads",
                                "--epochs", "1"])
    assert code == 0 and key_line in out
    resumed, = glob.glob(os.path.join(logs, "mrcnn*", "mask_rcnn_mrcnn_0002.h5"))
    assert os.path.dirname(resumed) == os.path.dirname(checkpoint)
    assert read_metadata(resumed)["class_names"] == class_names
    assert read_weight_shapes(resumed)["mrcnn_class_logits"][0][-1] == len(class_names)
    return evaluated


@pytest.mark.slow
def test_newcomer_flow_on_a_written_via_set(tmp_path):
    train = write_via(tmp_path / "train", TRAIN_REGIONS, seed=1)
    val = write_via(tmp_path / "val", VAL_REGIONS, seed=2)
    evaluated = newcomer_flow(f"via:{train}:class_key=class_id", f"via:{val}:class_key=class_id",
                              str(tmp_path / "val" / "v.png"), CLASSES, tmp_path)
    # Counted by hand from VAL_REGIONS: brown_spot is still class 2, with no instance.
    assert summary_of(evaluated, f"via:{val}:class_key=class_id") == (3, {
        "bacteria": 1, "brown_spot": 0, "smut": 2})


@pytest.mark.slow
@pytest.mark.skipif(not RICE.is_dir(), reason=f"the real datasets folder {SHARED} is absent "
                                               f"(only the project's shared workspace has it)")
def test_newcomer_flow_on_via_rice_leaf(tmp_path):
    train, val = RICE / "train" / "via_region_data.json", RICE / "val" / "via_region_data.json"
    names = set()
    for entry in json.loads(train.read_text()).values():
        regions = entry["regions"]        # VIA 1: a dict {"0": region, ...}
        names.update(region["region_attributes"].get("class_id")
                     for region in (regions.values() if isinstance(regions, dict) else regions))
    names = ["BG"] + sorted(names - {None, ""})     # two regions have no class: skipped
    assert len(names) == 4
    image = sorted(glob.glob(str(RICE / "val" / "Leaf_smut*")))[0]
    newcomer_flow(f"via:{train}:class_key=class_id", f"via:{val}:class_key=class_id", image,
                  names, tmp_path)
