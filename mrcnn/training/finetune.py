"""Fine-tuning: load weights trained on other classes, then train in stages heads -> 4+ -> all.

    from mrcnn.training.finetune import load_for_finetuning, finetune_stages, train_stages
    model = MaskRCNN("training", config, "logs")                  # e.g. NUM_CLASSES = 1 + 5
    report = load_for_finetuning(model, "mask_rcnn_coco.h5")       # 81 classes in the file
    report.excluded      # ['mrcnn_bbox_fc', 'mrcnn_class_logits', 'mrcnn_mask']
    train_stages(model, train_set, val_set, finetune_stages(20, 10, 10, config.LEARNING_RATE))

This is Matterport's recipe (samples/coco: heads, then ResNet stage 4 and up, then all layers at
a tenth of the learning rate) without listing the head layers by hand: the layers whose shapes
differ between the file and the model are found by :func:`mrcnn.weights.layers_to_exclude` (the
maskrcnn-benchmark guide's "trim" step) and left at their initial values.

Glossary:
  stage     one ``model.train`` call: ``Stage(layers, epochs, learning_rate)`` where ``layers`` is
            a preset of :data:`mrcnn.training.presets.LAYER_REGEX` or a regex and ``epochs`` is
            cumulative, as ``train(epochs=...)`` is in Matterport (the epoch to train up to).
  excluded  layers whose weights in the file have other shapes than in the model (with another
            NUM_CLASSES: the class logits, box regression and mask output layers).
"""
import collections
import os
import re

from mrcnn.weights import layers_to_exclude, load_weights, read_weight_shapes, weighted_layers

__all__ = ["Stage", "LoadReport", "FINETUNE_STAGES", "load_for_finetuning", "finetune_stages",
           "train_stages"]

Stage = collections.namedtuple("Stage", ["layers", "epochs", "learning_rate"])
Stage.__doc__ = """One ``model.train`` call: layers (preset or regex), epochs (cumulative target),
learning_rate."""

LoadReport = collections.namedtuple("LoadReport", ["loaded", "excluded", "not_in_file"])
LoadReport.__doc__ = """What :func:`load_for_finetuning` did, as lists of layer names in model
order: loaded (assigned from the file), excluded (left at their initial values: shapes differ, or
named in ``exclude``), not_in_file (layers with weights that the file does not hold)."""

FINETUNE_STAGES = (("heads", 1.0), ("4+", 1.0), ("all", 0.1))
"""Matterport's samples/coco schedule: (layers preset, learning-rate factor) of each stage."""


def load_for_finetuning(model, weights_path, exclude=(), verbose=1):
    """Load a by-name weights file, leaving out the layers whose shapes do not fit the model.

    model: a :class:`mrcnn.maskrcnn.MaskRCNN` (either mode).
    weights_path: a Matterport-layout .h5 (mask_rcnn_coco.h5, the ImageNet ResNet file, a
        checkpoint of this or another model).
    exclude: more layer names to leave out (as ``load_weights(..., exclude=...)``).
    verbose: 1 prints what was excluded and what the file did not hold.

    Training then starts at epoch 0 in a new log folder, except when the file is a checkpoint of
    this config's NAME (``.../mask_rcnn_<name>_<epoch>.h5``) and nothing was excluded: then it
    resumes after that epoch as ``model.load_weights`` does. (A checkpoint of another model
    would otherwise carry its epoch over, and the cumulative ``epochs`` of the stages would
    have nothing left to train.)
    Returns a :class:`LoadReport`. Raises :class:`mrcnn.weights.WeightsFileError` for a file
    that is missing, not a weights file, or shares no layer with the model.
    """
    weights_path = os.fspath(weights_path)
    if isinstance(exclude, str):
        raise TypeError(f"exclude must be a list of layer names, got the str {exclude!r}")
    mismatched = layers_to_exclude(weights_path, model)
    excluded_names = set(mismatched) | set(exclude)
    file_layers = set(read_weight_shapes(weights_path))
    layers = list(weighted_layers(model.keras_model))
    loaded = load_weights(model.keras_model, weights_path, by_name=True,
                          exclude=sorted(excluded_names))
    model.set_log_dir(weights_path)
    excluded = [name for name in layers if name in excluded_names]
    not_in_file = [name for name in layers if name not in file_layers
                   and name not in excluded_names]
    if excluded or not _is_checkpoint_of(weights_path, model.config.NAME):
        model.set_log_dir()
    if verbose:
        print(f"Loaded {len(loaded)} layers from {weights_path}")
        if excluded:
            print(f"Excluded {len(excluded)} layers (other shapes in the file, or asked): "
                  f"{', '.join(excluded)}")
        if not_in_file:
            print(f"{len(not_in_file)} layers with weights are not in the file and keep their "
                  f"initial values: {', '.join(not_in_file[:8])}"
                  f"{', ...' if len(not_in_file) > 8 else ''}")
    return LoadReport(loaded=list(loaded), excluded=excluded, not_in_file=not_in_file)


def _is_checkpoint_of(path, name):
    """Whether ``path`` is named like a checkpoint of the config NAME ``name``."""
    pattern = r"mask_rcnn_{}_\d{{4}}\.h5".format(re.escape(name.lower()))
    return re.fullmatch(pattern, os.path.basename(path)) is not None


def finetune_stages(heads_epochs, four_plus_epochs, all_epochs, learning_rate):
    """The stages heads -> 4+ -> all of :data:`FINETUNE_STAGES`, each given its own epoch count.

    heads_epochs, four_plus_epochs, all_epochs: epochs of each stage (0 leaves it out).
    learning_rate: of the first two stages; "all" trains at a tenth of it (Matterport's coco).
    Returns a list of :class:`Stage` with cumulative ``epochs`` (e.g. 2, 1, 1 gives targets 2,
    3, 4), stages of 0 epochs left out. Raises ValueError for negative or non-integer counts.
    """
    counts = (heads_epochs, four_plus_epochs, all_epochs)
    names = ("heads_epochs", "four_plus_epochs", "all_epochs")
    for name, count in zip(names, counts):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{name} must be an int >= 0, got {count!r}")
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    stages, target = [], 0
    for (layers, factor), count in zip(FINETUNE_STAGES, counts):
        if count:
            target += count
            stages.append(Stage(layers, target, learning_rate * factor))
    return stages


def train_stages(model, train_dataset, val_dataset, stages, verbose=1, **train_kwargs):
    """Run ``model.train`` for each stage in order; returns the Keras History of each stage run.

    stages: :class:`Stage` tuples (or (layers, epochs, learning_rate) triples) with cumulative
        epochs. A stage whose target the model has reached already (a resumed model) is left
        out, so rerunning the same schedule after loading the last checkpoint continues it.
    train_kwargs: passed to every ``model.train`` call (augmentation, custom_callbacks, seed,
        workers, ...).
    """
    stages = [Stage(*stage) for stage in stages]
    targets = [stage.epochs for stage in stages]
    if targets != sorted(targets):
        raise ValueError(f"stages must have increasing cumulative epochs, got {targets}")
    histories = []
    for stage in stages:
        if model.epoch >= stage.epochs:
            if verbose:
                print(f"Stage {stage.layers!r} (up to epoch {stage.epochs}): done already, the "
                      f"model is at epoch {model.epoch}")
            continue
        if verbose:
            print(f"Stage {stage.layers!r}: epochs {model.epoch + 1}..{stage.epochs}, "
                  f"learning rate {stage.learning_rate:g}")
        histories.append(model.train(train_dataset, val_dataset,
                                     learning_rate=stage.learning_rate, epochs=stage.epochs,
                                     layers=stage.layers, verbose=verbose, **train_kwargs))
    return histories
