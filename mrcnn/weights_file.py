"""The weights file as HDF5: opening it with a clear error, and the metadata (config, class
names, backbone) our checkpoints store in one root attribute.

Below :mod:`mrcnn.config` (which reads a file's config through :func:`read_metadata`) and
:mod:`mrcnn.weights` (which reads and writes the weights themselves); h5py and the standard
library only.
"""
import json
import os

import h5py

#: The root attribute of a weights file that holds :func:`mrcnn.weights.weights_metadata` as JSON.
METADATA_ATTRIBUTE = "mrcnn_metadata"


class WeightsFileError(ValueError):
    """A weights file that cannot be read, holds no weights, or does not fit the model."""


def open_weights_file(filepath):
    """The HDF5 file at ``filepath``, open for reading; WeightsFileError when it is missing or
    not HDF5."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise WeightsFileError(f"Weights file not found: {filepath}")
    try:
        return h5py.File(filepath, mode="r")
    except OSError as e:
        raise WeightsFileError(
            f"{filepath} is not an HDF5 weights file ({e}). Mask R-CNN weights are .h5 files "
            f"such as mask_rcnn_coco.h5 or a checkpoint written by MaskRCNN.train().") from None


def read_metadata(filepath):
    """The metadata a file written by :func:`mrcnn.weights.save_weights` stores (a dict with
    "config", "class_names" and "backbone", see :func:`mrcnn.weights.weights_metadata`), or None
    for a file without (Matterport's, older checkpoints). WeightsFileError for a missing or
    non-HDF5 file and for metadata that is not a JSON object."""
    with open_weights_file(filepath) as f:
        text = f.attrs.get(METADATA_ATTRIBUTE)
    if text is None:
        return None
    try:
        metadata = json.loads(text.decode("utf8") if isinstance(text, bytes) else str(text))
    except ValueError as e:
        raise WeightsFileError(f"{os.fspath(filepath)}: its {METADATA_ATTRIBUTE} attribute is "
                               f"not JSON ({e})") from None
    if not isinstance(metadata, dict):
        raise WeightsFileError(f"{os.fspath(filepath)}: its {METADATA_ATTRIBUTE} attribute is "
                               f"not a JSON object")
    return metadata
