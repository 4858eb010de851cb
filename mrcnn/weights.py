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
"""
import os

import h5py
import numpy as np

from mrcnn.files import atomic_path

HEAD_LAYERS = ("mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask")
"""The layers whose shapes depend on NUM_CLASSES: exclude them to fine-tune COCO weights."""

#: The head layers with weights whose last axis depends on NUM_CLASSES, and that axis' width as a
#: multiple of NUM_CLASSES (kernel and bias alike): class logits N, box deltas 4 N, masks N.
#: (``mrcnn_bbox`` of HEAD_LAYERS is the weightless reshape of ``mrcnn_bbox_fc``.)
HEAD_CLASS_FACTORS = {"mrcnn_class_logits": 1, "mrcnn_bbox_fc": 4, "mrcnn_mask": 1}


class WeightsFileError(ValueError):
    """A weights file that cannot be read, holds no weights, or does not fit the model."""


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
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise WeightsFileError(f"Weights file not found: {filepath}")
    try:
        f = h5py.File(filepath, mode="r")
    except OSError as e:
        raise WeightsFileError(
            f"{filepath} is not an HDF5 weights file ({e}). Mask R-CNN weights are .h5 files "
            f"such as mask_rcnn_coco.h5 or a checkpoint written by MaskRCNN.train().") from None
    with f:
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


def check_weights(keras_model, file_weights, filepath, by_name=True, exclude=None):
    """Pair model layers with file layers; return [(layer, arrays)] or raise on any mismatch.

    Nothing is assigned here, so a failed load leaves the model as it was.
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
        lines = [f"  {name}: model {_shapes(exp)} vs file {_shapes(got)}"
                 for name, exp, got in mismatches]
        names = [name for name, _, _ in mismatches]
        # The usual cause is NUM_CLASSES: then suggest Matterport's whole head list.
        heads = set(HEAD_LAYERS) & all_names if set(names) & set(HEAD_LAYERS) else set()
        hint = sorted(set(names) | heads)
        raise WeightsFileError(
            f"{filepath} does not fit the model: {len(mismatches)} layer(s) have other shapes "
            f"(a different NUM_CLASSES or backbone?):\n" + "\n".join(lines) +
            f"\nTo load the rest, pass exclude={hint!r}.")
    return pairs


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


def load_weights(keras_model, filepath, by_name=True, exclude=None):
    """Load a by-name weights file into ``keras_model``; returns the names of the loaded layers.

    ``exclude``: layer names to leave untouched (e.g. :data:`HEAD_LAYERS` to fine-tune COCO weights
    on another class count). Shape mismatches raise WeightsFileError naming each layer with both
    shapes and the ``exclude`` to pass; in that case nothing is assigned.
    """
    file_weights = read_weights(filepath)
    pairs = check_weights(keras_model, file_weights, filepath, by_name=by_name, exclude=exclude)
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


def save_weights(keras_model, filepath):
    """Write ``keras_model``'s weights in the by-name layout, atomically.

    The file is written beside its destination and renamed into place, so a crash mid-write never
    leaves a truncated file under ``filepath``.
    """
    import keras

    with atomic_path(filepath, suffix=".h5.tmp") as tmp_path:
        with h5py.File(tmp_path, "w") as f:
            f.attrs["layer_names"] = _byte_strings(layer.name for layer in keras_model.layers)
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = str(keras.__version__).encode("utf8")
            for layer in keras_model.layers:
                group = f.create_group(layer.name)
                names = _weight_names(layer)
                group.attrs["weight_names"] = _byte_strings(names)
                for name, variable in zip(names, layer.weights):
                    group.create_dataset(name, data=variable.numpy())
