"""Tests for mrcnn/config.py: Matterport defaults, computed attributes, files, validation."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from mrcnn.config import Config, ConfigError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SmallConfig(Config):
    NAME = "small"
    NUM_CLASSES = 1 + 3
    IMAGES_PER_GPU = 3
    GPU_COUNT = 2
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 256


def fake_backbone(input_image, stage5=False, train_bn=None):
    """Stand-in for a custom backbone graph function (only its identity matters here)."""
    return [input_image] * 5


def fake_backbone_shapes(image_shape):
    return np.array([[image_shape[0] // s, image_shape[1] // s] for s in (4, 8, 16, 32, 64)])


def make(**attrs):
    """A Config subclass with these class attributes (NUM_CLASSES 2 unless given), instantiated."""
    attrs.setdefault("NUM_CLASSES", 2)
    return type("TestConfig", (Config,), attrs)()


# --------------------------------------------------------------------------- defaults
MATTERPORT_DEFAULTS = {
    "NAME": None, "GPU_COUNT": 1, "IMAGES_PER_GPU": 2, "STEPS_PER_EPOCH": 1000,
    "VALIDATION_STEPS": 50, "BACKBONE": "resnet101", "COMPUTE_BACKBONE_SHAPE": None,
    "BACKBONE_STRIDES": [4, 8, 16, 32, 64], "FPN_CLASSIF_FC_LAYERS_SIZE": 1024,
    "TOP_DOWN_PYRAMID_SIZE": 256, "NUM_CLASSES": 1, "RPN_ANCHOR_SCALES": (32, 64, 128, 256, 512),
    "RPN_ANCHOR_RATIOS": [0.5, 1, 2], "RPN_NMS_THRESHOLD": 0.7,
    "RPN_TRAIN_ANCHORS_PER_IMAGE": 256, "PRE_NMS_LIMIT": 6000, "POST_NMS_ROIS_TRAINING": 2000,
    "POST_NMS_ROIS_INFERENCE": 1000, "USE_MINI_MASK": True, "MINI_MASK_SHAPE": (56, 56),
    "IMAGE_RESIZE_MODE": "square", "IMAGE_MIN_DIM": 800, "IMAGE_MAX_DIM": 1024,
    "IMAGE_MIN_SCALE": 0, "IMAGE_CHANNEL_COUNT": 3, "TRAIN_ROIS_PER_IMAGE": 200,
    "ROI_POSITIVE_RATIO": 0.33, "POOL_SIZE": 7, "MASK_POOL_SIZE": 14, "MASK_SHAPE": [28, 28],
    "MAX_GT_INSTANCES": 100, "DETECTION_MAX_INSTANCES": 100, "DETECTION_MIN_CONFIDENCE": 0.7,
    "DETECTION_NMS_THRESHOLD": 0.3, "LEARNING_RATE": 0.001, "LEARNING_MOMENTUM": 0.9,
    "WEIGHT_DECAY": 0.0001,
    "LOSS_WEIGHTS": {"rpn_class_loss": 1., "rpn_bbox_loss": 1., "mrcnn_class_loss": 1.,
                     "mrcnn_bbox_loss": 1., "mrcnn_mask_loss": 1.},
    "USE_RPN_ROIS": True, "TRAIN_BN": False, "GRADIENT_CLIP_NORM": 5.0,
}


@pytest.mark.parametrize("name", sorted(MATTERPORT_DEFAULTS))
def test_matterport_defaults(name):
    value = getattr(Config, name)
    assert value == MATTERPORT_DEFAULTS[name]
    assert type(value) is type(MATTERPORT_DEFAULTS[name])      # tuples stay tuples, lists lists


def test_array_defaults_and_new_attributes():
    assert isinstance(Config.MEAN_PIXEL, np.ndarray)
    np.testing.assert_array_equal(Config.MEAN_PIXEL, [123.7, 116.8, 103.9])
    np.testing.assert_array_equal(Config.RPN_BBOX_STD_DEV, [0.1, 0.1, 0.2, 0.2])
    np.testing.assert_array_equal(Config.BBOX_STD_DEV, [0.1, 0.1, 0.2, 0.2])
    assert Config.RPN_ANCHOR_STRIDE == 2          # Matterport: 1 (documented difference)
    assert Config.MIXED_PRECISION is None


# --------------------------------------------------------------------------- computed attributes
def test_computed_attributes_square_mode():
    config = SmallConfig()
    assert config.BATCH_SIZE == 6                          # 3 images per GPU * 2 GPUs
    np.testing.assert_array_equal(config.IMAGE_SHAPE, [256, 256, 3])     # MAX_DIM square
    assert isinstance(config.IMAGE_SHAPE, np.ndarray)
    assert config.IMAGE_META_SIZE == 16                    # 1 + 3 + 3 + 4 + 1 + 4 classes


def test_computed_image_shape_crop_mode_uses_min_dim():
    config = make(IMAGE_RESIZE_MODE="crop", IMAGE_MIN_DIM=192, IMAGE_MAX_DIM=1024)
    np.testing.assert_array_equal(config.IMAGE_SHAPE, [192, 192, 3])


def test_grayscale_config():
    config = make(IMAGE_CHANNEL_COUNT=1, MEAN_PIXEL=np.array([120.0]))
    np.testing.assert_array_equal(config.IMAGE_SHAPE, [1024, 1024, 1])


def test_instance_attributes_stay_plain_and_settable():
    config = SmallConfig()
    config.IMAGES_PER_GPU = 5
    config.DETECTION_MIN_CONFIDENCE = 0.9
    assert config.IMAGES_PER_GPU == 5 and config.DETECTION_MIN_CONFIDENCE == 0.9
    assert config.BATCH_SIZE == 6       # as Matterport: not recomputed by a plain assignment
    assert SmallConfig.IMAGES_PER_GPU == 3
    config.update()                     # recomputes
    assert config.BATCH_SIZE == 10      # 5 * 2


def test_subclass_values_as_tuples_and_arrays():
    config = make(MEAN_PIXEL=(1.0, 2.0, 3.0), MASK_SHAPE=(28, 28),
                  BACKBONE_STRIDES=np.array([4, 8, 16, 32, 64]), RPN_ANCHOR_RATIOS=(0.5, 1, 2))
    d = config.to_dict()
    assert d["MEAN_PIXEL"] == [1.0, 2.0, 3.0]
    assert d["MASK_SHAPE"] == [28, 28]
    assert d["BACKBONE_STRIDES"] == [4, 8, 16, 32, 64]


def test_subclass_with_own_init_keeps_working():
    class ArgConfig(Config):
        def __init__(self, num_classes):
            self.NUM_CLASSES = num_classes
            super().__init__()
    assert ArgConfig(5).IMAGE_META_SIZE == 17          # 12 + 5


# --------------------------------------------------------------------------- display / to_dict
def test_display_prints_upper_case_non_callables(capsys):
    config = make(BACKBONE=staticmethod(fake_backbone), COMPUTE_BACKBONE_SHAPE=staticmethod(
        fake_backbone_shapes))
    config.display()
    out = capsys.readouterr().out
    assert out.startswith("\nConfigurations:\n")
    assert "{:30} {}\n".format("NUM_CLASSES", 2) in out
    assert "{:30} {}\n".format("BATCH_SIZE", 2) in out
    assert "BACKBONE " not in out            # callables are skipped, as Matterport
    assert "COMPUTE_BACKBONE_SHAPE" not in out
    assert "display" not in out and "to_dict" not in out


def test_to_dict_is_plain_json():
    config = SmallConfig()
    d = config.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert list(d) == sorted(d)
    assert d["IMAGE_SHAPE"] == [256, 256, 3] and d["BATCH_SIZE"] == 6
    assert d["IMAGE_META_SIZE"] == 16
    assert d["MEAN_PIXEL"] == [123.7, 116.8, 103.9]
    assert d["RPN_ANCHOR_SCALES"] == [32, 64, 128, 256, 512]
    assert set(MATTERPORT_DEFAULTS) < set(d)
    assert "MIXED_PRECISION" in d


def test_to_dict_callable_backbone_round_trip():
    config = make(BACKBONE=staticmethod(fake_backbone),
                  COMPUTE_BACKBONE_SHAPE=staticmethod(fake_backbone_shapes),
                  RPN_ANCHOR_SCALES=(8, 16))          # no length check with a custom backbone
    d = config.to_dict()
    assert d["BACKBONE"] == "{}:fake_backbone".format(__name__)
    assert d["COMPUTE_BACKBONE_SHAPE"] == "{}:fake_backbone_shapes".format(__name__)
    restored = Config.from_dict(d)
    assert restored.BACKBONE is fake_backbone
    assert restored.COMPUTE_BACKBONE_SHAPE is fake_backbone_shapes


def test_to_dict_function_in_class_body_is_written_by_its_function():
    class BodyConfig(Config):
        NUM_CLASSES = 2

        def BACKBONE(self, input_image, stage5=False, train_bn=None):
            return input_image

        COMPUTE_BACKBONE_SHAPE = staticmethod(fake_backbone_shapes)
    assert BodyConfig().to_dict()["BACKBONE"] == \
        "{}:test_to_dict_function_in_class_body_is_written_by_its_function.<locals>." \
        "BodyConfig.BACKBONE".format(__name__)


def test_lambda_backbone_cannot_be_restored():
    config = make(BACKBONE=staticmethod(lambda x, stage5=False, train_bn=None: x),
                  COMPUTE_BACKBONE_SHAPE=staticmethod(fake_backbone_shapes))
    with pytest.raises(ConfigError, match="BACKBONE.*lambda"):
        Config.from_dict(config.to_dict())


# --------------------------------------------------------------------------- from_dict
def test_from_dict_round_trip_restores_types():
    config = SmallConfig()
    restored = SmallConfig.from_dict(config.to_dict())
    assert type(restored) is SmallConfig
    assert restored.to_dict() == config.to_dict()
    assert isinstance(restored.MEAN_PIXEL, np.ndarray) and restored.MEAN_PIXEL.dtype == np.float64
    assert isinstance(restored.RPN_BBOX_STD_DEV, np.ndarray)
    assert restored.MINI_MASK_SHAPE == (56, 56)
    assert isinstance(restored.IMAGE_SHAPE, np.ndarray)


def test_from_dict_applies_values_and_recomputes():
    config = Config.from_dict({"NUM_CLASSES": 5, "IMAGES_PER_GPU": 4, "IMAGE_MAX_DIM": 512})
    assert type(config) is Config
    assert config.BATCH_SIZE == 4                    # 4 * GPU_COUNT 1
    np.testing.assert_array_equal(config.IMAGE_SHAPE, [512, 512, 3])
    assert config.IMAGE_META_SIZE == 17              # 12 + 5
    assert config.LEARNING_RATE == 0.001             # defaults of Config for the rest


def test_from_dict_consistent_computed_keys_are_ignored():
    d = SmallConfig().to_dict()
    d["IMAGES_PER_GPU"] = 1
    d["BATCH_SIZE"] = 2                              # 1 * 2 GPUs: consistent
    assert SmallConfig.from_dict(d).BATCH_SIZE == 2


@pytest.mark.parametrize("key, value", [("BATCH_SIZE", 7), ("IMAGE_SHAPE", [512, 512, 3]),
                                        ("IMAGE_META_SIZE", 15)])
def test_from_dict_inconsistent_computed_key_raises(key, value):
    with pytest.raises(ConfigError, match=key + ".*computed"):
        SmallConfig.from_dict({key: value})


@pytest.mark.parametrize("key, suggestion", [("IMAGE_MAX_DIMS", "IMAGE_MAX_DIM"),
                                             ("learning_rate", "LEARNING_RATE")])
def test_from_dict_unknown_key_suggests_closest(key, suggestion):
    with pytest.raises(ConfigError, match="unknown config attribute '{}'.*Did you mean '{}'"
                       .format(key, suggestion)):
        SmallConfig.from_dict({key: 1})


def test_from_dict_base_instance_and_class():
    base = SmallConfig().update(NAME="tuned", LEARNING_RATE=0.02)
    config = Config.from_dict({"IMAGES_PER_GPU": 1}, base=base)
    assert type(config) is Config
    assert (config.NAME, config.LEARNING_RATE, config.NUM_CLASSES) == ("tuned", 0.02, 4)
    assert config.BATCH_SIZE == 2                    # 1 * SmallConfig's 2 GPUs
    config.LOSS_WEIGHTS["mrcnn_mask_loss"] = 3.0     # a copy, not the base's dict
    assert base.LOSS_WEIGHTS["mrcnn_mask_loss"] == 1.0
    from_class = Config.from_dict({}, base=SmallConfig)
    assert from_class.NAME == "small" and from_class.IMAGE_META_SIZE == 16
    with pytest.raises(TypeError, match="base"):
        Config.from_dict({}, base={"NUM_CLASSES": 3})


def test_from_dict_validates():
    with pytest.raises(ConfigError, match="from_dict\\(\\): NUM_CLASSES is 1"):
        SmallConfig.from_dict({"NUM_CLASSES": 1})
    with pytest.raises(ConfigError, match="expected a mapping"):
        SmallConfig.from_dict([("NUM_CLASSES", 3)])


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("ext", [".json", ".yaml", ".yml"])
def test_save_and_from_file_round_trip(tmp_path, ext):
    config = SmallConfig().update(MEAN_PIXEL=[1.5, 2.5, 3.5], MIXED_PRECISION="mixed_bfloat16")
    path = config.save(str(tmp_path / "sub" / ("config" + ext)))
    restored = SmallConfig.from_file(path)
    assert restored.to_dict() == config.to_dict()
    assert isinstance(restored.MEAN_PIXEL, np.ndarray)


def test_from_file_empty_yaml_gives_class_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert SmallConfig.from_file(str(path)).to_dict() == SmallConfig().to_dict()


def test_from_file_partial_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("NUM_CLASSES: 3\nLEARNING_RATE: 1.0e-2\nMEAN_PIXEL: [10, 20, 30]\n")
    config = Config.from_file(str(path))
    assert config.NUM_CLASSES == 3 and config.LEARNING_RATE == 0.01
    np.testing.assert_array_equal(config.MEAN_PIXEL, [10.0, 20.0, 30.0])
    assert config.MEAN_PIXEL.dtype == np.float64


def test_from_file_errors_name_the_file(tmp_path):
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"NUM_CLASSES": 3, "IMAGE_MAX_DIMS": 512}))
    with pytest.raises(ConfigError, match="unknown.json: unknown config attribute "
                       "'IMAGE_MAX_DIMS'. Did you mean 'IMAGE_MAX_DIM'"):
        Config.from_file(str(unknown))
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("NUM_CLASSES: 3\nIMAGE_MAX_DIM: 1000\n")
    with pytest.raises(ConfigError, match="invalid.yaml.*IMAGE_MAX_DIM.*960 or 1024"):
        Config.from_file(str(invalid))
    not_mapping = tmp_path / "list.yaml"
    not_mapping.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping.*got a list"):
        Config.from_file(str(not_mapping))
    broken = tmp_path / "broken.json"
    broken.write_text("{NUM_CLASSES: ")
    with pytest.raises(ConfigError, match="broken.json.*not valid JSON"):
        Config.from_file(str(broken))
    with pytest.raises(ConfigError, match="cannot read"):
        Config.from_file(str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=r"\.json, \.yaml or \.yml"):
        Config.from_file(str(tmp_path / "config.txt"))
    with pytest.raises(ConfigError, match=r"\.json, \.yaml or \.yml"):
        SmallConfig().save(str(tmp_path / "config.ini"))


# --------------------------------------------------------------------------- update / overrides
def test_update_recomputes_and_returns_self():
    config = SmallConfig()
    assert config.update(IMAGES_PER_GPU=4, NUM_CLASSES=6) is config
    assert config.BATCH_SIZE == 8 and config.IMAGE_META_SIZE == 18      # 4 * 2; 12 + 6


def test_update_invalid_value_leaves_config_unchanged():
    config = SmallConfig()
    before = config.to_dict()
    with pytest.raises(ConfigError, match="GPU_COUNT is 0"):
        config.update(IMAGES_PER_GPU=4, GPU_COUNT=0)
    assert config.to_dict() == before
    assert "IMAGES_PER_GPU" not in vars(config)     # still the class attribute
    with pytest.raises(ConfigError, match="unknown config attribute 'IMAGE_PER_GPU'"):
        config.update(IMAGE_PER_GPU=4)


def test_apply_overrides_parses_yaml_values():
    config = SmallConfig().apply_overrides([
        "IMAGES_PER_GPU=4", "LEARNING_RATE=1e-3", "MEAN_PIXEL=[1, 2, 3]",
        "MIXED_PRECISION=mixed_bfloat16", "NAME = exp1", "TRAIN_BN=null",
        "MINI_MASK_SHAPE=[28, 28]",
        "LOSS_WEIGHTS={rpn_class_loss: 1, rpn_bbox_loss: 1, mrcnn_class_loss: 1, "
        "mrcnn_bbox_loss: 1, mrcnn_mask_loss: 2}"])
    assert config.IMAGES_PER_GPU == 4 and config.BATCH_SIZE == 8
    assert config.LEARNING_RATE == 0.001 and isinstance(config.LEARNING_RATE, float)
    np.testing.assert_array_equal(config.MEAN_PIXEL, [1.0, 2.0, 3.0])
    assert config.MEAN_PIXEL.dtype == np.float64
    assert config.MIXED_PRECISION == "mixed_bfloat16" and config.NAME == "exp1"
    assert config.TRAIN_BN is None
    assert config.MINI_MASK_SHAPE == (28, 28)
    assert config.LOSS_WEIGHTS["mrcnn_mask_loss"] == 2


@pytest.mark.parametrize("item, message", [
    ("IMAGES_PER_GPU", "KEY=VALUE"),
    ("LEARNING_RATE=fast", "LEARNING_RATE must be a number"),
    ("MEAN_PIXEL=[1, 2", "cannot parse"),
    ("MAX_INSTANCES=3", "Did you mean 'MAX_GT_INSTANCES'"),
])
def test_apply_overrides_errors(item, message):
    config = SmallConfig()
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        config.apply_overrides([item])
    assert config.to_dict() == SmallConfig().to_dict()


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("attrs, message", [
    ({"NUM_CLASSES": 1}, "NUM_CLASSES is 1 .*background.*1 \\+ 1"),
    ({"NUM_CLASSES": 0}, "NUM_CLASSES is 0"),
    ({"IMAGE_MAX_DIM": 1000}, "IMAGE_MAX_DIM is 1000 .*multiple of 64.*960 or 1024"),
    ({"IMAGE_MAX_DIM": 32}, "IMAGE_MAX_DIM is 32 .*nearest valid values: 64$"),
    ({"IMAGE_RESIZE_MODE": "crop", "IMAGE_MIN_DIM": 100},
     "IMAGE_MIN_DIM is 100 .*64 or 128"),
    ({"IMAGE_RESIZE_MODE": "crop", "IMAGE_MIN_DIM": 128, "IMAGE_MAX_DIM": 200},
     "IMAGE_MAX_DIM is 200 .*192 or 256"),
    ({"IMAGE_RESIZE_MODE": "fit"}, "IMAGE_RESIZE_MODE is 'fit'.*'none', 'square', 'pad64', 'crop'"),
    ({"IMAGE_CHANNEL_COUNT": 1},
     "MEAN_PIXEL is \\[123.7, 116.8, 103.9\\].*IMAGE_CHANNEL_COUNT is 1"),
    ({"MEAN_PIXEL": 120.0}, "MEAN_PIXEL"),
    ({"GPU_COUNT": 0}, "GPU_COUNT is 0 but must be at least 1"),
    ({"IMAGES_PER_GPU": 0}, "IMAGES_PER_GPU is 0 but must be at least 1"),
    ({"IMAGES_PER_GPU": "2"}, "IMAGES_PER_GPU is '2' but must be an integer"),
    ({"IMAGES_PER_GPU": 2.0}, "IMAGES_PER_GPU is 2.0 but must be an integer"),
    ({"MASK_SHAPE": [56, 56]}, "MASK_SHAPE is \\[56, 56\\].*MASK_POOL_SIZE \\(14\\).*\\[28, 28\\]"),
    ({"MASK_POOL_SIZE": 7}, "MASK_SHAPE is \\[28, 28\\].*must be \\[14, 14\\]"),
    ({"MIXED_PRECISION": "float16"}, "MIXED_PRECISION is 'float16'.*'mixed_float16'"),
    ({"RPN_ANCHOR_STRIDE": 0}, "RPN_ANCHOR_STRIDE is 0"),
    ({"RPN_ANCHOR_SCALES": (32, 64, 128, 256)}, "RPN_ANCHOR_SCALES.*BACKBONE_STRIDES.*same length"),
    ({"TRAIN_ROIS_PER_IMAGE": 0}, "TRAIN_ROIS_PER_IMAGE is 0"),
    ({"ROI_POSITIVE_RATIO": 0}, "ROI_POSITIVE_RATIO is 0.0 but must be in \\(0, 1\\]"),
    ({"ROI_POSITIVE_RATIO": 1.5}, "ROI_POSITIVE_RATIO is 1.5"),
    ({"DETECTION_MIN_CONFIDENCE": -0.1}, "DETECTION_MIN_CONFIDENCE is -0.1 .*\\[0, 1\\]"),
    ({"DETECTION_MIN_CONFIDENCE": 1.1}, "DETECTION_MIN_CONFIDENCE is 1.1"),
    ({"LOSS_WEIGHTS": {"rpn_class_loss": 1.}}, "LOSS_WEIGHTS has keys \\['rpn_class_loss'\\]"),
    ({"LOSS_WEIGHTS": dict(MATTERPORT_DEFAULTS["LOSS_WEIGHTS"], rpn_mask_loss=1.)},
     "LOSS_WEIGHTS has keys"),
    ({"LOSS_WEIGHTS": dict(MATTERPORT_DEFAULTS["LOSS_WEIGHTS"], mrcnn_mask_loss="x")},
     "LOSS_WEIGHTS\\['mrcnn_mask_loss'\\]"),
    ({"BACKBONE": "resnet152"},
     "BACKBONE is 'resnet152'.*'resnet50', 'resnet101', 'resnet18', 'resnet34'"),
    ({"BACKBONE": staticmethod(fake_backbone)}, "COMPUTE_BACKBONE_SHAPE"),
])
def test_validation_errors(attrs, message):
    with pytest.raises(ConfigError, match=message):
        make(**attrs)


def test_config_error_is_value_error():
    assert issubclass(ConfigError, ValueError)


def test_validation_reports_every_problem_at_once():
    with pytest.raises(ConfigError) as info:
        make(NUM_CLASSES=1, GPU_COUNT=0, IMAGES_PER_GPU=0, IMAGE_MAX_DIM=1000,
             MASK_POOL_SIZE=7, DETECTION_MIN_CONFIDENCE=1.5)
    error = info.value
    assert isinstance(error, ValueError)
    assert len(error.problems) == 6
    for message in ("NUM_CLASSES is 1 .*background", "GPU_COUNT is 0 but must be at least 1",
                    "IMAGES_PER_GPU is 0 but must be at least 1",
                    "IMAGE_MAX_DIM is 1000 .*960 or 1024", "MASK_SHAPE is \\[28, 28\\]",
                    "DETECTION_MIN_CONFIDENCE is 1.5"):
        assert sum(bool(re.search(message, p)) for p in error.problems) == 1, message
        assert re.search(message, str(error)), message
    assert str(error).startswith("6 problems in the configuration:")
    # A problem alone keeps its plain message; a bad value that other checks depend on is
    # reported once (not again as a MEAN_PIXEL problem).
    with pytest.raises(ConfigError) as info:
        make(IMAGE_CHANNEL_COUNT="3")
    assert info.value.problems == ["IMAGE_CHANNEL_COUNT is '3' but must be an integer"]
    assert str(info.value) == "IMAGE_CHANNEL_COUNT is '3' but must be an integer"


def test_config_error_of_one_message():
    error = ConfigError("NAME is bad")
    assert error.problems == ["NAME is bad"] and str(error) == "NAME is bad"
    assert str(ConfigError(["A is bad", "B is bad"])) == \
        "2 problems in the configuration:\n  - A is bad\n  - B is bad"


def test_base_config_needs_num_classes():
    with pytest.raises(ValueError, match="NUM_CLASSES is 1 .*background"):
        Config()


@pytest.mark.parametrize("attrs", [
    {"ROI_POSITIVE_RATIO": 1.0},
    {"DETECTION_MIN_CONFIDENCE": 0},
    {"DETECTION_MIN_CONFIDENCE": 1},
    {"IMAGE_MAX_DIM": 64, "IMAGE_MIN_DIM": 50},               # MIN_DIM unchecked outside crop
    {"IMAGE_RESIZE_MODE": "crop", "IMAGE_MIN_DIM": 256, "IMAGE_MAX_DIM": 512},
    {"IMAGE_MAX_DIM": np.int64(512), "GPU_COUNT": np.int32(2)},
    {"BACKBONE": "resnet50", "MASK_POOL_SIZE": 7, "MASK_SHAPE": (14, 14)},
    {"BACKBONE": staticmethod(fake_backbone),
     "COMPUTE_BACKBONE_SHAPE": staticmethod(fake_backbone_shapes),
     "RPN_ANCHOR_SCALES": (8, 16)},
])
def test_valid_edge_values(attrs):
    config = make(**attrs)
    config.validate()


def test_config_module_does_not_import_tensorflow():
    code = ("import sys, mrcnn.config; "
            "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


# ------------------------------------------------------------ resize modes (rectangular images)
@pytest.mark.parametrize("attrs, message", [
    ({"IMAGE_RESIZE_MODE": "scale_pad64", "IMAGE_MIN_DIM": 512, "IMAGE_MAX_DIM": 256},
     r"IMAGE_MIN_DIM \(512\) is larger than IMAGE_MAX_DIM \(256\).*'scale_pad64'"),
    ({"IMAGE_RESIZE_MODE": "pad64", "IMAGE_MIN_DIM": 800},
     r"IMAGE_MIN_DIM is 800 .*multiple of 64.* in IMAGE_RESIZE_MODE 'pad64'.*768 or 832"),
])
def test_rectangular_mode_settings_are_checked(attrs, message):
    with pytest.raises(ConfigError, match=message):
        type("Bad", (Config,), {"NUM_CLASSES": 2, **attrs})()


def test_square_keeps_matterports_min_dim_above_max_dim():
    # Old configs set only IMAGE_MAX_DIM (IMAGE_MIN_DIM stays 800): square mode accepts it.
    config = type("Small", (Config,), {"NUM_CLASSES": 2, "IMAGE_MAX_DIM": 256})()
    assert list(config.IMAGE_SHAPE) == [256, 256, 3]
    config = type("Rect", (Config,), {"NUM_CLASSES": 2, "IMAGE_RESIZE_MODE": "scale_pad64",
                                      "IMAGE_MIN_DIM": 800, "IMAGE_MAX_DIM": 1024})()
    assert list(config.IMAGE_SHAPE) == [1024, 1024, 3]   # the largest input it can feed
