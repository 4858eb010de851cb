"""The training tests change weights and trainable flags: they get their own model."""
import pytest


@pytest.fixture(scope="module")
def training_model(tmp_path_factory):
    import keras

    from mrcnn.maskrcnn import MaskRCNN
    # Seeded: whether a few steps lower the loss must not depend on the tests run before.
    keras.utils.set_random_seed(0)
    from tiny import tiny_config
    return MaskRCNN("training", tiny_config(), tmp_path_factory.mktemp("logs"))
