"""Layer presets: each freezes and unfreezes exactly the right layers."""
import re

import pytest

from mrcnn.training.presets import LAYER_REGEX, layer_regex, set_trainable


def trainable_names(keras_model):
    """Names of trainable layers with weights, inside rpn_model and TimeDistributed too."""
    names = set()
    for layer in keras_model.layers:
        if layer.name == "rpn_model":
            names |= {f"rpn_model/{s.name}" for s in layer.layers if s.weights and s.trainable}
        elif layer.weights and layer.trainable and getattr(layer, "layer", layer).trainable:
            names.add(layer.name)
    return names


def weighted_names(keras_model):
    names = set()
    for layer in keras_model.layers:
        if layer.name == "rpn_model":
            names |= {f"rpn_model/{s.name}" for s in layer.layers if s.weights}
        elif layer.weights:
            names.add(layer.name)
    return names


RPN = {"rpn_model/rpn_conv_shared", "rpn_model/rpn_class_raw", "rpn_model/rpn_bbox_pred"}


@pytest.mark.parametrize("preset,first_stage", [("heads", 6), ("5+", 5), ("4+", 4), ("3+", 3),
                                                ("all", 1)])
def test_presets(training_model, preset, first_stage):
    km = training_model.keras_model
    set_trainable(km, layer_regex(preset), train_bn=False)
    trained = trainable_names(km)
    for name in weighted_names(km):
        if name.startswith("rpn_model/") or name.startswith(("fpn_", "mrcnn_")):
            expected = "bn" not in name      # heads train in every preset; BN stays frozen
        elif name in ("conv1", "bn_conv1"):
            expected = preset == "all" and name == "conv1"
        else:
            stage = int(re.match(r"(res|bn)(\d)", name).group(2))
            expected = stage >= first_stage and name.startswith("res")
        assert (name in trained) == expected, (preset, name)
    assert RPN <= trained
    # TimeDistributed wrappers and their inner layer agree.
    td = km.get_layer("mrcnn_class_conv1")
    assert td.trainable and td.layer.trainable
    # Variables the optimizer will see.
    names = {v.path for v in km.trainable_weights}
    assert any("rpn_conv_shared" in n for n in names)
    assert not any("gamma" in n for n in names)


def test_train_bn_true_trains_batch_norm(training_model):
    km = training_model.keras_model
    set_trainable(km, layer_regex("all"), train_bn=None)
    assert km.get_layer("bn_conv1").trainable and km.get_layer("mrcnn_mask_bn1").layer.trainable
    set_trainable(km, layer_regex("heads"), train_bn=None)
    assert not km.get_layer("bn_conv1").trainable


def test_regex_and_bad_preset():
    assert layer_regex("heads") == LAYER_REGEX["heads"]
    assert layer_regex(r"mrcnn_mask.*") == r"mrcnn_mask.*"
    with pytest.raises(ValueError, match="neither a preset"):
        layer_regex("(unclosed")
