"""Shared by the sample tests: importing a sample script, tiny settings for it, a "COCO" weights
file, and the real datasets beside the checkout.

The samples are scripts, not a package: they are imported from their files. Each test module
runs its sample end to end on tiny settings (64 px images, narrow heads: tests/tiny.py, with the
ResNet18 backbone, which halves the time of a training run) given as a --config file plus --set
overrides, starting from a weights file of such a model with NUM_CLASSES = 81 (the shape of
Matterport's COCO model), so fine-tuning must exclude the heads.
"""
import importlib.util
import os
import shutil

import h5py
import numpy as np
import pytest
import yaml

from tiny import tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_DATASETS = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
#: The tiny settings that are no property of the data (NAME and NUM_CLASSES are the sample's).
TINY_KEYS = sorted(k for k in vars(type(tiny_config())) if k.isupper()
                   and k not in ("NAME", "NUM_CLASSES"))
BACKBONE = "resnet18"
#: bn_conv1's four weights in the "COCO" file: distinct values that no initializer gives, so a
#: checkpoint holding them shows the backbone came from the file (TRAIN_BN False keeps them).
BN_CONV1 = [np.linspace(0.5, 1.5, 64, dtype=np.float32), np.linspace(-1, 1, 64, dtype=np.float32),
            np.linspace(-2, 2, 64, dtype=np.float32), np.linspace(1, 3, 64, dtype=np.float32)]


def _load_script(name):
    """samples/<name>/<name>.py as a module (its main(argv) runs a command)."""
    path = os.path.join(ROOT, "samples", name, name + ".py")
    spec = importlib.util.spec_from_file_location(f"sample_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shared_dataset(name):
    """Path of a real dataset in ../shared/datasets, or skip the test."""
    path = os.path.join(SHARED_DATASETS, name)
    if not os.path.isdir(path):
        pytest.skip(f"real dataset {name} not found at {path} (it sits beside the checkout "
                    f"on the project's machines only)")
    return path


@pytest.fixture(scope="session")
def load_sample():
    """load_sample("road_sign") -> the module of samples/road_sign/road_sign.py."""
    return _load_script


@pytest.fixture(scope="session")
def shared_dataset():
    """shared_dataset("via_kudzu") -> its path, or skips the test where it is absent."""
    return _shared_dataset


@pytest.fixture(scope="session")
def tiny_config_file(tmp_path_factory):
    """A YAML file of the tiny settings, for the samples' --config."""
    config = tiny_config(BACKBONE=BACKBONE).to_dict()
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump({k: config[k] for k in TINY_KEYS}))
    return str(path)


@pytest.fixture(scope="session")
def coco_weights(tmp_path_factory):
    """A by-name .h5 of a tiny 81-class model (the layout of mask_rcnn_coco.h5; the tiny
    backbone), with bn_conv1 set to BN_CONV1."""
    from mrcnn.maskrcnn import MaskRCNN
    folder = tmp_path_factory.mktemp("coco_weights")
    model = MaskRCNN("inference", tiny_config(NUM_CLASSES=81, BACKBONE=BACKBONE), str(folder))
    model.keras_model.get_layer("bn_conv1").set_weights(BN_CONV1)
    path = str(folder / "mask_rcnn_coco.h5")
    model.save_weights(path)
    return path


def _confident_weights(checkpoint, path, class_id=1):
    """A copy of ``checkpoint`` at ``path`` whose heads call every proposal ``class_id`` (class
    logits: kernel 0, bias 10 for class_id, 0 elsewhere: score e^10 / (e^10 + K - 1) > 0.99)
    and fill its box with mask (mask logits 10 for class_id). So detect() finds something in
    every image, whatever a few training steps taught the model."""
    shutil.copy(checkpoint, path)
    with h5py.File(path, "r+") as f:
        for layer in ("mrcnn_class_logits", "mrcnn_mask"):
            group = f[layer]
            for name in group.attrs["weight_names"]:
                name = name.decode() if isinstance(name, bytes) else str(name)
                values = np.zeros(group[name].shape, np.float32)
                if name.endswith("bias:0"):
                    values[class_id] = 10.0
                group[name][...] = values
    return str(path)


@pytest.fixture(scope="session")
def confident_weights():
    """confident_weights(checkpoint, path, class_id=1) -> path of a copy that detects class_id
    in every proposal (see _confident_weights)."""
    return _confident_weights
