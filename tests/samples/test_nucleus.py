"""samples/nucleus/nucleus.py: its configs, Matterport's augmentation as an albumentations
transform (masks stay aligned), NucleusDataset's train/val split of per-image folders the test
writes (the Kaggle DSB 2018 layout), and (slow) its command line end to end: crop-mode training
with augmentation from an 81-class "COCO" file, evaluation and pad64 detection on stage1_test."""
import glob
import json
import os

import numpy as np
import PIL.Image
import pytest

from tiny import call_main as call

H, W = 72, 80


def nuclei(index):
    """bool masks of 2-4 discs of radius 5-8, placed by index (distinct per image)."""
    rows, cols = np.ogrid[:H, :W]
    centres = [(14 + 3 * index, 16 + 2 * index), (40, 50 - index), (58 - 2 * index, 20),
               (24, 64)][:2 + index % 3]
    return [(rows - cy) ** 2 + (cols - cx) ** 2 <= (5 + k + index % 2) ** 2
            for k, (cy, cx) in enumerate(centres)]


def write_folder(folder, index, with_masks=True):
    """<id>/images/<id>.png (RGBA, as the DSB images) and <id>/masks/<k>.png (0/255)."""
    name = "n{:02d}".format(index)
    masks = nuclei(index)
    image = np.zeros((H, W, 4), np.uint8)
    image[..., 3] = 255
    image[..., :3] = 20
    for mask in masks:
        image[mask, :3] = (200, 180, 220)
    (folder / name / "images").mkdir(parents=True)
    PIL.Image.fromarray(image).save(folder / name / "images" / (name + ".png"))
    if with_masks:
        (folder / name / "masks").mkdir()
        for k, mask in enumerate(masks):
            PIL.Image.fromarray(mask.astype(np.uint8) * 255).save(
                folder / name / "masks" / "{}.png".format(k))
    return name, masks


def write_kaggle(root, train_count=5, test_count=2):
    for i in range(train_count):
        write_folder(root / "stage1_train", i)
    for i in range(test_count):
        write_folder(root / "stage1_test", 10 + i, with_masks=False)
    return root


@pytest.fixture(scope="module")
def nucleus(load_sample):
    return load_sample("nucleus")


def test_configs(nucleus):
    config, inference = nucleus.NucleusConfig(), nucleus.NucleusInferenceConfig()
    assert (config.IMAGE_RESIZE_MODE, inference.IMAGE_RESIZE_MODE) == ("crop", "pad64")
    assert config.IMAGE_SHAPE.tolist() == [512, 512, 3]           # the crop
    assert inference.IMAGE_MIN_DIM == 512 and inference.IMAGE_MIN_SCALE == 2.0
    assert (config.NUM_CLASSES, config.BACKBONE, config.BATCH_SIZE) == (2, "resnet50", 6)
    assert (config.RPN_NMS_THRESHOLD, inference.RPN_NMS_THRESHOLD) == (0.9, 0.7)
    assert tuple(config.RPN_ANCHOR_SCALES) == (8, 16, 32, 64, 128)
    assert (config.TRAIN_ROIS_PER_IMAGE, config.MAX_GT_INSTANCES,
            config.DETECTION_MAX_INSTANCES) == (128, 200, 400)
    np.testing.assert_allclose(config.MEAN_PIXEL, [43.53, 39.56, 48.22])


def test_augmentation_moves_masks_with_the_image(nucleus):
    """An asymmetric L: after each augmentation the mask is one of the 8 flips/turns of the
    original, and the augmented image correlates best with the same flip/turn of the original
    image (brightness and blur change values, not places). Over 200 draws (seeded) all 8 poses
    occur, the unchanged one included."""
    from mrcnn.data.augmentation import apply_augmentation
    image = np.full((48, 48, 3), 10, np.uint8)
    mask = np.zeros((48, 48, 1), bool)
    mask[8:16, 8:36, 0] = True                    # an L: a bar and a foot
    mask[16:40, 8:16, 0] = True
    image[mask[..., 0]] = 200

    def poses(array):
        """The 8 flips/turns of a 2-D array, in one fixed order."""
        result = []
        for turns in range(4):
            turned = np.rot90(array, turns)
            result += [turned, turned[:, ::-1]]
        return result

    mask_poses = poses(mask[..., 0])
    image_poses = [p.astype(float).ravel() for p in poses(image[..., 0])]
    augmentation = nucleus.nucleus_augmentation()
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        new_image, new_mask = apply_augmentation(image, mask, augmentation, rng=rng)
        assert new_image.shape == image.shape and new_image.dtype == np.uint8
        matches = [k for k, p in enumerate(mask_poses) if np.array_equal(new_mask[..., 0], p)]
        assert len(matches) == 1
        gray = new_image[..., 0].astype(float).ravel()
        correlations = [np.corrcoef(gray, p)[0, 1] for p in image_poses]
        assert int(np.argmax(correlations)) == matches[0]
        seen.add(matches[0])
    assert seen == set(range(8))


def test_train_val_split_and_test_folder(nucleus, tmp_path):
    root = write_kaggle(tmp_path)
    train, val = nucleus.NucleusDataset(), nucleus.NucleusDataset()
    train.load_nucleus(str(root), "train", val_fraction=0.4)
    val.load_nucleus(str(root), "val", val_fraction=0.4)
    for dataset in (train, val):
        dataset.prepare()
        assert dataset.class_names == ["BG", "nucleus"]
    train_ids = [info["id"] for info in train.image_info]
    val_ids = [info["id"] for info in val.image_info]
    assert len(train_ids) == 3 and len(val_ids) == 2
    assert sorted(train_ids + val_ids) == ["n00", "n01", "n02", "n03", "n04"]
    # The same split every time.
    again = nucleus.NucleusDataset()
    again.load_nucleus(str(root), "val", val_fraction=0.4)
    assert [info["id"] for info in again.image_info] == val_ids
    # Masks pixel for pixel, one instance of class 1 per mask file.
    index = int(val_ids[0][1:])
    mask, class_ids = val.load_mask(0)
    expected = nuclei(index)
    assert class_ids.tolist() == [1] * len(expected)
    for k, drawn in enumerate(expected):
        np.testing.assert_array_equal(mask[..., k], drawn)
    assert val.load_image(0).shape == (H, W, 3)                   # RGBA -> RGB
    test = nucleus.NucleusDataset()
    test.load_nucleus(str(root), "stage1_test")
    test.prepare()
    assert [info["id"] for info in test.image_info] == ["n10", "n11"]
    assert test.summary(verbose=False)["images_without_instances"] == [0, 1]


def test_help_lists_the_commands(nucleus, capsys):
    with pytest.raises(SystemExit) as exit_:
        nucleus.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in ("{train,evaluate,detect}", "--weights", "--set", "--no-augment", "--subset",
                 "Matterport's nucleus augmentation"):
        assert word in text


@pytest.mark.parametrize("argv, message", [
    (["train"], "train needs --dataset"),
    (["detect", "--dataset", "d"], "detect needs --images, or --dataset and --subset"),
])
def test_bad_command_lines_are_usage_errors(nucleus, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        nucleus.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_train_evaluate_detect(nucleus, tmp_path, tiny_config_file, coco_weights,
                               confident_weights):
    """One crop-mode training step with augmentation (the images are 72x80: 64 px crops of the
    images scaled up twice), then evaluation and pad64 detection (the whole image scaled up
    twice, padded to 192x192)."""
    root = write_kaggle(tmp_path / "data")
    logs = tmp_path / "logs"
    shared = ["--dataset", str(root), "--val-fraction", "0.4", "--logs", str(logs),
              "--config", tiny_config_file, "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1",
              "VALIDATION_STEPS=0"]
    code, output = call(nucleus, ["train", "--weights", coco_weights, "--epochs-heads", "1",
                                  "--epochs-all", "0", "--seed", "0"] + shared)
    assert code == 0
    assert "IMAGE_RESIZE_MODE              crop" in output
    assert "Excluded 3 layers" in output
    checkpoints = glob.glob(str(logs / "nucleus*" / "mask_rcnn_nucleus_0001.h5"))
    assert len(checkpoints) == 1

    out = tmp_path / "results"
    code, output = call(nucleus, ["evaluate", "--weights", "last", "--out", str(out)] + shared)
    assert code == 0
    results = json.loads((out / "evaluation.json").read_text())
    val = nucleus.NucleusDataset()
    val.load_nucleus(str(root), "val", val_fraction=0.4)
    assert results["num_images"] == 2
    assert results["num_gt"] == sum(len(nuclei(int(info["id"][1:]))) for info in val.image_info)
    assert [row["name"] for row in results["per_class"]] == ["nucleus"]

    weights = confident_weights(checkpoints[0], tmp_path / "confident.h5")
    pictures = tmp_path / "pictures"
    code, output = call(nucleus, ["detect", "--weights", weights, "--subset", "stage1_test",
                                  "--out", str(pictures)] + shared)
    assert code == 0
    assert sorted(os.listdir(pictures)) == ["detections.json", "n10.png", "n11.png"]
    assert output.count(" (nucleus) -> ") + output.count(" nucleus) -> ") == 2
    detections = json.loads((pictures / "detections.json").read_text())
    assert {d["file_name"] for d in detections} == {"n10.png", "n11.png"}
    assert all(d["segmentation"]["size"] == [H, W] for d in detections)
