"""samples/balloon/balloon.py: colour splash by hand, BalloonDataset on a VIA 1.x file the test
writes and on via_rice_leaf (several classes), and end to end on the real via_kudzu set (one class,
VIA 2.x, a val split without attributes): fine-tuning from the 81-class "COCO" file, evaluation
and colour splash."""
import glob
import json
import os

import numpy as np
import PIL.Image
import pytest

from mrcnn.datasets.image_io import read_image
from mrcnn.weights import read_weight_shapes
from tiny import call_main as call


def via_regions(json_path):
    """[(file name, region count)] of a VIA export, in file order, images with regions only."""
    with open(json_path) as f:
        entries = json.load(f).values()
    return [(e["filename"], len(e["regions"])) for e in entries if e["regions"]]


@pytest.fixture(scope="module")
def balloon(load_sample):
    return load_sample("balloon")


def test_color_splash_keeps_colour_inside_the_masks_only(balloon):
    image = np.array([[[100, 200, 50], [10, 20, 30]],
                      [[255, 0, 0], [0, 0, 255]]], np.uint8)
    mask = np.zeros((2, 2, 2), bool)
    mask[0, 0, 0] = True                       # two instances, one pixel each
    mask[1, 1, 1] = True
    splash = balloon.color_splash(image, mask)
    # Gray = 0.2125 R + 0.7154 G + 0.0721 B (skimage.color.rgb2gray), truncated to uint8:
    #   (10, 20, 30): 2.125 + 14.308 + 2.163 = 18.596 -> 18
    #   (255, 0, 0):  54.1875                          -> 54
    np.testing.assert_array_equal(splash, [[[100, 200, 50], [18, 18, 18]],
                                           [[54, 54, 54], [0, 0, 255]]])
    # No instance: all gray. (100, 200, 50): 21.25 + 143.08 + 3.605 = 167.935 -> 167;
    # (0, 0, 255): 18.3855 -> 18.
    gray = balloon.color_splash(image, np.zeros((2, 2, 0), bool))
    np.testing.assert_array_equal(gray[..., 0], [[167, 18], [54, 18]])
    assert (gray == gray[..., :1]).all()


def test_load_balloon_reads_matterports_layout(balloon, tmp_path):
    """DIR/train/via_region_data.json in VIA 1.x (regions as a dict), as Matterport's balloons."""
    (tmp_path / "train").mkdir()
    PIL.Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "train" / "b.png")
    PIL.Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "train" / "e.png")
    regions = {"0": {"shape_attributes": {"name": "polygon", "all_points_x": [2, 8, 8, 2],
                                          "all_points_y": [3, 3, 9, 9]},
                     "region_attributes": {}},
               "1": {"shape_attributes": {"name": "circle", "cx": 20, "cy": 10, "r": 2},
                     "region_attributes": {}}}
    (tmp_path / "train" / "via_region_data.json").write_text(json.dumps({
        "b.png123": {"fileref": "", "size": 123, "filename": "b.png", "base64_img_data": "",
                     "file_attributes": {}, "regions": regions},
        "e.png99": {"fileref": "", "size": 99, "filename": "e.png", "base64_img_data": "",
                    "file_attributes": {}, "regions": {}}}))
    dataset = balloon.BalloonDataset()
    dataset.load_balloon(str(tmp_path), "train")
    dataset.prepare()
    assert dataset.class_names == ["BG", "balloon"]
    assert dataset.num_images == 1                 # e.png has no regions: left out
    mask, class_ids = dataset.load_mask(0)
    np.testing.assert_array_equal(class_ids, [1, 1])
    assert mask[..., 0].sum() == 7 * 7             # x 2..8, y 3..9
    assert mask[..., 1].sum() == 9                 # closer than 2 to (20, 10): 3 x 3
    with pytest.raises(ValueError, match="subset must be 'train' or 'val', got 'test'"):
        dataset.load_balloon(str(tmp_path), "test")


def test_load_balloon_with_a_class_key_on_rice_leaf(balloon, shared_dataset):
    folder = shared_dataset("via_rice_leaf")
    dataset = balloon.BalloonDataset()
    dataset.load_balloon(folder, "train", class_key="class_id",
                         class_names=["bacteria", "brown_spot", "leaf_smut"])
    dataset.prepare()
    assert dataset.class_names == ["BG", "bacteria", "brown_spot", "leaf_smut"]
    with open(os.path.join(folder, "train", "via_region_data.json")) as f:
        entries = json.load(f).values()
    # Regions with a class: all of them but Brown_spot1 region 33 ("") and Brown_spot39
    # region 0 ({}), counted from the file.
    labelled = [r for e in entries for r in e["regions"].values()
                if r["region_attributes"].get("class_id")]
    summary = dataset.summary(verbose=False)
    assert sum(summary["instances"].values()) == len(labelled)
    assert len(summary["skipped"]["region without a 'class_id' class"]) == 2


@pytest.fixture(scope="module")
def kudzu(shared_dataset):
    return shared_dataset("via_kudzu")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, balloon, kudzu, tiny_config_file, coco_weights):
    """One training run on via_kudzu: the heads stage, one step."""
    import keras
    logs = tmp_path_factory.mktemp("logs")
    shared = ["--dataset", kudzu, "--class-names", "kudzu", "--logs", str(logs),
              "--config", tiny_config_file,
              "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1", "VALIDATION_STEPS=0"]
    keras.utils.set_random_seed(2)
    code, output = call(balloon, ["train", "--weights", coco_weights, "--epochs-heads", "1"]
                        + shared)
    return {"code": code, "output": output, "logs": logs, "shared": shared}


@pytest.mark.slow
def test_train_fine_tunes_the_heads_on_kudzu(trained, kudzu):
    assert trained["code"] == 0
    assert "Excluded 3 layers (other shapes in the file, or asked): mrcnn_bbox_fc, " \
           "mrcnn_class_logits, mrcnn_mask" in trained["output"]
    train = via_regions(os.path.join(kudzu, "train", "via_region_data.json"))
    assert f"{len(train)} images, {sum(n for _, n in train)} instances in 1 classes" \
        in trained["output"]
    checkpoints = glob.glob(str(trained["logs"] / "balloon*" / "mask_rcnn_balloon_*.h5"))
    assert [os.path.basename(c) for c in checkpoints] == ["mask_rcnn_balloon_0001.h5"]
    assert read_weight_shapes(checkpoints[0])["mrcnn_class_logits"] == [(32, 2), (2,)]


@pytest.mark.slow
def test_evaluate_on_kudzu_val(trained, balloon, kudzu, tmp_path):
    out = tmp_path / "results"
    code, output = call(balloon, ["evaluate", "--weights", "last", "--limit", "2",
                                  "--out", str(out)] + trained["shared"])
    assert code == 0
    assert "AP50" in output
    results = json.loads((out / "evaluation.json").read_text())
    val = via_regions(os.path.join(kudzu, "val", "via_region_data.json"))
    # The val regions have no attributes at all: with one class, each is a kudzu instance.
    assert results["num_images"] == 2 and results["num_gt"] == val[0][1] + val[1][1]
    for key in ("segm/AP", "bbox/AP", "voc/mAP@0.5"):
        assert -1 <= results[key] <= 1


@pytest.mark.slow
def test_splash_colours_the_detected_masks_only(trained, balloon, kudzu, confident_weights,
                                                tmp_path):
    # Heads that call every proposal a kudzu bug and fill its box: there are masks to colour.
    last = glob.glob(str(trained["logs"] / "balloon*" / "mask_rcnn_balloon_*.h5"))[0]
    weights = confident_weights(last, tmp_path / "confident.h5")
    out = tmp_path / "splash"
    image_path = os.path.join(kudzu, "val", "25.jpg")
    code, output = call(balloon, ["splash", "--weights", weights, "--image", image_path,
                                  "--out", str(out)] + trained["shared"])
    assert code == 0
    assert os.listdir(out) == ["splash_25.png"]
    splash = np.asarray(PIL.Image.open(out / "splash_25.png"))
    image = read_image(image_path, 3, exif_orientation=True)
    gray = balloon.color_splash(image, np.zeros(image.shape[:2] + (0,), bool))
    assert splash.shape == image.shape
    coloured = np.any(splash != gray, axis=-1)
    # Where the masks are, the image keeps its colours; everywhere else it is gray.
    assert coloured.any()
    np.testing.assert_array_equal(splash[coloured], image[coloured])
    assert "instances ->" in output and ": 0 instances" not in output
