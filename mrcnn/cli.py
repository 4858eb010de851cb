"""The ``mrcnn`` command line (console script ``mrcnn``; also ``python -m mrcnn``).

    mrcnn train DATASET [--val DATASET] --weights coco|imagenet|last|none|PATH
                --layers heads|3+|4+|5+|all|REGEX --epochs N [--lr X]
                [--config FILE] [--set KEY=VALUE ...] [--logs DIR]
    mrcnn evaluate DATASET --weights last|PATH [--json OUT] [--limit N] [--report DIR]
    mrcnn detect IMAGE_OR_FOLDER ... --weights coco|last|PATH [--dataset DATASET] --out DIR
    mrcnn detect IMAGE_OR_FOLDER ... --weights coco|last|PATH --write labelme|via|coco
                [--dataset DATASET | --class-names A,B,...] [--out DIR] [--min-score S]
                [--tolerance PX] [--overwrite]
    mrcnn export OUT_DIR --weights coco|last|PATH [--dataset DATASET]
    mrcnn inspect-weights FILE [--num-classes N]

Glossary: a DATASET spec names annotations and how to read them (see :func:`parse_dataset_spec`):
``coco:ANN_JSON:IMAGE_DIR``, ``labelme:FOLDER``, ``via:JSON[:IMAGE_DIR]``, ``masks:DIR`` (mask
image folders), ``yolo:DATA_YAML[:SPLIT]`` (YOLO segmentation labels), ``voc:DIR[:SPLIT]``
(Pascal VOC instance PNGs) or ``module:attr`` (a Python import; ``attr`` a callable returning a
prepared :class:`mrcnn.datasets.Dataset`). Without a SPLIT, yolo and voc load the "train" split
for training and the "val" split for --val and evaluate (voc without ImageSets lists: every
image).
"weights" as in :mod:`mrcnn.runner`. Class 0 is background; NUM_CLASSES counts it.

Exit codes: 0 success; 2 a command line that does not parse (argparse, message on stderr);
1 input that does not work (missing files, DatasetError, ConfigError, WeightsFileError,
DownloadError, UsageError, an export folder that holds something else), one line
"mrcnn: error: ..." on stderr, no traceback.
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
#: A parsed DATASET argument: kind "coco" | "labelme" | "via" | "masks" | "yolo" | "voc" |
#: "python" and its parts (coco: (ann_json, image_dir); labelme: (folder,); via: (json,
#: image_dir or None); masks: (folder,); yolo: (data_yaml, split or None); voc: (folder, split
#: or None); python: (module, attr)).
DatasetSpec = collections.namedtuple("DatasetSpec", ["kind", "parts"])
DATASET_FORMS = ("coco:ANN_JSON:IMAGE_DIR, labelme:FOLDER, via:JSON[:IMAGE_DIR], masks:DIR, "
                 "yolo:DATA_YAML[:SPLIT], voc:DIR[:SPLIT] or module:attr")
#: The form each file format's spec takes.
FORMAT_FORMS = {"coco": "coco:ANN_JSON:IMAGE_DIR", "labelme": "labelme:FOLDER",
                "via": "via:JSON[:IMAGE_DIR]", "masks": "masks:DIR",
                "yolo": "yolo:DATA_YAML[:SPLIT]", "voc": "voc:DIR[:SPLIT]"}


class CliConfig(Config):
    """The base config of the command line. NUM_CLASSES comes from the dataset, or in detect and
    export without --dataset from the weights file (its mrcnn_class_logits); only those with
    --weights last|imagenet and no --dataset use this value (COCO: 80 classes + BG) or the
    one of --config / --set."""
    NAME = "mrcnn"
    NUM_CLASSES = 1 + 80


def parse_dataset_spec(spec):
    """DatasetSpec of a DATASET argument; argparse.ArgumentTypeError (so argparse exits with 2
    and a one-line message) for anything else. Only the syntax is checked here; files are read
    by :func:`load_dataset`."""
    kind, sep, rest = str(spec).partition(":")
    parts = rest.split(":")
    if not sep or not kind or not all(parts):
        raise argparse.ArgumentTypeError(f"dataset spec {spec!r} is none of {DATASET_FORMS}")
    if kind == "coco" and len(parts) == 2:
        return DatasetSpec("coco", tuple(parts))
    if kind == "labelme" and len(parts) == 1:
        return DatasetSpec("labelme", tuple(parts))
    if kind in ("via", "yolo", "voc") and len(parts) in (1, 2):
        return DatasetSpec(kind, (parts[0], parts[1] if len(parts) == 2 else None))
    if kind == "masks" and len(parts) == 1:
        return DatasetSpec("masks", tuple(parts))
    if kind in FORMAT_FORMS:
        raise argparse.ArgumentTypeError(f"dataset spec {spec!r}: {kind} takes "
                                         f"{FORMAT_FORMS[kind]}")
    identifiers = kind.split(".") + parts[0].split(".")
    if len(parts) != 1 or not all(name.isidentifier() for name in identifiers):
        raise argparse.ArgumentTypeError(f"dataset spec {spec!r} is none of {DATASET_FORMS}")
    return DatasetSpec("python", (kind, parts[0]))


def load_dataset(spec, class_names=None, role="train"):
    """The prepared Dataset a DatasetSpec names.

    class_names: for labelme, via and masks, the classes in id order (e.g. the training set's,
    so that a validation set numbers them alike); None: as the files give them.
    role: "train" or "val": the split that yolo and voc specs without one load ("train" or
    "val"; voc without ImageSets lists loads every image either way).
    Raises DatasetError for files that do not read, UsageError for a module:attr that does not
    import or does not give a prepared Dataset.
    """
    from mrcnn.datasets import (CocoDataset, Dataset, LabelmeDataset, MaskFolderDataset,
                                ViaDataset, VocInstanceDataset, YoloSegDataset)
    if role not in ("train", "val"):
        raise ValueError(f"role must be 'train' or 'val', got {role!r}")
    if spec.kind == "coco":
        dataset = CocoDataset()
        dataset.load_coco(*spec.parts)
    elif spec.kind == "labelme":
        dataset = LabelmeDataset()
        dataset.load_labelme(spec.parts[0], class_names=class_names)
    elif spec.kind == "via":
        dataset = ViaDataset()
        dataset.load_via(spec.parts[0], image_dir=spec.parts[1], class_names=class_names)
    elif spec.kind == "masks":
        dataset = MaskFolderDataset()
        dataset.load_masks(spec.parts[0], class_names=class_names)
    elif spec.kind == "yolo":
        dataset = YoloSegDataset()
        dataset.load_yolo(spec.parts[0], split=spec.parts[1] or role)
    elif spec.kind == "voc":
        dataset = VocInstanceDataset()
        dataset.load_voc(spec.parts[0], split=spec.parts[1] or _voc_default_split(
            spec.parts[0], role))
    else:
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
    dataset.prepare()
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
    train.add_argument("dataset", type=parse_dataset_spec, metavar="DATASET")
    train.add_argument("--val", type=parse_dataset_spec, metavar="DATASET",
                       help="validation set (default: the training set)")
    train.add_argument("--layers", default="heads", metavar="heads|3+|4+|5+|all|REGEX",
                       help="layers to train (default: heads)")
    train.add_argument("--epochs", type=runner.positive_count, required=True, metavar="N",
                       help="epochs to train, counted from the epoch of --weights last")
    train.add_argument("--lr", type=runner.positive, metavar="X",
                       help="learning rate (default: the config's LEARNING_RATE)")
    evaluate = commands.add_parser("evaluate", help="COCO-style AP/AR and VOC mAP")
    evaluate.add_argument("dataset", type=parse_dataset_spec, metavar="DATASET")
    evaluate.add_argument("--json", metavar="OUT", help="write the results there")
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
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--num-classes", type=runner.positive_count, metavar="N",
                         help="say which layers a model of N classes (with BG) leaves out")
    return parser


def _train(args):
    # The data first: its errors come before the seconds TensorFlow takes to import.
    train_set = load_dataset(args.dataset)
    val_set = (load_dataset(args.val, _class_names(args.val, train_set), role="val")
               if args.val else train_set)
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.finetune import Stage
    config = runner.make_config(CliConfig, args, NUM_CLASSES=train_set.num_classes)
    config.display()
    model = MaskRCNN(mode="training", config=config, model_dir=args.logs)
    runner.load_training_weights(model, args.weights)
    stage = Stage(args.layers, model.epoch + args.epochs, args.lr or config.LEARNING_RATE)
    runner.train(model, train_set, val_set, [stage])
    return 0


def _class_names(spec, dataset):
    """The training set's classes for a labelme/via/masks validation set (None for the
    others)."""
    return dataset.class_names[1:] if spec.kind in ("labelme", "via", "masks") else None


def _inference_model(args, num_classes):
    from mrcnn.maskrcnn import MaskRCNN
    values = {"NUM_CLASSES": num_classes} if num_classes else {}
    config = runner.make_config(CliConfig, args, inference=True, **values)
    model = MaskRCNN(mode="inference", config=config, model_dir=args.logs)
    runner.load_inference_weights(model, args.weights)
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
    model = _inference_model(args, dataset.num_classes)
    report = {}
    if args.report:
        weights = runner.weights_path(model, args.weights)     # the file just loaded
        log_dir = args.report_logs
        if log_dir is None and _has_event_files(os.path.dirname(os.path.abspath(weights))):
            log_dir = os.path.dirname(os.path.abspath(weights))
        spec = ":".join([args.dataset.kind] + [p for p in args.dataset.parts if p])
        if args.dataset.kind == "python":
            spec = ":".join(args.dataset.parts)
        report = {"report": args.report, "report_images": args.report_images,
                  "report_min_score": args.report_min_score, "log_dir": log_dir,
                  "provenance": {"weights": os.path.abspath(weights), "dataset": spec}}
    runner.evaluate(model, dataset, limit=args.limit, json_path=args.json, **report)
    return 0


def _has_event_files(folder):
    """Whether ``folder`` or one of its subfolders (train/, validation/, where Keras'
    TensorBoard callback writes) holds TensorBoard event files; deeper folders are not searched
    (the weights may lie in a large folder)."""
    folders = [folder] + [entry.path for entry in os.scandir(folder) if entry.is_dir()]
    return any(name.startswith("events.out.tfevents")
               for f in folders for name in os.listdir(f))


def _named_model(args):
    """(inference model, class names or None) for detect and export: the classes of --dataset,
    else NUM_CLASSES from the weights file (coco or a path), else from the config; detect's
    --class-names name the classes (their count must match the weights')."""
    from mrcnn.weights import read_weight_shapes
    class_names, num_classes = None, None
    if args.dataset:
        class_names = load_dataset(args.dataset).class_names
        num_classes = len(class_names)
    elif args.weights.lower() not in runner.WEIGHTS_KEYWORDS or args.weights.lower() == "coco":
        path = runner.weights_path(None, args.weights)
        num_classes = read_weight_shapes(path).get("mrcnn_class_logits", [(None,)])[0][-1]
    if getattr(args, "class_names", None):
        class_names = ["BG"] + args.class_names
        if num_classes and num_classes != len(class_names):
            raise runner.UsageError(
                f"--class-names names {len(class_names) - 1} classes but the weights "
                f"{args.weights} are for {num_classes - 1} (NUM_CLASSES {num_classes} counts "
                f"the background)")
        num_classes = len(class_names)
    return _inference_model(args, num_classes), class_names


def _class_names_list(text):
    """Class names from "a,b,c" for argparse (blank and repeated names refused)."""
    from mrcnn.datasets.rasterize import check_class_names
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
    elif args.dataset is None and args.class_names is None:
        raise runner.UsageError(f"--write {args.write} needs the class names: give "
                                f"--class-names NAME,NAME,... (classes 1, 2, ...) or --dataset "
                                f"DATASET")
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
    from mrcnn.weights import excluded_for_num_classes, read_weight_shapes
    shapes = read_weight_shapes(args.file)
    width = max(len(name) for name in shapes)
    for name, layer_shapes in shapes.items():
        print(f"{name:<{width}}  " + "  ".join(str(list(s)) for s in layer_shapes))
    print(f"{len(shapes)} layers with weights")
    if "mrcnn_class_logits" in shapes:
        print(f"NUM_CLASSES of the file: {shapes['mrcnn_class_logits'][0][-1]}")
    if args.num_classes:
        excluded = excluded_for_num_classes(shapes, args.num_classes)
        print(f"Excluded for NUM_CLASSES={args.num_classes}: "
              + (", ".join(excluded) if excluded else "none"))
    return 0


COMMANDS = {"train": _train, "evaluate": _evaluate, "detect": _detect, "export": _export,
            "inspect-weights": _inspect_weights}


def main(argv=None):
    """Run the command line ``argv`` (default sys.argv[1:]); returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")     # TensorFlow's C++ start-up chatter
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "detect" and args.out is None and args.write is None:
        parser.error("the following arguments are required: --out (or --write)")
    return runner.run(lambda: COMMANDS[args.command](args), prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
