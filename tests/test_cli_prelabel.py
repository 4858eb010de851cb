"""``mrcnn detect --write labelme|via|coco`` (pre-labels, mrcnn/cli.py and mrcnn/runner.py):
the options' errors, and (slow) a tiny model that always detects class 2 writing labelme files
beside the images, keeping a corrected file, replacing it with --overwrite, and a COCO file in
--out; the written files read back with the project's loaders."""
import json
import os

import numpy as np
import PIL.Image
import pytest
import yaml

from mrcnn import cli
from test_cli import confident_copy, write_keras2_h5
from tiny import tiny_config

SIZE = 64


def write_images(folder, count=2):
    """count PNGs of a bright square on a dark background."""
    folder.mkdir()
    for i in range(count):
        image = np.full((SIZE, SIZE, 3), 30, np.uint8)
        image[10 + 5 * i:40 + 5 * i, 12:44] = 220
        PIL.Image.fromarray(image).save(folder / f"img{i}.png")
    return folder


def run(capsys, *argv):
    """(exit code, stdout, stderr) of cli.main(argv) run in this process."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------ errors

@pytest.mark.parametrize("argv, message", [
    (["--write", "labelme"], "mrcnn: error: --write labelme needs the class names: give "
                             "--class-names NAME,NAME,... (classes 1, 2, ...) or --dataset"),
    (["--write", "coco", "--class-names", "cat,dog,cow"],
     "mrcnn: error: --class-names names 3 classes but the weights {weights} are for 2"),
    (["--out", "pictures", "--min-score", "0.5"], "mrcnn: error: --min-score goes with --write"),
])
def test_prelabel_option_errors_are_one_line(argv, message, tmp_path, capsys):
    weights = write_keras2_h5(tmp_path / "w.h5", num_classes=3)      # BG + 2 classes
    code, out, err = run(capsys, "detect", tmp_path, "--weights", weights, *argv)
    assert code == 1 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith(message.format(weights=weights))
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.parametrize("argv, message", [
    (["--write", "labelme", "--dataset", "labelme:x", "--class-names", "a"],
     "argument --class-names: not allowed with argument --dataset"),
    (["--write", "labelme", "--class-names", "cat,,dog"], "must hold non-empty str"),
    (["--write", "labelme", "--class-names", "cat,cat"], "lists ['cat'] more than once"),
    (["--write", "yolo"], "argument --write: invalid choice: 'yolo'"),
    (["--write", "labelme", "--min-score", "2"], "expected a number in [0, 1], got '2'"),
    (["--write", "labelme", "--tolerance", "-1"], "expected a number of pixels >= 0"),
    ([], "the following arguments are required: --out (or --write)"),
])
def test_prelabel_arguments_that_do_not_parse_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["detect", "images", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


# ------------------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def always_dog(tmp_path_factory):
    """(weights file, config file) of a tiny resnet18 model of classes BG, cat, dog whose heads
    call every proposal "dog" (class 2) with a full mask. Its RPN and box head predict zeros,
    so the detections are whole anchors (random ones give boxes a pixel or two wide, whose
    masks are specks that the writers leave out)."""
    import h5py

    from mrcnn.maskrcnn import MaskRCNN
    folder = tmp_path_factory.mktemp("model")
    config = tiny_config(BACKBONE="resnet18", NUM_CLASSES=3)
    model = MaskRCNN("inference", config, folder / "logs")
    model.save_weights(str(folder / "random.h5"))
    weights = confident_copy(folder / "random.h5", folder / "dog.h5", class_id=2)
    with h5py.File(weights, "r+") as f:
        for layer, prefixes in (("rpn_model", ("rpn_class_raw/", "rpn_bbox_pred/")),
                                ("mrcnn_bbox_fc", ("mrcnn_bbox_fc/",))):
            for name in f[layer].attrs["weight_names"]:
                name = name.decode() if isinstance(name, bytes) else str(name)
                if name.startswith(prefixes):
                    f[layer][name][...] = 0
    config_file = folder / "tiny.yaml"
    config_file.write_text(yaml.safe_dump({
        k: v for k, v in config.to_dict().items()
        if k.isupper() and k not in ("NAME", "NUM_CLASSES") and hasattr(type(config), k)}))
    return weights, str(config_file)


@pytest.mark.slow
def test_detect_writes_labelme_files_and_keeps_corrected_ones(always_dog, tmp_path, capsys):
    from mrcnn.datasets import CocoDataset, LabelmeDataset
    weights, config_file = always_dog
    images = write_images(tmp_path / "images")
    common = ["--weights", weights, "--config", config_file, "--logs", tmp_path / "logs",
              "--class-names", "cat,dog"]

    code, out, err = run(capsys, "detect", images, "--write", "labelme", *common)
    assert code == 0, err
    assert f"{images / 'img0.png'}: " in out and f"-> {images / 'img0.json'}" in out
    assert "labelme: wrote 2 file(s) holding" in out
    assert sorted(os.listdir(images)) == ["img0.json", "img0.png", "img1.json", "img1.png"]
    shapes = json.loads((images / "img1.json").read_text())["shapes"]
    assert shapes and {s["label"] for s in shapes} == {"dog"}
    assert all(float(s["description"].split()[-1]) > 0.99 for s in shapes)
    dataset = LabelmeDataset()
    dataset.load_labelme(images, class_names=["cat", "dog"])
    dataset.prepare()
    for image_id in dataset.image_ids:
        mask, class_ids = dataset.load_mask(image_id)
        assert len(class_ids) > 0 and (class_ids == 2).all() and mask.any(axis=(0, 1)).all()

    # A person corrected img0.json: a second run keeps it byte for byte, does not even detect
    # in its image, and says so.
    corrected = b'{"version": "5.5.0", "shapes": [], "imagePath": "img0.png"}'
    (images / "img0.json").write_bytes(corrected)
    before = (images / "img1.json").read_bytes()
    code, out, err = run(capsys, "detect", images, "--write", "labelme", *common)
    assert code == 0, err
    assert f"{images / 'img0.png'}: " not in out
    assert "labelme: wrote 0 file(s)" in out and "skipped 2 existing file(s)" in out
    assert str(images / "img0.json") in out
    assert (images / "img0.json").read_bytes() == corrected
    assert (images / "img1.json").read_bytes() == before

    code, out, err = run(capsys, "detect", images / "img0.png", "--write", "labelme",
                         "--overwrite", *common)
    assert code == 0 and "labelme: wrote 1 file(s)" in out
    assert json.loads((images / "img0.json").read_text())["shapes"][0]["label"] == "dog"

    # COCO into --out, detections under --min-score left out (all score > 0.99 here).
    out_dir = tmp_path / "coco"
    code, out, err = run(capsys, "detect", images, "--write", "coco", "--out", out_dir,
                         "--min-score", "0.9", "--tolerance", "0.5", *common)
    assert code == 0, err
    assert f"with file_name relative to {images}" in out
    assert sorted(os.listdir(out_dir)) == ["coco_instances.json"]
    dataset = CocoDataset()
    dataset.load_coco(out_dir / "coco_instances.json", images)
    dataset.prepare()
    assert dataset.class_names == ["BG", "cat", "dog"]
    assert all((dataset.load_mask(i)[1] == 2).all() for i in dataset.image_ids)
