"""By-name HDF5 weights: round trips between the graphs, Keras-2 files, exclude, clear errors."""
import h5py
import numpy as np
import pytest

from mrcnn.weights import (
    HEAD_LAYERS,
    WeightsFileError,
    excluded_for_num_classes,
    load_weights,
    read_weights,
    save_weights,
)


@pytest.fixture(scope="module")
def inference_model(tmp_path_factory):
    """This module's own model: its tests overwrite the weights."""
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config
    return MaskRCNN("inference", tiny_config(), tmp_path_factory.mktemp("logs"))


def weights_of(model, name):
    return [v.numpy() for v in model.keras_model.get_layer(name).weights]


def write_keras2_file(path, layers, under_model_weights=False, extra_attrs=True):
    """Write ``{layer: {weight_name: array}}`` in the Keras 2.0.8 layout, by hand."""
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if under_model_weights else f
        root.attrs["layer_names"] = [name.encode() for name in layers]
        if extra_attrs:
            root.attrs["backend"] = b"tensorflow"
            root.attrs["keras_version"] = b"2.0.8"
        for name, weights in layers.items():
            g = root.create_group(name)
            g.attrs["weight_names"] = [w.encode() for w in weights]
            for w, value in weights.items():
                g.create_dataset(w, data=value)


def randomize(model, rng):
    """Distinct values in every weight (variances kept positive)."""
    for layer in model.keras_model.layers:
        for v in layer.weights:
            value = rng.normal(size=v.shape)
            if "variance" in v.name:
                value = np.abs(value) + 0.5
            v.assign(value.astype(v.dtype))


def test_round_trip_training_to_inference_is_bit_exact(inference_model, tmp_path, rng):
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config

    # Put recognizable values in a training model, save, load into inference, save again.
    training_model = MaskRCNN("training", tiny_config(), tmp_path)
    randomize(training_model, rng)
    path = tmp_path / "mask_rcnn_tiny_0001.h5"
    training_model.save_weights(path)
    assert inference_model.load_weights(path, by_name=True) is None     # as Matterport
    loaded = load_weights(inference_model.keras_model, path, by_name=True)
    assert "rpn_model" in loaded and "mrcnn_mask" in loaded and "conv1" in loaded
    for name in ["conv1", "bn_conv1", "rpn_model", "mrcnn_class_bn1", "mrcnn_mask", "fpn_p6"]:
        for a, b in zip(weights_of(training_model, name), weights_of(inference_model, name)):
            np.testing.assert_array_equal(a, b)
    path2 = tmp_path / "back.h5"
    inference_model.save_weights(path2)
    first, second = read_weights(path), read_weights(path2)
    assert set(first) == set(second)
    for name in first:
        for a, b in zip(first[name], second[name]):
            np.testing.assert_array_equal(a, b)


def test_saved_layout_is_keras2(inference_model, tmp_path):
    path = tmp_path / "w.h5"
    save_weights(inference_model.keras_model, path)
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        assert names[0] == "input_image" and "mrcnn_mask" in names
        assert [n.decode() for n in f["conv1"].attrs["weight_names"]] == \
            ["conv1/kernel:0", "conv1/bias:0"]
        assert [n.decode() for n in f["rpn_model"].attrs["weight_names"]] == [
            "rpn_conv_shared/kernel:0", "rpn_conv_shared/bias:0", "rpn_class_raw/kernel:0",
            "rpn_class_raw/bias:0", "rpn_bbox_pred/kernel:0", "rpn_bbox_pred/bias:0"]
        assert [n.decode() for n in f["mrcnn_class_bn1"].attrs["weight_names"]] == [
            "mrcnn_class_bn1/gamma:0", "mrcnn_class_bn1/beta:0",
            "mrcnn_class_bn1/moving_mean:0", "mrcnn_class_bn1/moving_variance:0"]
        assert f["conv1"]["conv1"]["kernel:0"].shape == (7, 7, 3, 64)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("under_model_weights", [False, True])
def test_hand_written_keras2_file_with_tf2_port_extras(inference_model, tmp_path, rng,
                                                       under_model_weights):
    km = inference_model.keras_model
    conv1 = km.get_layer("conv1")
    rpn = km.get_layer("rpn_model")
    kernel = rng.normal(size=conv1.kernel.shape).astype(np.float32)
    bias = rng.normal(size=conv1.bias.shape).astype(np.float32)
    rpn_values = {f"{sub.name}/{v.name}:0": rng.normal(size=v.shape).astype(np.float32)
                  for sub in rpn.layers for v in sub.weights}
    path = tmp_path / "keras2.h5"
    write_keras2_file(path, {
        "input_image": {},
        "conv1": {"conv1/kernel:0": kernel, "conv1/bias:0": bias},
        "rpn_model": rpn_values,
        # A TF2 port's extras: anchors as a variable, weightless op layers, a layer we lack.
        "anchors": {"anchors/Variable:0": np.zeros((1, 10, 4), np.float32)},
        "tf_op_layer_strided_slice": {},
        "add_loss": {},
        "some_other_layer": {"some_other_layer/kernel:0": np.zeros((3,), np.float32)},
    }, under_model_weights=under_model_weights)
    before = weights_of(inference_model, "fpn_p2")
    loaded = load_weights(inference_model.keras_model, path, by_name=True)
    assert sorted(loaded) == ["conv1", "rpn_model"]
    np.testing.assert_array_equal(conv1.kernel.numpy(), kernel)
    np.testing.assert_array_equal(conv1.bias.numpy(), bias)
    for value, v in zip(rpn_values.values(), rpn.weights):
        np.testing.assert_array_equal(v.numpy(), value)
    for a, b in zip(before, weights_of(inference_model, "fpn_p2")):
        np.testing.assert_array_equal(a, b)


def test_exclude_leaves_layers_untouched_and_mismatch_error_names_layers(
        inference_model, tmp_path, rng):
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config

    # Weights from a model with another class count (like COCO's 81 classes).
    other = MaskRCNN("inference", tiny_config(NUM_CLASSES=7), tmp_path)
    randomize(other, rng)
    path = tmp_path / "seven_classes.h5"
    other.save_weights(path)

    before = {name: weights_of(inference_model, name) for name in HEAD_LAYERS + ("conv1",)}
    with pytest.raises(WeightsFileError) as err:
        inference_model.load_weights(path, by_name=True)
    text = str(err.value)
    assert str(path) in text
    assert "mrcnn_class_logits: model [32x4, 4] vs file [32x7, 7]" in text
    assert "mrcnn_bbox_fc: model [32x16, 16] vs file [32x28, 28]" in text
    assert "mrcnn_mask: model [1x1x256x4, 4] vs file [1x1x256x7, 7]" in text
    assert ("exclude=['mrcnn_bbox', 'mrcnn_bbox_fc', 'mrcnn_class_logits', 'mrcnn_mask']"
            in text)
    # A failed load assigns nothing.
    np.testing.assert_array_equal(before["conv1"][0], weights_of(inference_model, "conv1")[0])

    loaded = load_weights(inference_model.keras_model, path, by_name=True,
                          exclude=list(HEAD_LAYERS))
    assert not set(HEAD_LAYERS) & set(loaded)
    for name in HEAD_LAYERS:
        for a, b in zip(before[name], weights_of(inference_model, name)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(weights_of(other, "conv1")[0],
                                  weights_of(inference_model, "conv1")[0])


def test_unknown_exclude_name(inference_model, tmp_path):
    path = tmp_path / "w.h5"
    inference_model.save_weights(path)
    with pytest.raises(WeightsFileError, match="mrcnn_klass_logits"):
        inference_model.load_weights(path, by_name=True, exclude=["mrcnn_klass_logits"])


def test_not_hdf5_empty_and_missing_files(inference_model, tmp_path):
    text = tmp_path / "weights.h5"
    text.write_text("this is not HDF5")
    with pytest.raises(WeightsFileError, match="not an HDF5 weights file"):
        inference_model.load_weights(text, by_name=True)
    empty = tmp_path / "empty.h5"
    write_keras2_file(empty, {"input_image": {}, "tf_op_layer_x": {}})
    with pytest.raises(WeightsFileError, match="holds no weights"):
        inference_model.load_weights(empty, by_name=True)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(WeightsFileError, match="no 'layer_names'"):
        inference_model.load_weights(plain, by_name=True)
    with pytest.raises(WeightsFileError, match="not found"):
        inference_model.load_weights(tmp_path / "nope.h5", by_name=True)
    unrelated = tmp_path / "unrelated.h5"
    write_keras2_file(unrelated, {"dense_7": {"dense_7/kernel:0": np.zeros((2, 2))}})
    with pytest.raises(WeightsFileError, match="No layer of"):
        inference_model.load_weights(unrelated, by_name=True)


def test_save_is_atomic(inference_model, tmp_path, monkeypatch):
    path = tmp_path / "mask_rcnn_tiny_0001.h5"
    inference_model.save_weights(path)
    good = path.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(h5py.Group, "create_dataset", broken)
    with pytest.raises(KeyboardInterrupt):
        inference_model.save_weights(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_layers_to_exclude_picks_the_layers_whose_shapes_differ(inference_model, tmp_path, rng):
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.weights import layers_to_exclude
    from tiny import tiny_config

    # A file from a 7-class model; the module's model has 4 classes. The class-dependent
    # layers with weights: logits [32 x 7] vs [32 x 4], bbox fc [32 x 28] vs [32 x 16], mask
    # [1 x 1 x 256 x 7] vs [.. x 4] (mrcnn_bbox is a weightless reshape).
    other = MaskRCNN("inference", tiny_config(NUM_CLASSES=7), tmp_path)
    randomize(other, rng)
    path = tmp_path / "seven_classes.h5"
    other.save_weights(path)
    expected = ["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask"]
    assert sorted(layers_to_exclude(path, inference_model)) == sorted(expected)
    assert layers_to_exclude(path, inference_model.keras_model) == \
        layers_to_exclude(path, inference_model)
    loaded = load_weights(inference_model.keras_model, path, by_name=True,
                          exclude=layers_to_exclude(path, inference_model))
    assert not set(expected) & set(loaded)
    np.testing.assert_array_equal(weights_of(other, "mrcnn_class_bn1")[0],
                                  weights_of(inference_model, "mrcnn_class_bn1")[0])
    # Same class count: nothing to exclude.
    same = tmp_path / "same.h5"
    inference_model.save_weights(same)
    assert layers_to_exclude(same, inference_model) == []
    with pytest.raises(TypeError, match="build MaskRCNN"):
        layers_to_exclude(same, tiny_config())
    with pytest.raises(WeightsFileError, match="not found"):
        layers_to_exclude(tmp_path / "nope.h5", inference_model)


def test_excluded_layers_by_arithmetic():
    shapes = {"conv1": [(7, 7, 3, 81), (81,)],          # last axis 81, but not a head layer
              "mrcnn_class_logits": [(1024, 81), (81,)],
              "mrcnn_bbox_fc": [(1024, 324), (324,)],     # 4 * 81 = 324
              "mrcnn_mask": [(1, 1, 256, 81), (81,)]}
    assert excluded_for_num_classes(shapes, 81) == []
    assert excluded_for_num_classes(shapes, 2) == ["mrcnn_class_logits", "mrcnn_bbox_fc",
                                                   "mrcnn_mask"]
    # Only the mask head of another width: 2 != 3 for the mask, 12 = 4 * 3 for the boxes.
    mixed = {"mrcnn_class_logits": [(8, 3), (3,)], "mrcnn_bbox_fc": [(8, 12), (12,)],
             "mrcnn_mask": [(1, 1, 4, 2), (2,)]}
    assert excluded_for_num_classes(mixed, 3) == ["mrcnn_mask"]
    # A bias alone of another width excludes the layer too.
    assert excluded_for_num_classes({"mrcnn_class_logits": [(8, 3), (4,)]}, 3) == [
        "mrcnn_class_logits"]
    assert excluded_for_num_classes({}, 3) == []
