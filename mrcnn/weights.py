"""Read and write weights in the Keras-2 HDF5 by-name layout that Matterport's files use.

Layout (what Keras 2's ``save_weights`` wrote, and what we write):
    root attrs   layer_names   = [b"conv1", b"bn_conv1", ...]   (all layers, weightless ones too)
                 backend, keras_version
    /<layer>     attrs weight_names = [b"conv1/kernel:0", b"conv1/bias:0"]
    /<layer>/<weight_name>          the array (the "/" in the name makes a subgroup)
A full-model file keeps the same under ``/model_weights``. The nested ``rpn_model`` is one group
whose weight_names are its sublayers' (``rpn_conv_shared/kernel:0`` ...); a TimeDistributed head is
one group holding its inner layer's weights. Within a layer, weights are matched by position, as
Keras 2 did.

Files saved by the TF2 ports of Matterport also hold an ``anchors`` group with one (batch, N, 4)
array and weightless ``tf_op_layer_*`` / ``add_loss*`` entries: our anchors are constants, so those
groups match no layer with weights and are ignored.

Our files add one root attribute, ``mrcnn_metadata``: a JSON string (data, never code) of
:func:`weights_metadata`, the config the weights were trained with, the class names and the
backbone. Matterport's files and older checkpoints have none (:func:`read_metadata` gives None).
"""
import json
import re
import warnings

import h5py
import numpy as np

from mrcnn.config import ConfigError
from mrcnn.core.anchors import BASIC_BLOCK_COUNTS, BLOCK_COUNTS
from mrcnn.files import atomic_path
from mrcnn.weights_file import (  # noqa: F401 (public here too)
    METADATA_ATTRIBUTE,
    WeightsFileError,
    open_weights_file,
    read_metadata,
)

HEAD_LAYERS = ("mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask")
"""The layers whose shapes depend on NUM_CLASSES: exclude them to fine-tune COCO weights."""

#: The head layers with weights whose last axis depends on NUM_CLASSES, and that axis' width as a
#: multiple of NUM_CLASSES (kernel and bias alike): class logits N, box deltas 4 N, masks N.
#: (``mrcnn_bbox`` of HEAD_LAYERS is the weightless reshape of ``mrcnn_bbox_fc``.)
HEAD_CLASS_FACTORS = {"mrcnn_class_logits": 1, "mrcnn_bbox_fc": 4, "mrcnn_mask": 1}


#: Config settings that change the shapes of layers with weights: the causes a shape mismatch
#: error looks for first.
SHAPE_SETTINGS = ("BACKBONE", "NUM_CLASSES", "TOP_DOWN_PYRAMID_SIZE", "FPN_CLASSIF_FC_LAYERS_SIZE",
                  "POOL_SIZE", "RPN_ANCHOR_RATIOS", "IMAGE_CHANNEL_COUNT")


def weighted_layers(keras_model):
    """Layers of ``keras_model`` that own weights, in model order, keyed by name.

    Nested models count as one layer (``rpn_model``), as in the files.
    """
    return {layer.name: layer for layer in keras_model.layers if layer.weights}


def read_weights(filepath):
    """Read a by-name weights file into ``{layer_name: [array, ...]}`` (file order kept).

    Layers without weights are left out. Raises WeightsFileError for a missing file, a file that is
    not HDF5, or one without the Keras layout.
    """
    return _read_layers(filepath, lambda dataset: np.asarray(dataset))


def read_weight_shapes(filepath):
    """``{layer_name: [shape, ...]}`` of a by-name weights file, without reading the arrays.

    Same layout rules and errors as :func:`read_weights`.
    """
    return _read_layers(filepath, lambda dataset: tuple(dataset.shape))


def _read_layers(filepath, read):
    """``{layer_name: [read(dataset), ...]}`` of the layers with weights of a by-name file."""
    with open_weights_file(filepath) as f:
        root = f
        if "layer_names" not in root.attrs and "model_weights" in root:
            root = root["model_weights"]
        if "layer_names" not in root.attrs:
            raise WeightsFileError(
                f"{filepath} is HDF5 but has no 'layer_names' attribute, so it is not a Keras "
                f"by-name weights file. (Keras 3 '.weights.h5' files are structural; load them "
                f"with "
                f"keras_model.load_weights(), or save with MaskRCNN.save_weights().)")
        result = {}
        for name in _strings(root.attrs["layer_names"]):
            group = root[name]
            weight_names = _strings(group.attrs.get("weight_names", []))
            if weight_names:
                result[name] = [read(group[w]) for w in weight_names]
    if not result:
        raise WeightsFileError(f"{filepath} holds no weights (every layer in it is empty).")
    return result


def _strings(values):
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def weights_metadata(config, class_names=None):
    """What :func:`save_weights` stores beside the weights: ``{"config": config.to_dict(),
    "class_names": [...] or None, "backbone": ...}``.

    config: the :class:`mrcnn.config.Config` the weights belong to. class_names: the dataset's
    ``class_names`` ("BG" first), when known. A config holding a value that cannot be written as
    data (Config.to_dict raises ConfigError) is left out with a warning: saving never fails for it.
    """
    try:
        settings = config.to_dict()
    except ConfigError as e:
        warnings.warn(f"The weights file will not store the config: {e}", stacklevel=2)
        settings = None
    backbone = config.BACKBONE
    if not isinstance(backbone, str):
        backbone = settings["BACKBONE"] if settings else None
    names = [str(name) for name in class_names] if class_names is not None else None
    return {"config": settings, "class_names": names, "backbone": backbone}


def backbone_of(layer_names):
    """The ResNet of :data:`~mrcnn.core.anchors.RESNET_BACKBONES` whose layers ``layer_names``
    (names of layers with weights, of a model or a file) are, told by the blocks of stage 4
    (``res4a_branch2a``, ``res4b_branch2a``, ...) and the block kind (bottleneck blocks have
    ``res2a_branch2c``); None when they match none."""
    names = set(layer_names)
    blocks = sum(1 for name in names if re.fullmatch(r"res4[a-z]_branch2a", name))
    if "res2a_branch2c" in names:
        counts = {name: 1 + count for name, count in BLOCK_COUNTS.items()}
    elif "res2a_branch2a" in names:
        counts = {name: count[2] for name, count in BASIC_BLOCK_COUNTS.items()}
    else:
        return None
    return next((name for name, count in counts.items() if count == blocks), None)


def check_weights(keras_model, file_weights, filepath, by_name=True, exclude=None, config=None):
    """Pair model layers with file layers; return [(layer, arrays)] or raise on any mismatch.

    Nothing is assigned here, so a failed load leaves the model as it was. config: the model's
    Config, if known, for the mismatch error to compare with the config the file stores.
    """
    exclude = set(exclude or ())
    layers = weighted_layers(keras_model)
    all_names = {layer.name for layer in keras_model.layers}
    unknown = exclude - all_names
    if unknown:
        raise WeightsFileError(
            f"exclude names layers the model does not have: {sorted(unknown)}. "
            f"Layers with weights include: {', '.join(list(layers)[-8:])}")
    if by_name:
        pairs = [(layer, file_weights[name]) for name, layer in layers.items()
                 if name in file_weights and name not in exclude]
    else:
        model_layers = [layer for name, layer in layers.items() if name not in exclude]
        file_layers = [(name, w) for name, w in file_weights.items() if name not in exclude]
        if len(model_layers) != len(file_layers):
            raise WeightsFileError(
                f"{filepath} has {len(file_layers)} layers with weights and the model "
                f"{len(model_layers)}; load it with by_name=True.")
        pairs = [(layer, w) for layer, (_, w) in zip(model_layers, file_layers)]
    if not pairs:
        raise WeightsFileError(
            f"No layer of {filepath} matches a layer of the model by name (file layers: "
            f"{', '.join(list(file_weights)[:6])}, ...). Is it a Mask R-CNN weights file?")

    mismatches = []
    for layer, arrays in pairs:
        expected = [tuple(v.shape) for v in layer.weights]
        found = [tuple(a.shape) for a in arrays]
        if expected != found:
            mismatches.append((layer.name, expected, found))
    if mismatches:
        raise WeightsFileError(_mismatch_message(keras_model, file_weights, filepath, mismatches,
                                                 config))
    return pairs


#: Layers with other shapes that a mismatch error lists (a count stands for the rest).
MISMATCHES_LISTED = 6


def _mismatch_message(keras_model, file_weights, filepath, mismatches, config):
    """The error of a load whose layers have other shapes: the settings of
    :data:`SHAPE_SETTINGS` in which the file and the model differ, with the fix for the command
    line and for Python (``exclude`` only for another NUM_CLASSES, to fine-tune, or when no
    cause shows), then a few of the layers."""
    lines = [f"  {name}: model {_shapes(exp)} vs file {_shapes(got)}"
             for name, exp, got in mismatches[:MISMATCHES_LISTED]]
    if len(mismatches) > MISMATCHES_LISTED:
        lines.append(f"  ... and {len(mismatches) - MISMATCHES_LISTED} more")
    names = [name for name, _, _ in mismatches]
    # For another NUM_CLASSES, Matterport's whole head list.
    all_names = {layer.name for layer in keras_model.layers}
    heads = set(HEAD_LAYERS) & all_names if set(names) & set(HEAD_LAYERS) else set()
    exclude = sorted(set(names) | heads)
    try:
        metadata = read_metadata(filepath)
    except WeightsFileError:
        metadata = None
    stored = bool(metadata and metadata.get("config"))
    model = _model_settings(keras_model, config)
    found = _file_settings(file_weights, metadata)
    causes = [key for key in SHAPE_SETTINGS
              if key in model and key in found and model[key] != found[key]]
    text = f"{filepath} does not fit the model ({len(mismatches)} layer(s) have other shapes)."
    for key in causes:
        text += "\n" + _cause(key, found[key], model[key], stored, sorted(heads))
    if not causes:
        text += (f"\nThe model was built with another config than the file's. Build it with "
                 f"that config; only to fine-tune on purpose, pass exclude={exclude!r} to load "
                 f"the rest.")
    return text + "\nLayers with other shapes:\n" + "\n".join(lines)


def _cause(key, file_value, model_value, stored, exclude):
    """One line naming a setting in which the file and the model differ, and its fixes."""
    where = "was trained with" if stored else "has the layers of"
    if key == "NUM_CLASSES":
        return (f"The file has NUM_CLASSES {file_value} and the model {model_value} (both "
                f"count the background). To use the file's classes: command line: a dataset of "
                f"its {file_value - 1} classes (detect and export without --dataset take them "
                f"from the file); Python: config.NUM_CLASSES = {file_value}. Only to fine-tune "
                f"the file on other classes, pass exclude={exclude!r} (mrcnn train does).")
    drop = (f", or leave out a --set {key} that says otherwise (the command line reads the "
            f"config the file stores)" if stored else "")
    python = " (or config = Config.from_weights(path))" if stored else ""
    setting = file_value if isinstance(file_value, str) else json.dumps(file_value)
    return (f"The file {where} {key} {file_value}, the model has {model_value}. Build the "
            f"model with the file's value: command line: --set {key}={setting}{drop}; Python: "
            f"config.{key} = {json.dumps(file_value)}{python} before building the model.")


def _model_settings(keras_model, config):
    """{setting: value} of :data:`SHAPE_SETTINGS` known for ``keras_model``: its config's, and
    BACKBONE and NUM_CLASSES told by its layers."""
    settings = {}
    if config is not None:
        try:
            settings = {k: v for k, v in config.to_dict().items() if k in SHAPE_SETTINGS}
        except ConfigError:
            pass
    layers = weighted_layers(keras_model)
    shapes = {name: [tuple(v.shape) for v in layer.weights] for name, layer in layers.items()}
    return _from_layers(settings, shapes)


def _file_settings(file_weights, metadata):
    """{setting: value} of :data:`SHAPE_SETTINGS` known for a file: the config it stores, and
    BACKBONE and NUM_CLASSES told by its layers."""
    settings = dict((metadata or {}).get("config") or {})
    if (metadata or {}).get("backbone"):
        settings.setdefault("BACKBONE", metadata["backbone"])
    shapes = {name: [np.shape(a) for a in arrays] for name, arrays in file_weights.items()}
    return _from_layers({k: v for k, v in settings.items() if k in SHAPE_SETTINGS}, shapes)


def _from_layers(settings, shapes):
    """``settings`` with BACKBONE and NUM_CLASSES added from the layer shapes where missing."""
    settings = dict(settings)
    backbone = backbone_of(shapes)
    if backbone and "BACKBONE" not in settings:
        settings["BACKBONE"] = backbone
    if "mrcnn_class_logits" in shapes and "NUM_CLASSES" not in settings:
        settings["NUM_CLASSES"] = int(shapes["mrcnn_class_logits"][0][-1])
    return settings


def _shapes(shapes):
    return "[" + ", ".join("x".join(str(d) for d in s) if s else "scalar" for s in shapes) + "]"


def layers_to_exclude(filepath, model):
    """Names of the layers whose weights in ``filepath`` have other shapes than in ``model``.

    The "trim" step of fine-tuning: pass the result as ``exclude`` to load a COCO-trained file
    (81 classes) into a model of another NUM_CLASSES, without listing the head layers by hand::

        model.load_weights(path, by_name=True, exclude=layers_to_exclude(path, model))

    filepath: a by-name weights file (Matterport's layout). model: a ``MaskRCNN`` or a Keras
    model (building one from a Config takes long, so pass the model you will load into).
    Returns the names in model order; layers only in the file or only in the model are not
    listed (loading by name skips them anyway). Only shapes are read from the file.
    """
    keras_model = getattr(model, "keras_model", model)
    if not hasattr(keras_model, "layers") or not hasattr(keras_model, "get_layer"):
        raise TypeError(
            f"model must be a MaskRCNN or a Keras model, got {type(model).__name__}"
            + (" (build MaskRCNN(mode, config, model_dir) from the config first)"
               if hasattr(model, "NUM_CLASSES") else ""))
    file_shapes = read_weight_shapes(filepath)
    return [name for name, layer in weighted_layers(keras_model).items()
            if name in file_shapes
            and [tuple(v.shape) for v in layer.weights] != file_shapes[name]]


def excluded_for_num_classes(shapes, num_classes):
    """Layers of a weights file that a model of ``num_classes`` could not load (fine-tuning
    leaves them out), found arithmetically, without building a model as
    :func:`layers_to_exclude` needs: the head layers of :data:`HEAD_CLASS_FACTORS` whose weights'
    last axis is not factor * num_classes (e.g. for Matterport's COCO file and num_classes 2:
    mrcnn_class_logits kernel [1024, 81] != 2, mrcnn_bbox_fc [1024, 324] != 8, mrcnn_mask
    [1, 1, 256, 81] != 2: all three).

    shapes: {layer name: [shape, ...]} (:func:`read_weight_shapes`). Returns the names, in file
    order. Every other layer's shape does not depend on NUM_CLASSES (a file of another backbone
    or config can differ elsewhere too; MaskRCNN.load_weights names those layers).
    """
    widths = {name: factor * num_classes for name, factor in HEAD_CLASS_FACTORS.items()}
    return [name for name, layer_shapes in shapes.items() if name in widths
            and any(shape[-1] != widths[name] for shape in layer_shapes)]


def load_weights(keras_model, filepath, by_name=True, exclude=None, config=None):
    """Load a by-name weights file into ``keras_model``; returns the names of the loaded layers.

    ``exclude``: layer names to leave untouched (e.g. :data:`HEAD_LAYERS` to fine-tune COCO weights
    on another class count). Shape mismatches raise WeightsFileError naming the layers with both
    shapes and the likely cause (another BACKBONE, NUM_CLASSES ... than the file's: ``config``,
    the model's Config, and the config the file stores make it precise) with its fix; in that
    case nothing is assigned.
    """
    file_weights = read_weights(filepath)
    pairs = check_weights(keras_model, file_weights, filepath, by_name=by_name, exclude=exclude,
                          config=config)
    for layer, arrays in pairs:
        for variable, array in zip(layer.weights, arrays):
            variable.assign(array.astype(variable.dtype))
    return [layer.name for layer, _ in pairs]


def _weight_names(layer):
    """Keras-2 style names of a layer's weights: ``<owner>/<name>:0``."""
    if hasattr(layer, "layers") and layer.layers:   # nested model: its sublayers own the names
        return [f"{sub.name}/{v.name}:0" for sub in layer.layers for v in sub.weights]
    return [f"{layer.name}/{v.name}:0" for v in layer.weights]


def _byte_strings(names):
    """Names as a fixed-length byte-string array, the attribute type Keras 2 wrote and reads."""
    names = [n.encode("utf8") for n in names]
    return np.array(names, dtype=bytes) if names else np.zeros((0,), dtype="S1")


def save_weights(keras_model, filepath, metadata=None):
    """Write ``keras_model``'s weights in the by-name layout, atomically.

    metadata: a JSON-serializable dict (:func:`weights_metadata`) stored as the JSON string of
    the root attribute :data:`METADATA_ATTRIBUTE`; None stores none. The file is written beside
    its destination and renamed into place, so a crash mid-write never leaves a truncated file
    under ``filepath``.
    """
    import keras

    with atomic_path(filepath, suffix=".h5.tmp") as tmp_path:
        with h5py.File(tmp_path, "w") as f:
            f.attrs["layer_names"] = _byte_strings(layer.name for layer in keras_model.layers)
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = str(keras.__version__).encode("utf8")
            if metadata is not None:
                f.attrs[METADATA_ATTRIBUTE] = json.dumps(metadata)
            for layer in keras_model.layers:
                group = f.create_group(layer.name)
                names = _weight_names(layer)
                group.attrs["weight_names"] = _byte_strings(names)
                for name, variable in zip(names, layer.weights):
                    group.create_dataset(name, data=variable.numpy())
