"""A rough forecast of training time on a CPU, so that a first run with Matterport's GPU-sized
defaults says what it is in for instead of running for hours in silence.

The forecast scales one figure measured in this project (DESIGN.md, "Facts about the stack"): a
training step of ResNet50-FPN at 1024x1024, batch 1, all layers, float32, takes 9.2 s on a
2-core CPU (5.4 s in mixed_bfloat16). It scales linearly with the pixels of the molded image,
the batch and the inverse of the cores, and by backbone with the ImageNet multiply-adds of each
ResNet; it ignores what does not scale so (proposals, targets, ROI work), so it is an order of
magnitude, not a promise.
"""
import os

__all__ = ["REFERENCE_STEP_SECONDS", "REFERENCE_CORES", "REFERENCE_PIXELS", "BACKBONE_FACTORS",
           "PRECISION_FACTORS", "VALIDATION_STEP_FACTOR", "HINT_EPOCH_SECONDS", "CPU_SETTINGS",
           "cpu_settings_for", "cpu_step_seconds", "cpu_epoch_seconds", "cpu_training_hint"]

#: Seconds of one ResNet50 training step at 1024x1024, batch 1, all layers, float32 ...
REFERENCE_STEP_SECONDS = 9.2
#: ... on a CPU of this many cores.
REFERENCE_CORES = 2
REFERENCE_PIXELS = 1024 * 1024
#: The whole network's cost relative to ResNet50-FPN: the 570 GFLOP of a 1024x1024 ResNet50-FPN
#: forward pass (measured count) with the backbone's share replaced by the other ResNet's
#: (ImageNet multiply-adds at 224x224: resnet18 1.8 G, resnet34 3.6 G, resnet50 4.1 G,
#: resnet101 7.8 G, times 2 FLOP and (1024/224)^2). A callable backbone counts as ResNet50.
BACKBONE_FACTORS = {"resnet18": 0.83, "resnet34": 0.96, "resnet50": 1.0, "resnet101": 1.27}
#: Step time relative to float32 on a CPU: mixed_bfloat16 5.4 s / 9.2 s measured; mixed_float16
#: about 100x slower (TensorFlow's CPU kernels emulate float16 arithmetic: the test model's step,
#: ResNet18 at 64x64, took 48-84 s against 0.45-0.51 s in float32, measured 2026-12-03).
PRECISION_FACTORS = {None: 1.0, "mixed_bfloat16": 5.4 / 9.2, "mixed_float16": 100.0}
#: A validation step (forward pass only) relative to a training step: the measured 3.56 s of a
#: 1024x1024 ResNet50 detect() against the 9.2 s training step.
VALIDATION_STEP_FACTOR = 3.56 / 9.2
#: The hint is printed when an epoch is forecast to take longer than this (one hour).
HINT_EPOCH_SECONDS = 3600
#: A CPU-sized run: the hint suggests those of these settings that the config exceeds
#: (BACKBONE: only instead of resnet101).
CPU_SETTINGS = {"BACKBONE": "resnet50", "IMAGE_MIN_DIM": 512, "IMAGE_MAX_DIM": 512,
                "IMAGES_PER_GPU": 1, "STEPS_PER_EPOCH": 100, "VALIDATION_STEPS": 10}


def cpu_step_seconds(config, cores=None):
    """Forecast seconds of one training step of ``config`` (all layers) on ``cores`` CPU cores
    (default: this machine's)."""
    cores = cores or os.cpu_count() or 1
    height, width = config.IMAGE_SHAPE[:2]
    backbone = BACKBONE_FACTORS.get(config.BACKBONE, 1.0) if isinstance(config.BACKBONE, str) \
        else 1.0
    return (REFERENCE_STEP_SECONDS * (height * width / REFERENCE_PIXELS) * config.BATCH_SIZE
            * backbone * PRECISION_FACTORS.get(config.MIXED_PRECISION, 1.0)
            * REFERENCE_CORES / cores)


def cpu_epoch_seconds(config, cores=None):
    """Forecast seconds of one epoch: STEPS_PER_EPOCH training steps and VALIDATION_STEPS
    validation steps."""
    step = cpu_step_seconds(config, cores)
    return step * (config.STEPS_PER_EPOCH + VALIDATION_STEP_FACTOR * config.VALIDATION_STEPS)


def cpu_settings_for(config):
    """"KEY=VALUE ..." of the :data:`CPU_SETTINGS` that would shrink ``config`` (empty when it
    is no bigger than them)."""
    shrink = [f"{key}={value}" for key, value in CPU_SETTINGS.items()
              if (config.BACKBONE == "resnet101" if key == "BACKBONE"
                  else getattr(config, key) > value)]
    if config.MIXED_PRECISION == "mixed_float16":       # CPUs have bfloat16, not float16
        shrink.append("MIXED_PRECISION=mixed_bfloat16")
    return " ".join(shrink)


def _duration(seconds):
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def cpu_training_hint(config, gpus=None, cores=None):
    """One line forecasting the step and epoch time of ``config`` on this CPU and how to shrink
    the run, or None when a GPU is visible (``gpus``: the GPUs, default
    tf.config.list_physical_devices("GPU")) or the epoch is forecast under an hour."""
    if gpus is None:
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return None
    cores = cores or os.cpu_count() or 1
    epoch = cpu_epoch_seconds(config, cores)
    if epoch <= HINT_EPOCH_SECONDS:
        return None
    height, width = config.IMAGE_SHAPE[:2]
    backbone = config.BACKBONE if isinstance(config.BACKBONE, str) else "custom backbone"
    shrink = cpu_settings_for(config)
    return (f"No GPU found: {backbone} at {height}x{width}, batch {config.BATCH_SIZE} takes "
            f"roughly {_duration(cpu_step_seconds(config, cores))} per step on this "
            f"{cores}-core CPU, about {_duration(epoch)} per epoch of {config.STEPS_PER_EPOCH} "
            f"steps (a rough estimate from 9.2 s measured per 1024x1024 ResNet50 image on 2 "
            f"cores). For a CPU-sized run set "
            + (f"e.g. {shrink} (mrcnn train: --set ...)." if shrink
               else "fewer STEPS_PER_EPOCH or smaller images."))
