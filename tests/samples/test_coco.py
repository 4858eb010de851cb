"""samples/coco/coco.py end to end: fine-tuning on a synthetic COCO json the test writes
(category ids with gaps, a crowd RLE, 64-bit image ids, an image without annotations), COCO
evaluation with its results json in the original ids, detection pictures; and evaluation of the
81-class "COCO" model on the real coco_icevision excerpt."""
import glob
import json
import os

import numpy as np
import PIL.Image
import pytest

from mrcnn.datasets import DatasetError
from mrcnn.weights import read_weight_shapes
from tiny import call_main as call

SIZE = 64
#: Listed out of id order: classes are numbered in category-id order (cat 1, dog 2, bird 3).
CATEGORIES = [{"id": 12, "name": "bird"}, {"id": 5, "name": "cat"}, {"id": 9, "name": "dog"}]
BIG = 2 ** 40                      # 64-bit image ids


def square(x, y, side):
    """A COCO polygon (flat x, y list) of a square with its top-left corner at x, y."""
    return [x, y, x + side, y, x + side, y + side, x, y + side]


def uncompressed_rle(mask):
    """COCO's uncompressed RLE of a bool [H, W] mask: run lengths of the column-major pixels,
    starting with a run of zeros."""
    flat = mask.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], changes, [flat.size]]))
    counts = ([0] if flat[0] else []) + runs.tolist()
    return {"counts": counts, "size": list(mask.shape)}


def write_coco_set(folder):
    """train.json (3 images) and val.json (2 images, one without annotations), images in
    folder/train and folder/val. Each image: a cat square and a dog square, coloured."""
    layout = {"train": [1, 2, 3], "val": [BIG + 1, BIG + 2]}
    for subset, image_ids in layout.items():
        (folder / subset).mkdir()
        images, annotations = [], []
        for k, image_id in enumerate(image_ids):
            image = np.full((SIZE, SIZE, 3), 30, np.uint8)
            name = f"{subset}{k}.png"
            images.append({"id": image_id, "file_name": name, "height": SIZE, "width": SIZE})
            if subset == "val" and k == 1:
                PIL.Image.fromarray(image).save(folder / subset / name)
                continue                                  # no annotations: background only
            for category_id, x, color in ((5, 6 + 3 * k, (200, 60, 60)),
                                          (9, 36 - 2 * k, (60, 60, 200))):
                image[20:40, x:x + 20] = color
                annotations.append({"id": BIG + len(annotations), "image_id": image_id,
                                    "category_id": category_id,
                                    "segmentation": [square(x, 20, 20)], "area": 400.0,
                                    "bbox": [x, 20, 20, 20], "iscrowd": 0})
            if subset == "train" and k == 0:
                crowd = np.zeros((SIZE, SIZE), bool)
                crowd[48:60, 4:60] = True
                annotations.append({"id": BIG + len(annotations), "image_id": image_id,
                                    "category_id": 12,
                                    "segmentation": uncompressed_rle(crowd), "area": 672.0,
                                    "bbox": [4, 48, 56, 12], "iscrowd": 1})
            PIL.Image.fromarray(image).save(folder / subset / name)
        (folder / f"{subset}.json").write_text(json.dumps(
            {"images": images, "annotations": annotations, "categories": CATEGORIES}))


@pytest.fixture(scope="module")
def coco(load_sample):
    return load_sample("coco")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coco_set")
    write_coco_set(folder)
    return folder


def data_args(folder):
    return ["--train-json", str(folder / "train.json"), "--train-images", str(folder / "train"),
            "--val-json", str(folder / "val.json"), "--val-images", str(folder / "val")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, coco, synthetic, tiny_config_file, coco_weights):
    """One training run: the heads stage only, one step and one validation step."""
    import keras
    logs = tmp_path_factory.mktemp("logs")
    shared = data_args(synthetic) + [
        "--logs", str(logs), "--config", tiny_config_file,
        "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1", "VALIDATION_STEPS=1"]
    keras.utils.set_random_seed(1)
    code, output = call(coco, ["train", "--weights", coco_weights, "--epochs-heads", "1",
                               "--epochs-4plus", "0", "--epochs-all", "0"] + shared)
    return {"code": code, "output": output, "logs": logs, "shared": shared}


def test_class_names_follow_the_category_ids(coco, synthetic):
    assert coco.class_names_of(str(synthetic / "train.json")) == ["BG", "cat", "dog", "bird"]


def test_train_without_paths_says_what_is_missing(coco):
    with pytest.raises(coco.common.UsageError) as error:
        coco.main(["train", "--train-json", "a.json"])
    assert "the train set needs --train-json and --train-images (or --dataset DIR in COCO's " \
           "layout)" in str(error.value)


def test_other_categories_in_val_is_an_error(coco, synthetic, tmp_path):
    val = json.loads((synthetic / "val.json").read_text())
    val["categories"] = CATEGORIES[1:]
    val["annotations"] = [a for a in val["annotations"] if a["category_id"] != 12]
    (tmp_path / "val.json").write_text(json.dumps(val))
    argv = data_args(synthetic)
    argv[argv.index("--val-json") + 1] = str(tmp_path / "val.json")
    with pytest.raises(DatasetError) as error:
        call(coco, ["train", "--weights", "none"] + argv)
    assert "the train and val jsons have other categories" in str(error.value)
    assert "val:   ['cat', 'dog']" in str(error.value)


@pytest.mark.slow
def test_train_fine_tunes_the_heads(trained):
    assert trained["code"] == 0
    assert "Excluded 3 layers (other shapes in the file, or asked): mrcnn_bbox_fc, " \
           "mrcnn_class_logits, mrcnn_mask" in trained["output"]
    # train: 3 images, 6 instances (cat and dog each) + 1 crowd bird.
    assert "3 images, 6 instances in 3 classes, 1 crowd regions" in trained["output"]
    checkpoints = glob.glob(str(trained["logs"] / "coco*" / "mask_rcnn_coco_*.h5"))
    assert [os.path.basename(c) for c in checkpoints] == ["mask_rcnn_coco_0001.h5"]
    shapes = read_weight_shapes(checkpoints[0])
    assert shapes["mrcnn_class_logits"] == [(32, 4), (4,)]        # 1 + 3 categories


@pytest.mark.slow
def test_evaluate_writes_coco_results_in_the_original_ids(trained, coco, confident_weights,
                                                          tmp_path):
    # Heads that call every proposal class 1 ("cat", COCO category 5): there are detections.
    last = glob.glob(str(trained["logs"] / "coco*" / "mask_rcnn_coco_*.h5"))[0]
    weights = confident_weights(last, tmp_path / "confident.h5", class_id=1)
    out = tmp_path / "results"
    code, output = call(coco, ["evaluate", "--weights", weights, "--out", str(out)]
                        + trained["shared"])
    assert code == 0
    assert "AP50" in output and "segm" in output and "bbox" in output
    results = json.loads((out / "evaluation.json").read_text())
    assert results["num_images"] == 2 and results["num_gt"] == 2     # val: cat + dog
    for key in ("segm/AP", "bbox/AP", "segm/AR100", "voc/mAP@0.5"):
        assert -1 <= results[key] <= 1
    detections = json.loads((out / "coco_results.json").read_text())
    assert {d["image_id"] for d in detections} == {BIG + 1, BIG + 2}
    assert {d["category_id"] for d in detections} == {5}
    assert all(len(d["bbox"]) == 4 and "counts" in d["segmentation"] for d in detections)


@pytest.mark.slow
def test_detect_saves_pictures(trained, coco, synthetic, tmp_path):
    out = tmp_path / "pictures"
    code, output = call(coco, ["detect", "--weights", "last", "--images",
                               str(synthetic / "val"), "--out", str(out)] + trained["shared"])
    assert code == 0
    assert sorted(os.listdir(out)) == ["val0.png", "val1.png"]
    picture = np.asarray(PIL.Image.open(out / "val0.png"))
    assert picture.ndim == 3 and picture.shape[0] > SIZE           # a drawn figure
    assert f"{synthetic / 'val' / 'val0.png'}:" in output


@pytest.mark.slow
def test_evaluate_the_coco_model_on_the_real_excerpt(coco, coco_weights, shared_dataset,
                                                      tiny_config_file, tmp_path):
    """The 81-class file on coco_icevision (80 categories): every layer fits, nothing trains."""
    folder = shared_dataset("coco_icevision")
    annotations = os.path.join(folder, "annotations.json")
    out = tmp_path / "results"
    code, output = call(coco, ["evaluate", "--weights", coco_weights, "--val-json", annotations,
                               "--val-images", os.path.join(folder, "images"), "--limit", "3",
                               "--config", tiny_config_file, "--logs", str(tmp_path / "logs"),
                               "--out", str(out)])
    assert code == 0
    results = json.loads((out / "evaluation.json").read_text())
    assert results["num_images"] == 3
    with open(annotations) as f:
        data = json.load(f)
    detections = json.loads((out / "coco_results.json").read_text())
    assert {d["image_id"] for d in detections} <= {image["id"] for image in data["images"]}
    assert {d["category_id"] for d in detections} <= {c["id"] for c in data["categories"]}
