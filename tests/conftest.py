"""Shared fixtures: a tiny config and models built once per test session."""
import os

import numpy as np
import pytest

from tiny import tiny_config

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SHARED_DATASETS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets")


@pytest.fixture(scope="session")
def tiny():
    return tiny_config()


@pytest.fixture(scope="session")
def inference_model(tmp_path_factory):
    from mrcnn.maskrcnn import MaskRCNN
    return MaskRCNN("inference", tiny_config(), tmp_path_factory.mktemp("logs"))


@pytest.fixture(scope="session")
def training_model(tmp_path_factory):
    from mrcnn.maskrcnn import MaskRCNN
    return MaskRCNN("training", tiny_config(), tmp_path_factory.mktemp("logs"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
