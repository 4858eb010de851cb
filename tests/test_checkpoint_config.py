"""Checkpoints remember their config (issue 15, item 1): the metadata save_weights stores (JSON
in a root attribute), Config.from_weights, the run folder's config.yaml, the command line building
the model a file was trained with (--config / --set over it, said in one line), inspect-weights,
and shape mismatch errors that name the setting at fault and its fix."""
import argparse
import glob
import json
import os
import warnings

import h5py
import numpy as np
import pytest

from mrcnn import cli, runner
from mrcnn.config import Config, ConfigError
from mrcnn.weights import (
    METADATA_ATTRIBUTE,
    WeightsFileError,
    backbone_of,
    read_metadata,
    save_weights,
    weighted_layers,
    weights_metadata,
)
from tiny import tiny_config, tiny_config_file


def write_metadata_file(path, metadata):
    """A minimal by-name weights file (one conv layer) whose root attribute holds
    ``metadata`` as JSON, written with h5py alone."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"conv1"]
        group = f.create_group("conv1")
        group.attrs["weight_names"] = [b"conv1/kernel:0"]
        group.create_dataset("conv1/kernel:0", data=np.zeros((1, 1, 3, 2), np.float32))
        if metadata is not None:
            f.attrs[METADATA_ATTRIBUTE] = json.dumps(metadata)
    return str(path)


# ------------------------------------------------------------------ metadata and from_weights

def test_save_weights_stores_config_class_names_and_backbone_as_json(inference_model, tmp_path):
    path = tmp_path / "w.h5"
    inference_model.save_weights(path, class_names=["BG", "a", "b", "c"])
    with h5py.File(path, "r") as f:
        stored = json.loads(f.attrs[METADATA_ATTRIBUTE])        # plain JSON text, no pickle
    assert stored["class_names"] == ["BG", "a", "b", "c"]
    assert stored["backbone"] == "resnet50"
    assert stored["config"]["IMAGE_MAX_DIM"] == 64 and stored["config"]["NUM_CLASSES"] == 4
    assert read_metadata(path) == stored

    config = Config.from_weights(path)
    expected = tiny_config().to_dict()
    assert config.to_dict() == expected
    # Containers come back with their types: tuples stay tuples, arrays arrays.
    assert config.RPN_ANCHOR_SCALES == (8, 16, 32, 64, 128)
    assert isinstance(config.MEAN_PIXEL, np.ndarray)
    assert config.IMAGE_SHAPE.tolist() == [64, 64, 3]
    # The weights still load by name as before.
    inference_model.load_weights(path, by_name=True)


def test_file_without_metadata_reads_none_and_loads(inference_model, tmp_path):
    path = tmp_path / "old.h5"
    save_weights(inference_model.keras_model, path)      # as older checkpoints: no metadata
    with h5py.File(path, "r") as f:
        assert METADATA_ATTRIBUTE not in f.attrs
    assert read_metadata(path) is None
    with pytest.raises(ConfigError, match="stores no config"):
        Config.from_weights(path)
    inference_model.load_weights(path, by_name=True)
    with pytest.raises(WeightsFileError, match="not found"):
        read_metadata(tmp_path / "missing.h5")


def test_from_weights_leaves_out_settings_the_class_does_not_know(tmp_path):
    values = tiny_config(IMAGE_MAX_DIM=128, IMAGE_MIN_DIM=96).to_dict()
    values["MY_OWN_SETTING"] = 3
    path = write_metadata_file(tmp_path / "w.h5", {"config": values, "class_names": None,
                                                  "backbone": "resnet50"})
    with pytest.warns(UserWarning, match="MY_OWN_SETTING"):
        config = Config.from_weights(path)
    assert (config.IMAGE_MAX_DIM, config.IMAGE_MIN_DIM, config.NAME) == (128, 96, "tiny")
    assert not hasattr(config, "MY_OWN_SETTING")


def test_metadata_of_a_config_holding_code_leaves_the_config_out():
    config = tiny_config()
    config.AUGMENTER = object()           # an upper-case attribute that is not data
    with pytest.warns(UserWarning, match="AUGMENTER"):
        metadata = weights_metadata(config, ["BG", "a", "b", "c"])
    assert metadata == {"config": None, "class_names": ["BG", "a", "b", "c"],
                        "backbone": "resnet50"}
    json.dumps(metadata)


def test_backbone_of_layer_names(inference_model):
    assert backbone_of(weighted_layers(inference_model.keras_model)) == "resnet50"
    # Stage 4 of ResNet101: a conv block and 22 identity blocks, res4a ... res4w.
    resnet101 = ["res2a_branch2c"] + [f"res4{chr(97 + i)}_branch2a" for i in range(23)]
    assert backbone_of(resnet101) == "resnet101"
    # Basic blocks (no branch2c): ResNet18 has 2 in stage 4, ResNet34 6.
    assert backbone_of(["res2a_branch2a", "res4a_branch2a", "res4b_branch2a"]) == "resnet18"
    assert backbone_of(["res2a_branch2a"] + [f"res4{c}_branch2a" for c in "abcdef"]) == \
        "resnet34"
    assert backbone_of(["conv1", "mrcnn_mask"]) is None


# ------------------------------------------------------------------------------ mismatch errors

def test_mismatch_error_names_backbone_and_pyramid_size_with_their_fixes(inference_model,
                                                                        tmp_path):
    from mrcnn.maskrcnn import MaskRCNN
    path = tmp_path / "resnet50.h5"
    inference_model.save_weights(path)              # tiny: resnet50, TOP_DOWN_PYRAMID_SIZE 32
    other = MaskRCNN("inference", tiny_config(BACKBONE="resnet18", TOP_DOWN_PYRAMID_SIZE=16),
                     tmp_path)
    before = other.keras_model.get_layer("conv1").weights[0].numpy()
    with pytest.raises(WeightsFileError) as err:
        other.load_weights(path, by_name=True)
    text = str(err.value)
    assert "The file was trained with BACKBONE resnet50, the model has resnet18" in text
    assert "--set BACKBONE=resnet50, or leave out a --set BACKBONE" in text
    assert 'config.BACKBONE = "resnet50"' in text and "Config.from_weights(path)" in text
    assert "The file was trained with TOP_DOWN_PYRAMID_SIZE 32, the model has 16" in text
    assert "--set TOP_DOWN_PYRAMID_SIZE=32" in text
    assert "exclude=" not in text                    # not a fine-tuning matter
    assert "... and " in text and " more" in text    # the list of layers is cut short
    np.testing.assert_array_equal(before, other.keras_model.get_layer("conv1").weights[0])

    # Without metadata (Matterport's files) the layer names still tell the backbone.
    plain = tmp_path / "plain.h5"
    save_weights(inference_model.keras_model, plain)
    with pytest.raises(WeightsFileError) as err:
        other.load_weights(plain, by_name=True)
    text = str(err.value)
    assert "The file has the layers of BACKBONE resnet50, the model has resnet18" in text
    assert "--set BACKBONE=resnet50;" in text and 'config.BACKBONE = "resnet50" before' in text
    assert "TOP_DOWN_PYRAMID_SIZE" not in text      # only the stored config tells that one


def test_mismatch_error_for_another_num_classes_offers_exclude_for_fine_tuning(
        inference_model, tmp_path):
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.weights import load_weights
    other = MaskRCNN("inference", tiny_config(NUM_CLASSES=7), tmp_path)
    path = tmp_path / "seven.h5"
    other.save_weights(path)
    with pytest.raises(WeightsFileError) as err:
        inference_model.load_weights(path, by_name=True)
    text = str(err.value)
    assert "The file has NUM_CLASSES 7 and the model 4" in text
    assert "a dataset of its 6 classes" in text and "config.NUM_CLASSES = 7" in text
    assert ("Only to fine-tune the file on other classes, pass exclude=['mrcnn_bbox', "
            "'mrcnn_bbox_fc', 'mrcnn_class_logits', 'mrcnn_mask']") in text
    assert "BACKBONE" not in text
    # A Keras model alone (no config): NUM_CLASSES told by the head's shapes.
    with pytest.raises(WeightsFileError, match="NUM_CLASSES 7 and the model 4"):
        load_weights(inference_model.keras_model, path)


# ------------------------------------------------------------------- command line, no model

def cli_args(config=None, sets=()):
    return argparse.Namespace(config=config, set=list(sets))


def test_make_config_precedence_and_the_lines_that_say_so(tmp_path, capsys):
    stored = cli.CliConfig.from_dict({"BACKBONE": "resnet18", "IMAGE_MAX_DIM": 256,
                                      "IMAGE_MIN_DIM": 256, "NUM_CLASSES": 4,
                                      "DETECTION_MIN_CONFIDENCE": 0.5})
    # No --config / --set: the file's values; the dataset's NUM_CLASSES wins.
    config = runner.make_config(cli.CliConfig, cli_args(), stored=stored)
    assert (config.BACKBONE, config.IMAGE_MAX_DIM, config.NUM_CLASSES) == ("resnet18", 256, 4)
    assert config.POST_NMS_ROIS_INFERENCE == cli.CliConfig.POST_NMS_ROIS_INFERENCE
    assert capsys.readouterr().out == ""
    # --config over the file, --set over --config.
    path = tmp_path / "c.yaml"
    path.write_text("IMAGE_MAX_DIM: 320\nIMAGE_MIN_DIM: 320\nBACKBONE: resnet34\n")
    config = runner.make_config(cli.CliConfig, cli_args(str(path), ["BACKBONE=resnet50"]),
                                inference=True, stored=stored, NUM_CLASSES=4)
    assert (config.BACKBONE, config.IMAGE_MAX_DIM, config.IMAGE_MIN_DIM) == ("resnet50", 320,
                                                                              320)
    assert config.DETECTION_MIN_CONFIDENCE == 0.5 and config.IMAGES_PER_GPU == 1
    assert capsys.readouterr().out.splitlines() == [
        "--set BACKBONE=resnet50 differs from the weights file's resnet18; using resnet50",
        f"--config {path}: IMAGE_MAX_DIM=320 differs from the weights file's 256; using 320",
        f"--config {path}: IMAGE_MIN_DIM=320 differs from the weights file's 256; using 320"]
    assert stored.BACKBONE == "resnet18"             # the stored config is left as it was
    # Without a stored config: as before, no lines.
    config = runner.make_config(cli.CliConfig, cli_args(sets=["BACKBONE=resnet50"]))
    assert config.BACKBONE == "resnet50" and capsys.readouterr().out == ""


def test_inspect_weights_prints_the_stored_config(tmp_path, capsys):
    values = tiny_config(BACKBONE="resnet18").to_dict()
    path = write_metadata_file(tmp_path / "w.h5", {"config": values, "backbone": "resnet18",
                                                  "class_names": ["BG", "a", "b", "c"]})
    assert cli.main(["inspect-weights", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Backbone: resnet18" in lines
    assert "Class names: BG, a, b, c" in lines
    assert "  NUM_CLASSES        4" in lines and "  IMAGE_MAX_DIM      64" in lines
    assert "  NAME               tiny" in lines
    assert "No config stored (Matterport or older file)" not in lines

    plain = write_metadata_file(tmp_path / "plain.h5", None)
    assert cli.main(["inspect-weights", plain]) == 0
    out = capsys.readouterr().out
    assert "No config stored (Matterport or older file)" in out.splitlines()
    assert "Backbone" not in out and "Class names" not in out


# ------------------------------------------------------- a real training run and the commands

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(checkpoint, logs folder, dataset spec, images folder) of one CLI training step of a
    resnet18 at 128 px on a 1-class labelme set: a model the CLI defaults (resnet101, 1024 px,
    81 classes, FPN 256) would not load."""
    from test_cli import write_boxes
    tmp = tmp_path_factory.mktemp("trained")
    data = write_boxes(tmp / "boxes", 2)
    config_file = tiny_config_file(tmp / "tiny.yaml", BACKBONE="resnet18")
    logs = tmp / "logs"
    code = cli.main(["train", f"labelme:{data}", "--weights", "none", "--layers", "all",
                     "--epochs", "1", "--config", str(config_file), "--logs", str(logs),
                     "--set", "IMAGES_PER_GPU=1", "STEPS_PER_EPOCH=1", "VALIDATION_STEPS=0",
                     "IMAGE_MAX_DIM=128", "IMAGE_MIN_DIM=128"])
    assert code == 0
    checkpoint, = glob.glob(str(logs / "mrcnn*" / "mask_rcnn_mrcnn_0001.h5"))
    return checkpoint, logs, f"labelme:{data}", data


@pytest.mark.slow
def test_training_checkpoint_and_run_folder_carry_the_config(trained):
    checkpoint, _, _, _ = trained
    metadata = read_metadata(checkpoint)
    assert metadata["class_names"] == ["BG", "box"]
    assert metadata["backbone"] == "resnet18"
    config = Config.from_weights(checkpoint)
    assert (config.BACKBONE, config.IMAGE_MAX_DIM, config.NUM_CLASSES, config.NAME,
            config.TOP_DOWN_PYRAMID_SIZE, config.STEPS_PER_EPOCH) == ("resnet18", 128, 2,
                                                                      "mrcnn", 32, 1)
    run_config = os.path.join(os.path.dirname(checkpoint), "config.yaml")
    assert Config.from_file(run_config).to_dict() == config.to_dict()


@pytest.mark.slow
def test_commands_build_the_model_the_file_was_trained_with(trained, tmp_path, capsys):
    checkpoint, logs, spec, data = trained
    capsys.readouterr()
    # evaluate --weights last: found under --logs, no --config / --set.
    code = cli.main(["evaluate", spec, "--weights", "last", "--logs", str(logs), "--limit", "1",
                     "--json", str(tmp_path / "e.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert f"Config of {checkpoint}: BACKBONE resnet18, NUM_CLASSES 2, IMAGE_MAX_DIM 128" in out
    assert "differs from the weights file" not in out

    # detect without --dataset: the classes named as the file names them.
    code = cli.main(["detect", str(data / "img0.png"), "--weights", checkpoint, "--out",
                     str(tmp_path / "pictures"), "--logs", str(logs)])
    out = capsys.readouterr().out
    assert code == 0 and "Class names from the weights file: box" in out
    assert os.path.exists(tmp_path / "pictures" / "img0.png")

    # A --set that contradicts the file is said, and used.
    code = cli.main(["detect", str(data / "img0.png"), "--weights", checkpoint, "--out",
                     str(tmp_path / "more"), "--logs", str(logs),
                     "--set", "DETECTION_MIN_CONFIDENCE=0.9"])
    out = capsys.readouterr().out
    assert code == 0
    assert ("--set DETECTION_MIN_CONFIDENCE=0.9 differs from the weights file's 0.0; using "
            "0.9") in out.splitlines()

    # export: the class names of the file become the SavedModel's.
    exported = tmp_path / "exported"
    code = cli.main(["export", str(exported), "--weights", checkpoint, "--logs", str(logs)])
    out = capsys.readouterr().out
    assert code == 0 and f"2 classes (input resized to 128 px) to {exported}" in out
    import tensorflow as tf
    serve = tf.saved_model.load(str(exported)).signatures["serving_default"]
    outputs = serve(images=tf.zeros((1, 64, 64, 3), tf.uint8))
    assert "class_names" in outputs

    code = cli.main(["inspect-weights", checkpoint])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert "Backbone: resnet18" in lines and "Class names: BG, box" in lines
    assert "  IMAGE_MAX_DIM      128" in lines and "  NUM_CLASSES        2" in lines


@pytest.mark.slow
def test_a_set_backbone_against_the_file_fails_naming_the_fix(trained, tmp_path, capsys):
    checkpoint, logs, _, data = trained
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main(["detect", str(data / "img0.png"), "--weights", checkpoint, "--out",
                         str(tmp_path / "p"), "--logs", str(logs), "--set",
                         "BACKBONE=resnet50"])
    captured = capsys.readouterr()
    assert code == 1
    assert ("--set BACKBONE=resnet50 differs from the weights file's resnet18; using resnet50"
            in captured.out.splitlines())
    assert captured.err.startswith(f"mrcnn: error: {checkpoint} does not fit the model")
    assert "The file was trained with BACKBONE resnet18, the model has resnet50" in captured.err
    assert "--set BACKBONE=resnet18, or leave out a --set BACKBONE" in captured.err
