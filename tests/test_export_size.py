"""The SavedModel export stores each weight once: its variables/ folder is no bigger than the
by-name .h5 of the same model (Keras' ExportArchive.track() would save every variable twice)."""
import os

from tiny import tiny_config


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(folder, name))
               for folder, _, names in os.walk(path) for name in names)


def test_export_variables_are_the_size_of_the_weights_file(tmp_path):
    from mrcnn.maskrcnn import MaskRCNN
    model = MaskRCNN("inference", tiny_config(BACKBONE="resnet18"), tmp_path / "logs")
    weights = tmp_path / "weights.h5"
    model.save_weights(str(weights))
    path = model.export(tmp_path / "model")
    variables = folder_bytes(os.path.join(path, "variables"))
    parameters = sum(int(w.numpy().nbytes) for w in model.keras_model.weights)
    assert variables <= 1.1 * os.path.getsize(weights)
    assert variables >= parameters          # every weight is there
