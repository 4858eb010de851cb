"""The training tests change weights and trainable flags: they get their own model."""
import pytest


@pytest.fixture(scope="module")
def training_model(tmp_path_factory):
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config
    return MaskRCNN("training", tiny_config(), tmp_path_factory.mktemp("logs"))
