"""mrcnn/training/speed.py: the CPU time forecast (arithmetic checked by hand) and the one line
MaskRCNN.train prints when a GPU-sized config meets a machine without a GPU."""
import pytest

from mrcnn.config import Config
from mrcnn.training import speed
from tiny import tiny_config


def config(**values):
    class C(Config):
        NAME = "hint"
        NUM_CLASSES = 2
    for key, value in values.items():
        setattr(C, key, value)
    return C()


def test_matterport_defaults_on_two_cores():
    # resnet101 (x1.27), 1024x1024, IMAGES_PER_GPU 2: 9.2 s * 2 * 1.27 = 23.368 s per step;
    # epoch: 1000 steps + 50 validation steps at 3.56 / 9.2 = 0.38696 of a step.
    defaults = config()
    assert speed.cpu_step_seconds(defaults, cores=2) == pytest.approx(23.368)
    assert speed.cpu_epoch_seconds(defaults, cores=2) == pytest.approx(
        23.368 * (1000 + 50 * 0.386957), rel=1e-5)


@pytest.mark.parametrize("values, cores, seconds", [
    # 512x512 is a quarter of the pixels, batch 1, ResNet50, twice the cores: 9.2 / 4 / 2
    ({"BACKBONE": "resnet50", "IMAGE_MIN_DIM": 512, "IMAGE_MAX_DIM": 512, "IMAGES_PER_GPU": 1},
     4, 1.15),
    # the measured mixed_bfloat16 step
    ({"BACKBONE": "resnet50", "IMAGES_PER_GPU": 1, "MIXED_PRECISION": "mixed_bfloat16"}, 2, 5.4),
    # resnet18 (x0.83), 256x256 (1/16), batch 4 on 1 core: 9.2 * 0.83 / 16 * 4 * 2
    ({"BACKBONE": "resnet18", "IMAGE_MIN_DIM": 256, "IMAGE_MAX_DIM": 256, "IMAGES_PER_GPU": 4},
     1, 3.818),
])
def test_step_scales_with_pixels_batch_backbone_precision_and_cores(values, cores, seconds):
    assert speed.cpu_step_seconds(config(**values), cores=cores) == pytest.approx(seconds)


def test_hint_only_without_gpu_and_for_long_epochs():
    line = speed.cpu_training_hint(config(), gpus=[], cores=2)
    assert "\n" not in line
    for words in ["No GPU found", "resnet101 at 1024x1024, batch 2", "roughly 23 s per step",
                  "2-core CPU", "about 6.6 h per epoch of 1000 steps", "rough estimate",
                  "set e.g. BACKBONE=resnet50 IMAGE_MIN_DIM=512 IMAGE_MAX_DIM=512 "
                  "IMAGES_PER_GPU=1 STEPS_PER_EPOCH=100 VALIDATION_STEPS=10 (mrcnn train: --set"]:
        assert words in line
    # Only the settings the config exceeds: 512 px ResNet50, batch 1, 2000 steps is 2.3 s per
    # step, 2000 * 2.3 s + 50 * 0.387 * 2.3 s = 1.28 h per epoch.
    big = config(BACKBONE="resnet50", IMAGE_MIN_DIM=512, IMAGE_MAX_DIM=512, IMAGES_PER_GPU=1,
                 STEPS_PER_EPOCH=2000)
    line = speed.cpu_training_hint(big, gpus=[], cores=2)
    assert "roughly 2.3 s per step" in line and "about 1.3 h per epoch of 2000 steps" in line
    assert line.endswith("set e.g. STEPS_PER_EPOCH=100 VALIDATION_STEPS=10 (mrcnn train: --set "
                         "...).")
    assert speed.cpu_training_hint(config(), gpus=["/physical_device:GPU:0"], cores=2) is None
    assert speed.cpu_training_hint(tiny_config(), gpus=[], cores=2) is None
    # 512x512 ResNet50 batch 1 with 100 steps: 2.3 s per step, about 4 min per epoch: no hint
    small = config(BACKBONE="resnet50", IMAGE_MIN_DIM=512, IMAGE_MAX_DIM=512, IMAGES_PER_GPU=1,
                   STEPS_PER_EPOCH=100, VALIDATION_STEPS=10)
    assert speed.cpu_training_hint(small, gpus=[], cores=2) is None


def test_hint_suggests_only_what_shrinks_the_run(monkeypatch):
    # resnet18 is never told to become a resnet50; with nothing left to shrink the hint says so.
    monkeypatch.setattr(speed, "HINT_EPOCH_SECONDS", 0)
    small = config(BACKBONE="resnet18", IMAGE_MIN_DIM=512, IMAGE_MAX_DIM=512, IMAGES_PER_GPU=1,
                   STEPS_PER_EPOCH=100, VALIDATION_STEPS=10)
    assert speed.cpu_settings_for(small) == ""
    assert speed.cpu_training_hint(small, gpus=[], cores=2).endswith(
        "set fewer STEPS_PER_EPOCH or smaller images.")
    assert speed.cpu_settings_for(config(IMAGE_MAX_DIM=640, IMAGE_MIN_DIM=512)) == \
        "BACKBONE=resnet50 IMAGE_MAX_DIM=512 IMAGES_PER_GPU=1 STEPS_PER_EPOCH=100 " \
        "VALIDATION_STEPS=10"


def test_float16_on_a_cpu_is_forecast_slow_and_bfloat16_suggested():
    # 512x512 ResNet50 batch 1: 2.3 s per step in float32, 100x that in float16 (emulated).
    slow = config(BACKBONE="resnet50", IMAGE_MIN_DIM=512, IMAGE_MAX_DIM=512, IMAGES_PER_GPU=1,
                  STEPS_PER_EPOCH=100, VALIDATION_STEPS=10, MIXED_PRECISION="mixed_float16")
    assert speed.cpu_step_seconds(slow, cores=2) == pytest.approx(230.0)
    assert speed.cpu_settings_for(slow) == "MIXED_PRECISION=mixed_bfloat16"
    assert speed.cpu_training_hint(slow, gpus=[], cores=2).endswith(
        "set e.g. MIXED_PRECISION=mixed_bfloat16 (mrcnn train: --set ...).")


def test_maskrcnn_train_prints_the_hint_once_per_model(monkeypatch, capsys):
    import mrcnn.training.train
    from mrcnn.maskrcnn import MaskRCNN
    calls = []
    monkeypatch.setattr(speed, "cpu_training_hint", lambda config: "No GPU found: ...")
    monkeypatch.setattr(mrcnn.training.train, "train", lambda *args, **kwargs: calls.append(1))
    model = MaskRCNN.__new__(MaskRCNN)
    model.config, model._cpu_hint_shown = config(), False
    for layers in ("heads", "all"):
        model.train(None, None, 0.001, 1, layers)
    assert calls == [1, 1]
    assert capsys.readouterr().out == "No GPU found: ...\n"
