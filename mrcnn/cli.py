"""The ``mrcnn`` command line (console script ``mrcnn``; also ``python -m mrcnn``).

    mrcnn train DATASET [--val DATASET] --weights coco|imagenet|last|none|PATH
                --layers heads|3+|4+|5+|all|REGEX --epochs N [--lr X]
                [--config FILE] [--set KEY=VALUE ...] [--logs DIR]
    mrcnn evaluate DATASET --weights last|PATH [--out DIR | --json FILE] [--limit N]
                [--report DIR]
    mrcnn detect IMAGE_OR_FOLDER ... --weights coco|last|PATH [--dataset DATASET] --out DIR
    mrcnn detect IMAGE_OR_FOLDER ... --weights coco|last|PATH --write labelme|via|coco
                [--dataset DATASET | --class-names A,B,...] [--out DIR] [--min-score S]
                [--tolerance PX] [--overwrite]
    mrcnn export OUT_DIR --weights coco|last|PATH [--dataset DATASET]
    mrcnn inspect-weights FILE|--weights last [--logs DIR] [--num-classes N]

Glossary: a DATASET spec names annotations and how to read them (see :func:`parse_dataset_spec`):
``coco:ANN_JSON:IMAGE_DIR``, ``labelme:FOLDER``, ``via:JSON[:IMAGE_DIR]``, ``masks:DIR`` (mask
image folders), ``yolo:DATA_YAML[:SPLIT]`` (YOLO segmentation labels), ``voc:DIR[:SPLIT]``
(Pascal VOC instance PNGs) or ``module:attr`` (a Python import; ``attr`` a callable returning a
prepared :class:`mrcnn.datasets.Dataset`). Without a SPLIT, yolo and voc load the "train" split
for training and the "val" split for --val and evaluate (voc without ImageSets lists: every
image). The parts of a file format may be followed by its options, ``:KEY=VALUE`` each, the
loader arguments of that name (:data:`FORMAT_OPTIONS`; lists comma-separated), e.g.
``via:regions.json:images:class_key=class_id``: via ``class_key=ATTR`` (the region attribute
holding the class; without it every region is one class and a warning names the attributes
the regions carry), ``group_key=ATTR`` and ``class_names=A,B,...`` (the classes in id order);
labelme, masks and voc ``class_names``; masks ``class_map=FILE``; coco ``class_ids=ID,...``.
Every dataset loaded prints its summary() (classes, instances, skipped annotations).
"weights" as in :mod:`mrcnn.runner`. Class 0 is background; NUM_CLASSES counts it.

Exit codes: 0 success; 2 a command line that does not parse (argparse, message on stderr);
1 input that does not work (missing files, DatasetError, ConfigError, WeightsFileError,
DownloadError, UsageError, an export folder that holds something else), one line
"mrcnn: error: ..." on stderr, no traceback. TensorFlow's own log lines are silenced
(:mod:`mrcnn.tflogs`) unless a command gets ``--tf-logs`` or TF_CPP_MIN_LOG_LEVEL is set.
"""
import argparse
import collections
import importlib
import os
import sys

from mrcnn import runner
from mrcnn.config import Config

__all__ = ["DatasetSpec", "parse_dataset_spec", "load_dataset", "build_parser", "main"]

PROG = "mrcnn"
#: The KEY=VALUE options each file format's spec takes after its parts, {format: {key: value
#: form}}; each is the loader's argument of that name (lists comma-separated).
FORMAT_OPTIONS = {"coco": {"class_ids": "ID,ID,..."},
                  "labelme": {"class_names": "NAME,NAME,..."},
                  "via": {"class_key": "ATTR", "group_key": "ATTR",
                          "class_names": "NAME,NAME,..."},
                  "masks": {"class_names": "NAME,NAME,...", "class_map": "FILE"},
                  "yolo": {},
                  "voc": {"class_names": "NAME,NAME,..."}}


class DatasetSpec(collections.namedtuple("DatasetSpec", ["kind", "parts", "options"],
                                         defaults=[()])):
    """A parsed DATASET argument: kind "coco" | "labelme" | "via" | "masks" | "yolo" | "voc" |
    "python", its parts (coco: (ann_json, image_dir); labelme: (folder,); via: (json,
    image_dir or None); masks: (folder,); yolo: (data_yaml, split or None); voc: (folder, split
    or None); python: (module, attr)) and its options ((key, value) pairs of FORMAT_OPTIONS;
    values are str, or tuples for lists). str() gives the spec back."""
    __slots__ = ()

    def __str__(self):
        if self.kind == "python":
            return ":".join(self.parts)
        options = ["{}={}".format(key, ",".join(map(str, value)) if isinstance(value, tuple)
                                  else value) for key, value in self.options]
        return ":".join([self.kind] + [p for p in self.parts if p is not None] + options)


DATASET_FORMS = ("coco:ANN_JSON:IMAGE_DIR, labelme:FOLDER, via:JSON[:IMAGE_DIR], masks:DIR, "
                 "yolo:DATA_YAML[:SPLIT], voc:DIR[:SPLIT] (each followed by its KEY=VALUE "
                 "options, e.g. via:JSON:class_key=ATTR) or module:attr")
#: The form each file format's spec takes.
FORMAT_FORMS = {kind: form + "".join("[:{}={}]".format(key, value)
                                     for key, value in FORMAT_OPTIONS[kind].items())
                for kind, form in (("coco", "coco:ANN_JSON:IMAGE_DIR"),
                                   ("labelme", "labelme:FOLDER"),
                                   ("via", "via:JSON[:IMAGE_DIR]"), ("masks", "masks:DIR"),
                                   ("yolo", "yolo:DATA_YAML[:SPLIT]"),
                                   ("voc", "voc:DIR[:SPLIT]"))}
#: The --help text of a DATASET argument.
DATASET_HELP = ("the dataset: " + ", ".join(FORMAT_FORMS.values()) + " or module:attr (a "
                "callable returning a prepared Dataset)")


class CliConfig(Config):
    """The base config of the command line. evaluate, detect and export start from the config
    the weights file stores instead, when it stores one (then --config, then --set). NUM_CLASSES
    comes from the dataset, or in detect and export without --dataset from the weights file
    (its mrcnn_class_logits); only those with --weights imagenet and no --dataset use this value
    (COCO: 80 classes + BG) or the one of --config / --set."""
    NAME = "mrcnn"
    NUM_CLASSES = 1 + 80


def parse_dataset_spec(spec):
    """DatasetSpec of a DATASET argument; argparse.ArgumentTypeError (so argparse exits with 2
    and a one-line message) for anything else. Only the syntax is checked here; files are read
    by :func:`load_dataset`. The parts of a file format may be followed by its KEY=VALUE
    options (FORMAT_OPTIONS): ``via:regions.json:images:class_key=class_id``."""
    kind, sep, rest = str(spec).partition(":")
    parts = rest.split(":")
    if not sep or not kind or not all(parts):
        raise argparse.ArgumentTypeError(f"dataset spec {spec!r} is none of {DATASET_FORMS}")
    if kind in FORMAT_FORMS:
        parts, options = _spec_options(spec, kind, parts)
        counts = {"coco": (2,), "labelme": (1,), "masks": (1,)}.get(kind, (1, 2))
        if len(parts) not in counts:
            raise argparse.ArgumentTypeError(f"dataset spec {spec!r}: {kind} takes "
                                             f"{FORMAT_FORMS[kind]}")
        return DatasetSpec(kind, tuple(parts) + (None,) * (max(counts) - len(parts)), options)
    identifiers = kind.split(".") + parts[0].split(".")
    if len(parts) != 1 or not all(name.isidentifier() for name in identifiers):
        raise argparse.ArgumentTypeError(f"dataset spec {spec!r} is none of {DATASET_FORMS}")
    return DatasetSpec("python", (kind, parts[0]))


def _spec_options(spec, kind, parts):
    """(positional parts, options) of a file format's spec parts: the trailing KEY=VALUE parts
    are options, checked against FORMAT_OPTIONS[kind]; ArgumentTypeError naming the valid
    ones for an unknown, repeated or empty option, or one given without "=VALUE"."""
    valid = FORMAT_OPTIONS[kind]
    listed = (f"the options of {kind}: " + ", ".join(f"{key}={form}" for key, form in
                                                     valid.items())
              if valid else f"{kind} takes no options")

    def fail(problem):
        return argparse.ArgumentTypeError(f"dataset spec {spec!r}: {problem}; {listed}")

    first = next((i for i, part in enumerate(parts)
                  if part.partition("=")[0].isidentifier() and "=" in part), len(parts))
    positional, options = parts[:first], {}
    for part in positional:
        if part in valid:
            raise fail(f"option {part} has no value (write {part}={valid[part]})")
    for part in parts[first:]:
        key, sep, value = part.partition("=")
        if not sep or not key.isidentifier():
            raise fail(f"{part!r} after the options is not KEY=VALUE (options come last)")
        if key not in valid:
            raise fail(f"unknown option {key!r}")
        if key in options:
            raise fail(f"option {key} is given twice")
        if not value.strip():
            raise fail(f"option {key} has no value (write {key}={valid[key]})")
        options[key] = _option_value(valid[key], value, fail)
    return positional, tuple(options.items())


def _option_value(form, text, fail):
    """The value of a spec option of value form ``form`` (FORMAT_OPTIONS): a tuple of names
    (checked like class names) or of ids (positive integers) for lists, else the text."""
    from mrcnn.datasets.annotation_files import check_class_names
    items = [item.strip() for item in text.split(",")]
    if form == "NAME,NAME,...":
        try:
            return tuple(check_class_names(items))
        except (TypeError, ValueError) as e:
            raise fail(str(e)) from None
    if form == "ID,ID,...":
        if not all(item.isdigit() and int(item) > 0 for item in items):
            raise fail(f"class_ids must be category ids (positive integers), got {text!r}")
        return tuple(int(item) for item in items)
    return text


def load_dataset(spec, class_names=None, role="train"):
    """The prepared Dataset a DatasetSpec names, after printing its summary() under the spec.

    class_names: for labelme, via and masks, the classes in id order (e.g. the training set's,
    so that a validation set numbers them alike); None: as the spec's class_names option or
    the files give them.
    role: "train" or "val": the split that yolo and voc specs without one load ("train" or
    "val"; voc without ImageSets lists loads every image either way).
    Raises DatasetError for files that do not read, UsageError for options that do not fit
    the files or the training set, and for a module:attr that does not import or does not give
    a prepared Dataset.
    """
    from mrcnn.datasets import DatasetError
    if role not in ("train", "val"):
        raise ValueError(f"role must be 'train' or 'val', got {role!r}")
    options = _options(spec, class_names)
    try:
        dataset = _loaded(spec, options, role)
    except (TypeError, ValueError) as e:
        if isinstance(e, DatasetError) or spec.kind == "python":
            raise
        # The loaders raise these for arguments that do not go together: here the options.
        raise runner.UsageError(f"dataset {spec}: {e}") from None
    print(f"Dataset {spec}:")
    dataset.summary()
    return dataset


def _options(spec, class_names):
    """The loader arguments of the spec's options, with ``class_names`` (the training set's)
    for labelme, via and masks; UsageError where they contradict it."""
    options = {key: list(value) if isinstance(value, tuple) else value
               for key, value in spec.options}
    if class_names is None or spec.kind not in ("labelme", "via", "masks"):
        return options
    class_names = [name for name in class_names if name != "BG"]
    if options.get("class_names", class_names) != class_names:
        raise runner.UsageError(f"dataset {spec}: class_names differs from the training set's "
                                f"classes {','.join(class_names)}")
    if spec.kind == "via" and "class_key" not in options and len(class_names) > 1:
        raise runner.UsageError(f"dataset {spec}: the training set's {len(class_names)} "
                                f"classes come from a region attribute: add :class_key=ATTR "
                                f"to this spec as to the training set's")
    return dict(options, class_names=class_names)


def _loaded(spec, options, role):
    """The prepared Dataset of a spec, its loader called with ``options``."""
    from mrcnn.datasets import (
        CocoDataset,
        LabelmeDataset,
        MaskFolderDataset,
        ViaDataset,
        VocInstanceDataset,
        YoloSegDataset,
    )
    if spec.kind == "coco":
        dataset = CocoDataset()
        dataset.load_coco(*spec.parts, **options)
    elif spec.kind == "labelme":
        dataset = LabelmeDataset()
        dataset.load_labelme(spec.parts[0], **options)
    elif spec.kind == "via":
        dataset = ViaDataset()
        dataset.load_via(spec.parts[0], image_dir=spec.parts[1], **options)
    elif spec.kind == "masks":
        dataset = MaskFolderDataset()
        dataset.load_masks(spec.parts[0], **options)
    elif spec.kind == "yolo":
        dataset = YoloSegDataset()
        dataset.load_yolo(spec.parts[0], split=spec.parts[1] or role)
    elif spec.kind == "voc":
        dataset = VocInstanceDataset()
        dataset.load_voc(spec.parts[0], split=spec.parts[1] or _voc_default_split(
            spec.parts[0], role), **options)
    else:
        return _python_dataset(spec)
    dataset.prepare()
    return dataset


def _python_dataset(spec):
    """The prepared Dataset a module:attr spec's callable returns; UsageError otherwise."""
    from mrcnn.datasets import Dataset
    module_name, attr = spec.parts
    try:
        target = importlib.import_module(module_name)
    except ImportError as e:
        raise runner.UsageError(f"dataset {module_name}:{attr}: cannot import "
                                f"{module_name} ({e})") from None
    for name in attr.split("."):
        if not hasattr(target, name):
            raise runner.UsageError(f"dataset {module_name}:{attr}: {module_name} has no "
                                    f"{attr}")
        target = getattr(target, name)
    if not callable(target):
        raise runner.UsageError(f"dataset {module_name}:{attr} is not callable")
    dataset = target()
    if not isinstance(dataset, Dataset) or not hasattr(dataset, "num_classes"):
        raise runner.UsageError(f"dataset {module_name}:{attr}() must return a prepared "
                                f"mrcnn Dataset (call prepare()), got "
                                f"{type(dataset).__name__}")
    return dataset


def _voc_default_split(folder, role):
    """``role`` when the VOC folder has that ImageSets/Segmentation list, else None (every
    image: labelme2voc writes no lists)."""
    lists = os.path.join(folder, "ImageSets", "Segmentation", role + ".txt")
    return role if os.path.isfile(lists) else None


def build_parser():
    """The argparse parser of the five subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Mask R-CNN: train, evaluate, detect and export from the command "
                               "line.",
        epilog="DATASET is " + DATASET_FORMS + ".")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train = commands.add_parser("train", help="train from weights on a dataset")
    train.add_argument("dataset", type=parse_dataset_spec, metavar="DATASET", help=DATASET_HELP)
    train.add_argument("--val", type=parse_dataset_spec, metavar="DATASET",
                       help="validation set (default: the training set); labelme, via and "
                            "masks sets get the training set's classes (a via spec needs its "
                            "class_key too)")
    train.add_argument("--layers", default="heads", metavar="heads|3+|4+|5+|all|REGEX",
                       help="layers to train (default: heads)")
    train.add_argument("--epochs", type=runner.positive_count, required=True, metavar="N",
                       help="epochs to train, counted from the epoch of --weights last")
    train.add_argument("--lr", type=runner.positive, metavar="X",
                       help="learning rate (default: the config's LEARNING_RATE)")
    evaluate = commands.add_parser("evaluate", help="COCO-style AP/AR and VOC mAP")
    evaluate.add_argument("dataset", type=parse_dataset_spec, metavar="DATASET",
                          help=DATASET_HELP)
    evaluate.add_argument("--out", metavar="DIR",
                          help="write the results with their provenance (weights, dataset, "
                               "config, version, date) to DIR/<weights stem>.evaluation.json "
                               "(default: the weights file's folder)")
    evaluate.add_argument("--json", metavar="FILE",
                          help="write the results json to FILE instead")
    evaluate.add_argument("--limit", type=runner.positive_count, metavar="N",
                          help="the first N images only")
    evaluate.add_argument("--report", metavar="DIR",
                          help="write an HTML report there (DIR/index.html and its pictures: "
                               "figures, precision-recall curves, confusion matrix, the worst "
                               "images, training curves)")
    evaluate.add_argument("--report-images", type=runner.count, default=24, metavar="N",
                          help="images in the report's gallery, worst first (default: 24)")
    evaluate.add_argument("--report-min-score", type=_score, default=0.5, metavar="S",
                          help="detections of score >= S count in the report's confusion "
                               "matrix and gallery (default: 0.5)")
    evaluate.add_argument("--report-logs", metavar="DIR",
                          help="training log folder whose TensorBoard loss curves the report "
                               "draws (default: the folder of the weights file, when it holds "
                               "event files)")
    from mrcnn.datasets import prelabel
    detect = commands.add_parser(
        "detect", help="draw detections and write COCO results, or write them as labelme / "
                       "VIA / COCO annotations to correct (pre-labels)")
    detect.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER")
    names = detect.add_mutually_exclusive_group()
    names.add_argument("--dataset", type=parse_dataset_spec, metavar="DATASET",
                       help="for the class names (default: NUM_CLASSES from the weights, "
                            "classes named 'class 1', ...)")
    names.add_argument("--class-names", type=_class_names_list, metavar="NAME,NAME,...",
                       help="the names of classes 1, 2, ... (instead of --dataset)")
    detect.add_argument("--out", metavar="DIR",
                        help="pictures DIR/<image>.png and DIR/detections.json; with --write "
                             "the folder of the annotation files (default: beside the images)")
    detect.add_argument("--write", choices=("labelme", "via", "coco"),
                        help=f"write the detections as annotations instead of pictures: "
                             f"labelme <image>.json files, a VIA project {prelabel.VIA_FILE_NAME} "
                             f"or a COCO {prelabel.COCO_FILE_NAME}; existing files are kept "
                             f"(see --overwrite)")
    detect.add_argument("--min-score", type=_score, metavar="S",
                        help="with --write: leave out detections of score < S (default: all "
                             "that DETECTION_MIN_CONFIDENCE keeps)")
    detect.add_argument("--tolerance", type=_pixels, metavar="PX",
                        help=f"with --write: polygon simplification in pixels (default: "
                             f"{prelabel.DEFAULT_TOLERANCE:g}; 0 traces every pixel step)")
    detect.add_argument("--overwrite", action="store_true",
                        help="with --write: replace existing annotation files (human work!)")
    export = commands.add_parser(
        "export", help="write a TensorFlow SavedModel that takes uint8 images of any size")
    export.add_argument("out", metavar="OUT_DIR",
                        help="the SavedModel folder (an earlier export there is replaced)")
    export.add_argument("--dataset", type=parse_dataset_spec, metavar="DATASET",
                        help="add a class_names output with the dataset's names (default: no "
                             "names; NUM_CLASSES from the weights)")
    for sub, default in ((train, "coco"), (evaluate, "last"), (detect, "last"), (export, "last")):
        sub.add_argument("--weights", default=default, metavar="coco|imagenet|last|none|PATH",
                         help=f"weights to start from (default: {default}); coco is "
                              f"{runner.COCO_WEIGHTS_FILE} in the current folder, downloaded "
                              f"if missing; last is the last checkpoint under --logs")
        sub.add_argument("--config", metavar="FILE", help="YAML/JSON file of Config values")
        sub.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                         help="Config overrides, e.g. --set IMAGES_PER_GPU=1 BACKBONE=resnet50; "
                              "for rectangular photos IMAGE_RESIZE_MODE=scale_pad64 (pads each "
                              "side to a multiple of 64 instead of to a square)")
        sub.add_argument("--logs", default="logs", metavar="DIR",
                         help="checkpoints and TensorBoard logs (default: logs)")
    inspect = commands.add_parser("inspect-weights", help="list a .h5's layers and shapes")
    inspect.add_argument("file", metavar="FILE", nargs="?",
                         help="the .h5 file (or --weights last|PATH, as the other commands)")
    inspect.add_argument("--weights", metavar="last|PATH",
                         help="last: the last checkpoint under --logs (of the command line's "
                              f"NAME {CliConfig.NAME}); or a path, as FILE")
    inspect.add_argument("--logs", default="logs", metavar="DIR",
                         help="where --weights last looks (default: logs)")
    inspect.add_argument("--num-classes", type=runner.positive_count, metavar="N",
                         help="say which layers a model of N classes (with BG) leaves out")
    for sub in commands.choices.values():
        sub.add_argument("--tf-logs", action="store_true",
                         help="show TensorFlow's own log lines (by default silenced unless "
                              "TF_CPP_MIN_LOG_LEVEL is set)")
    return parser


def _train(args):
    # The data first: its errors come before the seconds TensorFlow takes to import.
    train_set = load_dataset(args.dataset)
    val_set = (load_dataset(args.val, _class_names(args.val, train_set.class_names), role="val")
               if args.val else train_set)
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.finetune import Stage
    # A file of this project (resumed with last, or fine-tuned from) gives its own config.
    stored = runner.weights_config(CliConfig, *_weights_file(args))
    config = runner.make_config(CliConfig, args, stored=stored,
                                NUM_CLASSES=train_set.num_classes)
    config.display()
    model = MaskRCNN(mode="training", config=config, model_dir=args.logs)
    runner.load_training_weights(model, args.weights)
    stage = Stage(args.layers, model.epoch + args.epochs, args.lr or config.LEARNING_RATE)
    runner.train(model, train_set, val_set, [stage])
    return 0


def _class_names(spec, class_names):
    """``class_names`` (the training set's, or those the weights file stores) for a
    labelme/via/masks set to number its classes as the model does (a set lacking one class
    would shift the ids of the others); None for the other formats or no names."""
    return list(class_names) if class_names and spec.kind in ("labelme", "via", "masks") \
        else None


def _weights_file(args):
    """(path, metadata) of --weights, read before the model is built
    (:func:`mrcnn.runner.stored_weights`; "last" under --logs by the NAME of --config / --set)."""
    name_config = runner.make_config(CliConfig, args) if args.weights.lower() == "last" else None
    return runner.stored_weights(args.weights, name_config, args.logs)


def _inference_model(args, num_classes=None, weights=None):
    """The inference model of evaluate, detect and export with --weights loaded, built with the
    config the weights file stores (if any) under --config and --set, and NUM_CLASSES
    ``num_classes`` when given. weights: --weights' (path, metadata) when already read
    (:func:`_weights_file`)."""
    from mrcnn.maskrcnn import MaskRCNN
    path, metadata = weights or _weights_file(args)
    stored = runner.weights_config(CliConfig, path, metadata)
    values = {"NUM_CLASSES": num_classes} if num_classes else {}
    config = runner.make_config(CliConfig, args, inference=True, stored=stored, **values)
    model = MaskRCNN(mode="inference", config=config, model_dir=args.logs)
    runner.load_inference_weights(model, path or args.weights)
    return model


def _score(text):
    """A number in [0, 1] for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _evaluate(args):
    dataset = load_dataset(args.dataset, role="val")
    weights = _weights_file(args)
    names = _class_names(args.dataset, (weights[1] or {}).get("class_names"))
    if names and dataset.class_names != names:
        # Numbered as the model's classes (a set lacking one would shift the others' ids).
        dataset = load_dataset(args.dataset, names, role="val")
    model = _inference_model(args, dataset.num_classes, weights)
    weights = os.path.abspath(weights[0] or runner.weights_path(model, args.weights))
    report = {}
    if args.report:
        log_dir = args.report_logs
        if log_dir is None and _has_event_files(os.path.dirname(weights)):
            log_dir = os.path.dirname(weights)
        report = {"report": args.report, "report_images": args.report_images,
                  "report_min_score": args.report_min_score, "log_dir": log_dir}
    runner.evaluate(model, dataset, limit=args.limit, json_path=_evaluation_json(args, weights),
                    provenance={"weights": weights, "dataset": str(args.dataset)}, **report)
    return 0


def _evaluation_json(args, weights):
    """Where evaluate writes its json: --json, else <--out or the weights' folder>/<weights
    file stem>.evaluation.json."""
    if args.json:
        return args.json
    stem = os.path.splitext(os.path.basename(weights))[0]
    return os.path.join(args.out or os.path.dirname(weights), stem + ".evaluation.json")


def _has_event_files(folder):
    """Whether ``folder`` or one of its subfolders (train/, validation/, where Keras'
    TensorBoard callback writes) holds TensorBoard event files; deeper folders are not searched
    (the weights may lie in a large folder)."""
    folders = [folder] + [entry.path for entry in os.scandir(folder) if entry.is_dir()]
    return any(name.startswith("events.out.tfevents")
               for f in folders for name in os.listdir(f))


def _named_model(args):
    """(inference model, class names or None) for detect and export: the classes of --dataset,
    else NUM_CLASSES from the weights file (its mrcnn_class_logits), else from the config;
    detect's --class-names name the classes (their count must match the weights'), else the
    class names the weights file stores. detect --write without names is a UsageError."""
    from mrcnn.weights import read_weight_shapes
    class_names, num_classes = None, None
    if args.dataset:
        class_names = load_dataset(args.dataset).class_names
        num_classes = len(class_names)
    path, metadata = _weights_file(args)
    if path and not args.dataset:
        num_classes = read_weight_shapes(path).get("mrcnn_class_logits", [(None,)])[0][-1]
    stored_names = (metadata or {}).get("class_names")
    if getattr(args, "class_names", None):
        class_names = ["BG"] + args.class_names
        if num_classes and num_classes != len(class_names):
            raise runner.UsageError(
                f"--class-names names {len(class_names) - 1} classes but the weights "
                f"{args.weights} are for {num_classes - 1} (NUM_CLASSES {num_classes} counts "
                f"the background)")
        num_classes = len(class_names)
    elif class_names is None and stored_names and num_classes in (None, len(stored_names)):
        class_names = list(stored_names)
        print(f"Class names from the weights file: {', '.join(class_names[1:])}")
    if getattr(args, "write", None) and class_names is None:
        raise runner.UsageError(f"--write {args.write} needs the class names: give "
                                f"--class-names NAME,NAME,... (classes 1, 2, ...) or --dataset "
                                f"DATASET (the weights file names none)")
    return _inference_model(args, num_classes, (path, metadata)), class_names


def _class_names_list(text):
    """Class names from "a,b,c" for argparse (blank and repeated names refused)."""
    from mrcnn.datasets.annotation_files import check_class_names
    try:
        return check_class_names([name.strip() for name in text.split(",")],
                                 argument="--class-names")
    except (TypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _pixels(text):
    """A number of pixels >= 0 for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of pixels >= 0, got {text!r}")
    return value


def _detect(args):
    if args.write is None:
        for option in ("min_score", "tolerance"):
            if getattr(args, option) is not None:
                raise runner.UsageError(f"--{option.replace('_', '-')} goes with --write")
    model, class_names = _named_model(args)
    if args.write:
        runner.detect(model, args.images, class_names, args.out, write=args.write,
                      min_score=args.min_score, tolerance=args.tolerance,
                      overwrite=args.overwrite)
        return 0
    if class_names is None:
        class_names = ["BG"] + [f"class {i}" for i in range(1, model.config.NUM_CLASSES)]
    runner.detect(model, args.images, class_names, args.out,
                  results_json=os.path.join(args.out, "detections.json"))
    return 0


def _export(args):
    from mrcnn.export import check_export_folder
    check_export_folder(args.out)       # before the seconds a model takes to build
    model, class_names = _named_model(args)
    model.export(args.out, class_names=class_names)
    config = model.config
    resized = (f"resized to {config.IMAGE_SHAPE[0]} px" if config.IMAGE_RESIZE_MODE == "square"
               else f"IMAGE_RESIZE_MODE {config.IMAGE_RESIZE_MODE}")
    print(f"Exported a SavedModel of {config.NUM_CLASSES} classes (input {resized}) to "
          f"{args.out}")
    return 0


def _inspect_weights(args):
    from mrcnn.maskrcnn import find_last
    from mrcnn.weights import (
        backbone_of,
        excluded_for_num_classes,
        read_metadata,
        read_weight_shapes,
    )
    given = [value for value in (args.file, args.weights) if value]
    if len(given) != 1:
        raise runner.UsageError("inspect-weights takes the file as FILE or as --weights "
                                "last|PATH, one of the two")
    path = given[0]
    if path.lower() == "last":
        path = find_last(args.logs, CliConfig.NAME)
        print(f"Last checkpoint under {args.logs}: {path}")
    shapes = read_weight_shapes(path)
    width = max(len(name) for name in shapes)
    for name, layer_shapes in shapes.items():
        print(f"{name:<{width}}  " + "  ".join(str(list(s)) for s in layer_shapes))
    print(f"{len(shapes)} layers with weights")
    if "mrcnn_class_logits" in shapes:
        print(f"NUM_CLASSES of the file: {shapes['mrcnn_class_logits'][0][-1]}")
    metadata = read_metadata(path) or {}
    if metadata.get("backbone"):
        print(f"Backbone: {metadata['backbone']}")
    elif backbone_of(shapes):
        print(f"Backbone (from the layer names): {backbone_of(shapes)}")
    if metadata.get("class_names"):
        print("Class names: " + ", ".join(metadata["class_names"]))
    stored = metadata.get("config")
    if stored:
        print("Config stored in the file (evaluate, detect and export use it; Python: "
              "Config.from_weights):")
        for key in runner.KEY_SETTINGS:
            if key in stored:
                print(f"  {key:<18} {stored[key]}")
    else:
        print("No config stored (Matterport or older file)")
    if args.num_classes:
        excluded = excluded_for_num_classes(shapes, args.num_classes)
        print(f"Excluded for NUM_CLASSES={args.num_classes}: "
              + (", ".join(excluded) if excluded else "none"))
    return 0


COMMANDS = {"train": _train, "evaluate": _evaluate, "detect": _detect, "export": _export,
            "inspect-weights": _inspect_weights}


def main(argv=None):
    """Run the command line ``argv`` (default sys.argv[1:]); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.tf_logs:
        from mrcnn.tflogs import quiet_tensorflow
        quiet_tensorflow()      # before the commands import TensorFlow
    if args.command == "detect" and args.out is None and args.write is None:
        parser.error("the following arguments are required: --out (or --write)")
    return runner.run(lambda: COMMANDS[args.command](args), prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
