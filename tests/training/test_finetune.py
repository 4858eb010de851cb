"""Fine-tuning helpers: loading an 81-class file into a 4-class model leaves exactly the head
layers out, the epoch and log folder start afresh unless the file is this model's checkpoint, and
the heads -> 4+ -> all stages have cumulative epochs and skip what a resumed model has done."""
import os
import shutil

import h5py
import numpy as np
import pytest

from mrcnn.training.finetune import (
    LoadReport,
    Stage,
    finetune_stages,
    load_for_finetuning,
    train_stages,
)
from mrcnn.weights import HEAD_LAYERS, read_weights

#: The head layers that own weights (mrcnn_bbox is a reshape): these depend on NUM_CLASSES.
WEIGHTED_HEADS = ["mrcnn_bbox_fc", "mrcnn_class_logits", "mrcnn_mask"]   # model order


@pytest.fixture(scope="module")
def coco_file(tmp_path_factory):
    """The by-name file of a tiny 81-class model (the shape of Matterport's COCO weights)."""
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config
    folder = tmp_path_factory.mktemp("coco")
    model = MaskRCNN("inference", tiny_config(NUM_CLASSES=81), str(folder))
    path = str(folder / "mask_rcnn_coco.h5")
    model.save_weights(path)
    return path


def weights_of(model, name):
    return [v.numpy() for v in model.keras_model.get_layer(name).weights]


def test_an_81_class_file_loads_all_but_the_heads(training_model, coco_file, capsys):
    heads_before = {name: weights_of(training_model, name) for name in WEIGHTED_HEADS}
    report = load_for_finetuning(training_model, coco_file)
    assert isinstance(report, LoadReport)
    assert report.excluded == WEIGHTED_HEADS
    assert set(WEIGHTED_HEADS) < set(HEAD_LAYERS)
    assert report.not_in_file == []
    assert "conv1" in report.loaded and "rpn_model" in report.loaded
    assert not set(report.loaded) & set(WEIGHTED_HEADS)
    file_weights = read_weights(coco_file)
    for got, expected in zip(weights_of(training_model, "res5c_branch2c"),
                             file_weights["res5c_branch2c"]):
        np.testing.assert_array_equal(got, expected)
    for name, before in heads_before.items():             # left at their initial values
        for got, expected in zip(weights_of(training_model, name), before):
            np.testing.assert_array_equal(got, expected)
    assert "Excluded 3 layers (other shapes in the file, or asked): mrcnn_bbox_fc, " \
           "mrcnn_class_logits, mrcnn_mask" in capsys.readouterr().out
    # Not a checkpoint of this model: training starts at epoch 0 in a new folder.
    assert training_model.epoch == 0
    assert os.path.basename(training_model.log_dir).startswith("tiny")


def test_exclude_adds_layers_and_must_be_a_list(training_model, coco_file):
    report = load_for_finetuning(training_model, coco_file, exclude=["mrcnn_mask_conv1"],
                                 verbose=0)
    assert sorted(report.excluded) == sorted(["mrcnn_mask_conv1"] + WEIGHTED_HEADS)
    with pytest.raises(TypeError, match="exclude must be a list of layer names"):
        load_for_finetuning(training_model, coco_file, exclude="mrcnn_mask")


def test_layers_missing_from_the_file_are_reported(training_model, coco_file, tmp_path):
    partial = str(tmp_path / "backbone_only.h5")
    shutil.copy(coco_file, partial)
    with h5py.File(partial, "r+") as f:        # drop the FPN's top layer, as in a backbone file
        del f["fpn_c5p5"]
        f.attrs["layer_names"] = [n for n in f.attrs["layer_names"] if n != b"fpn_c5p5"]
    report = load_for_finetuning(training_model, partial, verbose=0)
    assert report.not_in_file == ["fpn_c5p5"]
    assert "fpn_c5p5" not in report.loaded and "fpn_c4p4" in report.loaded


def test_own_checkpoint_resumes_and_others_start_afresh(training_model, coco_file, tmp_path):
    folder = tmp_path / "tiny20260101T0000"
    folder.mkdir()
    own = str(folder / "mask_rcnn_tiny_0003.h5")
    training_model.save_weights(own)
    report = load_for_finetuning(training_model, own, verbose=0)
    assert report.excluded == []
    assert training_model.epoch == 3                          # resumes after epoch 3
    assert os.path.basename(training_model.log_dir) == "tiny20260101T0000"
    # The same name pattern, but heads of another class count: a new model, epoch 0.
    other = str(folder / "mask_rcnn_tiny_0005.h5")
    shutil.copy(coco_file, other)
    load_for_finetuning(training_model, other, verbose=0)
    assert training_model.epoch == 0
    assert os.path.basename(training_model.log_dir) != "tiny20260101T0000"


def test_finetune_stages_have_cumulative_epochs():
    # heads 2 epochs (1..2), 4+ 1 epoch (3), all 1 epoch (4) at a tenth of 0.01.
    assert finetune_stages(2, 1, 1, 0.01) == [Stage("heads", 2, 0.01), Stage("4+", 3, 0.01),
                                              Stage("all", 4, pytest.approx(0.001))]
    assert finetune_stages(0, 0, 3, 0.02) == [Stage("all", 3, pytest.approx(0.002))]
    assert finetune_stages(0, 0, 0, 0.02) == []


@pytest.mark.parametrize("counts, message", [
    ((-1, 0, 0), "heads_epochs must be an int >= 0, got -1"),
    ((1, 2.5, 0), "four_plus_epochs must be an int >= 0, got 2.5"),
    ((1, 0, True), "all_epochs must be an int >= 0, got True"),
])
def test_finetune_stages_rejects_bad_counts(counts, message):
    with pytest.raises(ValueError, match=message):
        finetune_stages(*counts, 0.01)
    with pytest.raises(ValueError, match="learning_rate must be a positive number, got 0"):
        finetune_stages(1, 1, 1, 0)


class RecordingModel:
    """Stands in for MaskRCNN in train_stages: records train() calls, reaches the target."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.calls = []

    def train(self, train_dataset, val_dataset, learning_rate, epochs, layers, **kwargs):
        self.calls.append((layers, self.epoch, epochs, learning_rate, kwargs))
        self.epoch = epochs
        return layers


def test_train_stages_continues_a_resumed_schedule(capsys):
    model = RecordingModel(epoch=3)                  # resumed after epoch 3 of 2 + 2 + 1
    stages = finetune_stages(2, 2, 1, 0.01)
    histories = train_stages(model, "train", "val", stages, seed=5)
    assert [(layers, start, end) for layers, start, end, _, _ in model.calls] == [
        ("4+", 3, 4), ("all", 4, 5)]
    assert model.calls[0][4] == {"seed": 5, "verbose": 1}
    assert histories == ["4+", "all"]
    output = capsys.readouterr().out
    assert "Stage 'heads' (up to epoch 2): done already, the model is at epoch 3" in output
    assert "Stage '4+': epochs 4..4, learning rate 0.01" in output


def test_train_stages_needs_increasing_targets():
    with pytest.raises(ValueError, match=r"increasing cumulative epochs, got \[3, 2\]"):
        train_stages(RecordingModel(0), None, None, [("heads", 3, 0.1), ("all", 2, 0.01)])
