"""samples/road_sign/road_sign.py end to end on labelme files the test writes: fine-tuning from an
81-class "COCO" file (the heads excluded) through heads -> 4+ -> all, evaluation and detection
pictures; and its dataset on the road-sign guide's shape lists with a category map."""
import glob
import json
import os

import numpy as np
import PIL.Image
import pytest
import skimage.draw

from mrcnn.config import ConfigError
from mrcnn.datasets import DatasetError
from mrcnn.weights import read_weight_shapes, read_weights
from tiny import call_main as call

SIZE = 64
#: Two signs per image: a red "stop" pentagon and a yellow "yield" rectangle, shifted by i.
STOP_COLOR, YIELD_COLOR = (220, 30, 30), (240, 230, 40)


def stop_points(i):
    x, y = 6 + 2 * i, 6 + i
    return [[x, y], [x + 12, y], [x + 16, y + 8], [x + 12, y + 16], [x, y + 16]]


def yield_corners(i):
    return [[50 - i, 56 - i], [34 - i, 36 - i]]          # two corners, any order


def write_signs(folder, count):
    """count labelme files (labelme 5 layout) with their PNGs, plus one "car" shape each that
    the sign classes leave out."""
    for i in range(count):
        image = np.full((SIZE, SIZE, 3), 40, np.uint8)
        points = np.array(stop_points(i))
        rr, cc = skimage.draw.polygon(points[:, 1], points[:, 0], (SIZE, SIZE))
        image[rr, cc] = STOP_COLOR
        (x1, y1), (x2, y2) = np.sort(np.array(yield_corners(i)), axis=0)
        image[y1:y2 + 1, x1:x2 + 1] = YIELD_COLOR
        PIL.Image.fromarray(image).save(folder / f"sign{i}.png")
        shapes = [("stop", "polygon", stop_points(i)), ("yield", "rectangle", yield_corners(i)),
                  ("car", "polygon", [[2, 50], [10, 50], [10, 60]])]
        (folder / f"sign{i}.json").write_text(json.dumps({
            "version": "5.4.1", "flags": {}, "imagePath": f"sign{i}.png", "imageData": None,
            "imageHeight": SIZE, "imageWidth": SIZE,
            "shapes": [{"label": label, "shape_type": kind, "points": points, "group_id": None,
                        "flags": {}} for label, kind, points in shapes]}))


@pytest.fixture(scope="module")
def road_sign(load_sample):
    return load_sample("road_sign")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, road_sign, tiny_config_file, coco_weights):
    """One training run: 5 images split 3 train / 2 val, 1 step in each of the three stages."""
    import keras
    data = tmp_path_factory.mktemp("signs")
    write_signs(data, 5)
    logs = tmp_path_factory.mktemp("logs")
    # --val-fraction 0.4 of 5 files: round(2.0) = 2 val images, 3 train.
    shared = ["--dataset", str(data), "--val-fraction", "0.4", "--logs", str(logs),
              "--config", tiny_config_file,
              "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1", "VALIDATION_STEPS=0"]
    keras.utils.set_random_seed(0)
    code, output = call(road_sign, ["train", "--weights", coco_weights, "--epochs-heads", "1",
                                    "--epochs-4plus", "1", "--epochs-all", "1", "--seed", "0"]
                        + shared)
    return {"code": code, "output": output, "logs": logs, "data": data, "shared": shared}


def test_help_lists_the_commands(road_sign, capsys):
    with pytest.raises(SystemExit) as exit_:
        road_sign.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in ("{train,evaluate,detect}", "--weights", "--config", "--set", "--category-map",
                 "--epochs-4plus"):
        assert word in text


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs-heads", "-1"], "argument --epochs-heads: expected an integer >= 0, "
                                        "got '-1'"),
    (["evaluate", "--limit", "0"], "argument --limit: expected an integer >= 1, got '0'"),
    (["train", "--learning-rate", "0"], "argument --learning-rate: expected a number > 0, "
                                        "got '0'"),
    (["train"], "train needs --dataset"),
    (["detect"], "detect needs --images"),
])
def test_bad_command_lines_are_usage_errors(road_sign, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        road_sign.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_train_fine_tunes_coco_weights_in_three_stages(trained, coco_weights):
    assert trained["code"] == 0
    output = trained["output"]
    # 81 -> 6 classes: the three head layers with weights differ in shape and are left out.
    assert "Excluded 3 layers (other shapes in the file, or asked): mrcnn_bbox_fc, " \
           "mrcnn_class_logits, mrcnn_mask" in output
    for stage in ("'heads'", "'4+'", "'all'"):
        assert f"Stage {stage}" in output
    checkpoints = sorted(glob.glob(str(trained["logs"] / "road_sign*" / "mask_rcnn_*.h5")))
    assert [os.path.basename(c) for c in checkpoints] == [
        "mask_rcnn_road_sign_0001.h5", "mask_rcnn_road_sign_0002.h5",
        "mask_rcnn_road_sign_0003.h5"]
    # Heads for 1 + 5 classes on 32 features (FPN_CLASSIF_FC_LAYERS_SIZE of tiny_config).
    shapes = read_weight_shapes(checkpoints[-1])
    assert shapes["mrcnn_class_logits"] == [(32, 6), (6,)]
    assert shapes["mrcnn_bbox_fc"] == [(32, 24), (24,)]           # 6 classes x 4
    # The backbone came from the file: BatchNorm is frozen (TRAIN_BN False) in every stage, so
    # bn_conv1 holds the file's values after training.
    for got, expected in zip(read_weights(checkpoints[-1])["bn_conv1"],
                             read_weights(coco_weights)["bn_conv1"]):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.slow
def test_evaluate_prints_the_table_and_writes_the_figures(trained, road_sign, tmp_path):
    out = tmp_path / "results"
    code, output = call(road_sign, ["evaluate", "--weights", "last", "--out", str(out)]
                        + trained["shared"])
    assert code == 0
    assert "COCO" in output and "AP50" in output and "mAP@0.5" in output
    results = json.loads((out / "evaluation.json").read_text())
    for key in ("segm/AP", "segm/AP50", "bbox/AP", "voc/mAP@0.5"):
        assert -1 <= results[key] <= 1
    # 2 val images with a stop and a yield sign each; the car shapes are not instances.
    assert results["num_images"] == 2 and results["num_gt"] == 4
    assert [row["name"] for row in results["per_class"]] == [
        "stop", "yield", "speed_limit", "no_entry", "pedestrian_crossing"]


@pytest.mark.slow
def test_detect_saves_pictures_with_the_masks_drawn(trained, road_sign, confident_weights,
                                                    tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from mrcnn import visualize
    # Three tiny steps teach little: heads that call every proposal "stop" make sure there is
    # something to draw.
    last = sorted(glob.glob(str(trained["logs"] / "road_sign*" / "mask_rcnn_*.h5")))[-1]
    weights = confident_weights(last, tmp_path / "confident.h5")
    out = tmp_path / "pictures"
    code, output = call(road_sign, ["detect", "--weights", weights, "--images",
                                    str(trained["data"]), "--out", str(out)]
                        + trained["shared"])
    assert code == 0
    assert sorted(os.listdir(out)) == [f"sign{i}.png" for i in range(5)]
    for i in range(5):
        assert f"sign{i}.png: " in output
    assert output.count(" (stop) -> ") + output.count(" stop) -> ") == 5
    # The same picture without detections: the detections' masks and boxes change pixels.
    image = np.asarray(PIL.Image.open(trained["data"] / "sign0.png").convert("RGB"))
    plain = tmp_path / "plain.png"
    visualize.display_instances(image, np.zeros((0, 4), np.int32), np.zeros((SIZE, SIZE, 0),
                                bool), np.zeros((0,), np.int32), ["BG", "stop"], None,
                                title="sign0.png", figsize=(8, 8), save_path=str(plain))
    drawn = np.asarray(PIL.Image.open(out / "sign0.png"))
    reference = np.asarray(PIL.Image.open(plain))
    assert drawn.shape == reference.shape
    assert np.any(drawn != reference)


def test_set_num_classes_against_the_data_is_an_error(road_sign, tmp_path, tiny_config_file):
    write_signs(tmp_path, 2)
    with pytest.raises(ConfigError) as error:
        call(road_sign, ["train", "--dataset", str(tmp_path), "--config", tiny_config_file,
                         "--set", "NUM_CLASSES=81", "--weights", "none"])
    assert "--set NUM_CLASSES disagrees with the dataset, which gives {'NUM_CLASSES': 6}" \
        in str(error.value)


def test_shape_lists_with_a_category_map_file(road_sign, tmp_path):
    """The road-sign guide's format: a shape list per image, categories mapped to classes."""
    for name in ("a", "b"):
        PIL.Image.fromarray(np.full((SIZE, SIZE, 3), 90, np.uint8)).save(tmp_path / f"{name}.png")
    (tmp_path / "a.json").write_text(json.dumps([
        {"category": "59", "type": "polygon", "points": [[2, 2], [10, 2], [10, 8], [2, 8]]},
        {"category": "17", "type": "polygon", "points": [[20, 20], [30, 20], [30, 30]]}]))
    (tmp_path / "b.txt").write_text(
        "[{'category': '61', 'type': 'polygon', 'points': [[4, 4], [8, 4], [8, 9], [4, 9]]}]")
    category_map = tmp_path / "categories.yaml"
    category_map.write_text('"59": stop\n"61": no_entry\n"17": parking\n')
    (tmp_path / "train").mkdir()
    for name in ("a.png", "a.json", "b.png", "b.txt"):
        os.replace(tmp_path / name, tmp_path / "train" / name)
    dataset = road_sign.RoadSignDataset()
    dataset.load_road_signs(str(tmp_path), "train",
                            category_map=road_sign.load_category_map(str(category_map)))
    dataset.prepare()
    assert dataset.class_names == ["BG", "stop", "yield", "speed_limit", "no_entry",
                                   "pedestrian_crossing"]
    mask, class_ids = dataset.load_mask(0)                 # a: stop; "parking" is no class
    np.testing.assert_array_equal(class_ids, [1])
    assert mask[..., 0].sum() == 9 * 7                     # x 2..10, y 2..8
    mask, class_ids = dataset.load_mask(1)                 # b: no_entry, x 4..8, y 4..9
    np.testing.assert_array_equal(class_ids, [4])
    assert mask[..., 0].sum() == 5 * 6
    assert dataset.summary(verbose=False)["skipped"] == {
        "label not in class_names": [(str(tmp_path / "train" / "a.json"),
                                      "shape 1 (label '17')")]}


def test_no_shape_of_the_classes_is_an_error(road_sign, tmp_path):
    write_signs(tmp_path, 2)
    with pytest.raises(DatasetError) as error:
        road_sign.RoadSignDataset().load_road_signs(str(tmp_path), "train",
                                                    class_names=["speed_limit"])
    assert "no shape has one of the classes ['speed_limit']" in str(error.value)
    assert "--class-names" in str(error.value)
