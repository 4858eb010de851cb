"""mrcnn/cli.py (the ``mrcnn`` command line) and mrcnn/__main__.py: dataset specs, --help of
each subcommand, inspect-weights on a Keras-2-layout .h5 the test writes, exit codes and the
one-line errors, and one end-to-end run (train, evaluate, detect) on a tiny labelme set."""
import argparse
import glob
import json
import os
import shutil

import h5py
import numpy as np
import PIL.Image
import pytest

from mrcnn import cli
from mrcnn.cli import DatasetSpec, parse_dataset_spec
from tiny import mrcnn_process, tiny_config_file

# ------------------------------------------------------------------------------ dataset specs

@pytest.mark.parametrize("spec, expected", [
    ("coco:ann/instances.json:images", DatasetSpec("coco", ("ann/instances.json", "images"))),
    ("labelme:data/signs", DatasetSpec("labelme", ("data/signs",))),
    ("via:balloon/via.json", DatasetSpec("via", ("balloon/via.json", None))),
    ("via:regions.json:photos", DatasetSpec("via", ("regions.json", "photos"))),
    ("my_data:make_train", DatasetSpec("python", ("my_data", "make_train"))),
    ("pkg.sets:Factory.train", DatasetSpec("python", ("pkg.sets", "Factory.train"))),
])
def test_dataset_specs_parse(spec, expected):
    assert parse_dataset_spec(spec) == expected

@pytest.mark.parametrize("spec, message", [
    ("signs", "is none of coco:ANN_JSON:IMAGE_DIR"),               # no kind
    ("coco:ann.json", "coco takes coco:ANN_JSON:IMAGE_DIR"),         # image dir missing
    ("coco:a.json:images:more", "coco takes coco:ANN_JSON:IMAGE_DIR"),
    ("labelme:", "is none of"),                                      # empty part
    ("labelme:a:b", "labelme takes labelme:FOLDER"),
    ("via:a.json:b:c", "via takes via:JSON[:IMAGE_DIR]"),
    ("my-data:make", "is none of"),                                  # not an identifier
    ("mod:a:b", "is none of"),
    (":attr", "is none of"),
])
def test_bad_dataset_specs_are_argument_errors(spec, message):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        parse_dataset_spec(spec)
    assert message in str(error.value)
    assert repr(spec) in str(error.value)

def test_python_spec_gives_the_callables_dataset(tmp_path, monkeypatch):
    (tmp_path / "cli_test_sets.py").write_text(
        "from tiny import rectangles_dataset\n"
        "def make():\n    return rectangles_dataset(count=2)\n"
        "def unprepared():\n    from mrcnn.datasets import Dataset\n    return Dataset()\n"
        "NOT_CALLABLE = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    dataset = cli.load_dataset(parse_dataset_spec("cli_test_sets:make"))
    assert dataset.num_images == 2 and dataset.num_classes == 4     # BG + 3 rectangle classes
    for spec, message in [("cli_test_sets:unprepared", "must return a prepared mrcnn Dataset"),
                          ("cli_test_sets:NOT_CALLABLE", "is not callable"),
                          ("cli_test_sets:missing", "cli_test_sets has no missing"),
                          ("no_such_module_xyz:make", "cannot import no_such_module_xyz")]:
        with pytest.raises(cli.runner.UsageError) as error:
            cli.load_dataset(parse_dataset_spec(spec))
        assert message in str(error.value)

# ------------------------------------------------------------------------- inspect-weights

def write_keras2_h5(path, num_classes):
    """A by-name .h5 in Keras 2's layout (root attrs layer_names, per-layer weight_names,
    datasets under <layer>/<layer>/<weight>:0) with a conv layer, a weightless layer and the
    three heads for num_classes."""
    n = num_classes
    layers = {"conv1": {"kernel": (7, 7, 3, 8), "bias": (8,)},
              "activation_1": {},
              "mrcnn_class_logits": {"kernel": (16, n), "bias": (n,)},
              "mrcnn_bbox_fc": {"kernel": (16, 4 * n), "bias": (4 * n,)},
              "mrcnn_mask": {"kernel": (1, 1, 8, n), "bias": (n,)}}
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name in layers]
        for name, weights in layers.items():
            group = f.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{w}:0".encode() for w in weights]
            for w, shape in weights.items():
                group.create_dataset(f"{name}/{w}:0", data=np.zeros(shape, np.float32))
    return str(path)

def test_inspect_weights_lists_layers_and_exclusions(tmp_path):
    path = write_keras2_h5(tmp_path / "w.h5", num_classes=3)
    code, out, err = mrcnn_process("inspect-weights", path, "--num-classes", "5")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["conv1", "[7,", "7,", "3,", "8]", "[8]"]
    assert lines[2].split() == ["mrcnn_bbox_fc", "[16,", "12]", "[12]"]      # 4 * 3 = 12
    assert "activation_1" not in out                                          # no weights
    assert "4 layers with weights" in lines
    assert "NUM_CLASSES of the file: 3" in lines
    assert lines[-1] == "Excluded for NUM_CLASSES=5: mrcnn_class_logits, mrcnn_bbox_fc, mrcnn_mask"
    code, out, _ = mrcnn_process("inspect-weights", path, "--num-classes", "3")
    assert code == 0 and out.splitlines()[-1] == "Excluded for NUM_CLASSES=3: none"

# ------------------------------------------------------------------ help, exit codes, errors

@pytest.mark.parametrize("command, words", [
    ([], ["train", "evaluate", "detect", "export", "inspect-weights", "module:attr"]),
    (["train"], ["DATASET", "--val", "--layers", "--epochs", "--lr", "--weights", "--config",
                 "--set", "--logs"]),
    (["evaluate"], ["DATASET", "--weights", "--json", "--limit"]),
    (["detect"], ["IMAGE_OR_FOLDER", "--dataset", "--out", "--weights"]),
    (["export"], ["OUT_DIR", "--dataset", "--weights", "--config", "--set"]),
    (["inspect-weights"], ["FILE", "--num-classes"]),
])
def test_help_of_each_subcommand(command, words):
    code, out, err = mrcnn_process(*command, "--help")
    assert (code, err) == (0, "")
    assert out.startswith("usage: mrcnn" + "".join(" " + c for c in command))
    for word in words:
        assert word in out

@pytest.mark.parametrize("argv, message", [
    (["train", "signs", "--epochs", "1"], "argument DATASET: dataset spec 'signs' is none of"),
    (["train", "labelme:x", "--epochs", "0"], "argument --epochs: expected an integer >= 1"),
    (["train", "labelme:x"], "the following arguments are required: --epochs"),
    (["detect", "a.png"], "the following arguments are required: --out"),
    (["export"], "the following arguments are required: OUT_DIR"),
    (["serve", "x"], "invalid choice: 'serve'"),
])
def test_bad_arguments_exit_2(argv, message):
    code, out, err = mrcnn_process(*argv)
    assert code == 2 and out == ""
    assert message in err.splitlines()[-1]

@pytest.mark.parametrize("argv, message", [
    (["inspect-weights", "missing.h5"], "mrcnn: error: Weights file not found: missing.h5"),
    (["train", "labelme:no_such_folder", "--epochs", "1"], "mrcnn: error: "),
    (["evaluate", "coco:no_such.json:images"], "mrcnn: error: "),
    (["train", "no_such_module_xyz:make", "--epochs", "1"],
     "mrcnn: error: dataset no_such_module_xyz:make: cannot import no_such_module_xyz"),
])
def test_runtime_errors_exit_1_with_one_line(argv, message, tmp_path):
    code, out, err = mrcnn_process(*argv)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(message)

def test_export_refuses_a_folder_that_is_not_a_savedmodel(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    code, out, err = mrcnn_process("export", str(tmp_path), "--weights", "last")
    assert code == 1 and "Traceback" not in err
    assert err.strip() == (f"mrcnn: error: export: {tmp_path} exists and is not a SavedModel; "
                           f"choose a new or empty folder (an earlier export there is replaced)")
    assert (tmp_path / "notes.txt").read_text() == "keep me"

def test_not_an_h5_file_is_one_line(tmp_path):
    path = tmp_path / "w.h5"
    path.write_text("not hdf5")
    code, _, err = mrcnn_process("inspect-weights", str(path))
    assert code == 1 and err.startswith(f"mrcnn: error: {path} is not an HDF5 weights file")

# ------------------------------------------------------------------------------ end to end

def write_boxes(folder, count, size=64):
    """count labelme files with PNGs: one bright square "box" each on a dark background."""
    folder.mkdir()
    for i in range(count):
        image = np.full((size, size, 3), 30, np.uint8)
        x, y = 10 + 4 * i, 12 + 2 * i
        image[y:y + 24, x:x + 24] = 220
        PIL.Image.fromarray(image).save(folder / f"img{i}.png")
        (folder / f"img{i}.json").write_text(json.dumps({
            "version": "5.4.1", "flags": {}, "imagePath": f"img{i}.png", "imageData": None,
            "imageHeight": size, "imageWidth": size,
            "shapes": [{"label": "box", "shape_type": "rectangle", "group_id": None,
                        "flags": {}, "points": [[x, y], [x + 23, y + 23]]}]}))
    return folder

def confident_copy(checkpoint, path, class_id=1):
    """A copy of checkpoint whose heads call every proposal class_id with a full mask (class
    logits bias 10 for class_id, 0 elsewhere: softmax e^10 / (e^10 + 1) > 0.99 for 2 classes),
    so that detect finds something whatever one training step taught."""
    shutil.copy(checkpoint, path)
    with h5py.File(path, "r+") as f:
        for layer in ("mrcnn_class_logits", "mrcnn_mask"):
            for name in f[layer].attrs["weight_names"]:
                name = name.decode() if isinstance(name, bytes) else str(name)
                values = np.zeros(f[layer][name].shape, np.float32)
                if name.endswith("bias:0"):
                    values[class_id] = 10.0
                f[layer][name][...] = values
    return str(path)

@pytest.mark.slow
def test_train_evaluate_detect_end_to_end(tmp_path, capsys):
    data = write_boxes(tmp_path / "boxes", 2)
    config_file = tiny_config_file(tmp_path / "tiny.yaml", BACKBONE="resnet18")
    logs = tmp_path / "logs"
    shared = ["--config", str(config_file), "--logs", str(logs)]
    spec = f"labelme:{data}"

    code = cli.main(["train", spec, "--weights", "none", "--layers", "all", "--epochs", "1",
                     "--lr", "0.001", "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1",
                     "VALIDATION_STEPS=0"] + shared)
    assert code == 0
    checkpoints = glob.glob(str(logs / "mrcnn*" / "mask_rcnn_mrcnn_0001.h5"))
    assert len(checkpoints) == 1
    # The checkpoint's heads are for BG + box: 2 classes, 4 * 2 = 8 box deltas.
    code = cli.main(["inspect-weights", checkpoints[0], "--num-classes", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "NUM_CLASSES of the file: 2" in out
    assert out.splitlines()[-1] == "Excluded for NUM_CLASSES=2: none"

    results = tmp_path / "evaluation.json"
    code = cli.main(["evaluate", spec, "--weights", "last", "--json", str(results),
                     "--limit", "1"] + shared)
    assert code == 0
    assert "Evaluated 1 images; results in" in capsys.readouterr().out
    assert isinstance(json.loads(results.read_text()), dict)

    weights = confident_copy(checkpoints[0], tmp_path / "confident.h5")
    out_dir = tmp_path / "pictures"
    code = cli.main(["detect", str(data / "img0.png"), str(data / "img1.png"), "--weights",
                     weights, "--dataset", spec, "--out", str(out_dir)] + shared)
    assert code == 0
    assert sorted(os.listdir(out_dir)) == ["detections.json", "img0.png", "img1.png"]
    assert PIL.Image.open(out_dir / "img0.png").format == "PNG"
    detections = json.loads((out_dir / "detections.json").read_text())
    assert {d["image_id"] for d in detections} == {0, 1}
    assert {d["file_name"] for d in detections} == {"img0.png", "img1.png"}
    assert all(d["category_id"] == 1 and d["score"] > 0.99 for d in detections)
    assert all(len(d["bbox"]) == 4 and d["segmentation"]["size"] == [64, 64]
               for d in detections)
    # Without --dataset, NUM_CLASSES and the class names come from the weights file (the
    # checkpoint stores the training set's).
    code = cli.main(["detect", str(data / "img0.png"), "--weights", weights, "--out",
                     str(tmp_path / "plain")] + shared)
    out = capsys.readouterr().out  # "1 detection (box) -> " or "2 detections (2 box) -> "
    assert code == 0 and ("(box) -> " in out or " box) -> " in out)

    # The exported SavedModel finds what detect found, and names the class.
    exported = tmp_path / "exported"
    code = cli.main(["export", str(exported), "--weights", weights, "--dataset", spec] + shared)
    out = capsys.readouterr().out
    assert code == 0 and f"classes (input resized to 64 px) to {exported}" in out
    import tensorflow as tf
    serve = tf.saved_model.load(str(exported)).signatures["serving_default"]
    image = np.asarray(PIL.Image.open(data / "img0.png").convert("RGB"))
    outputs = serve(images=tf.constant(image[None]))
    count = int(outputs["num_detections"][0])
    assert count == sum(d["image_id"] == 0 for d in detections)
    assert outputs["class_names"].numpy()[0, :count].tolist() == [b"box"] * count
    assert outputs["masks"].shape == (1, 64, 64, count)
