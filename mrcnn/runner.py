"""The steps behind the ``mrcnn`` command line and the samples' scripts: config from the command
line, the weights to start from, staged training, evaluation, detection pictures, and one-line
errors instead of tracebacks.

Glossary: "weights" names a .h5 file or one of :data:`WEIGHTS_KEYWORDS` (coco: Matterport's COCO
model, downloaded when missing; imagenet: the ResNet50 ImageNet backbone; last: the last
checkpoint under the model's log folder; none: random weights); "stage" is
:class:`mrcnn.training.finetune.Stage` (layers, cumulative target epoch, learning rate); images
are uint8 RGB [height, width, 3] as Dataset.load_image gives them; pixel boxes are
(y1, x1, y2, x2) with y2/x2 exclusive; class 0 is background.
"""
import argparse
import collections
import json
import os
import sys

from mrcnn.config import COMPUTED_ATTRIBUTES, ConfigError
from mrcnn.datasets.annotation_files import check_class_names
from mrcnn.datasets.base import DatasetError
from mrcnn.datasets.image_io import is_image_file, read_image
from mrcnn.download import DownloadError
from mrcnn.files import atomic_path
from mrcnn.weights import WeightsFileError

__all__ = ["UsageError", "WEIGHTS_KEYWORDS", "COCO_WEIGHTS_FILE", "USER_ERRORS", "count",
           "positive_count", "positive", "make_config", "KEY_SETTINGS", "stored_weights",
           "weights_config", "weights_path", "load_training_weights",
           "load_inference_weights", "train", "evaluate", "image_files", "read_images",
           "detect", "write_prelabels", "run"]

#: ``--weights`` keywords (anything else is a file path).
WEIGHTS_KEYWORDS = ("coco", "imagenet", "last", "none")
#: Where ``--weights coco`` looks for Matterport's COCO model unless told otherwise (``coco_path``):
#: the current folder, as Matterport's samples and notebooks did; downloaded there if missing.
COCO_WEIGHTS_FILE = "mask_rcnn_coco.h5"


class UsageError(ValueError):
    """A command line that cannot work (e.g. evaluate with --weights none)."""


#: Errors about the user's input that :func:`run` reports in one line (exit code 1).
USER_ERRORS = (DatasetError, WeightsFileError, DownloadError, ConfigError, FileNotFoundError,
               FileExistsError, UsageError)


def count(text):
    """An int >= 0 for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_count(text):
    """An int >= 1 for argparse."""
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def positive(text):
    """A number > 0 for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def make_config(config_class, args, inference=False, stored=None, **values):
    """The config of a command: ``config_class`` defaults, then ``stored`` (the config stored in
    the weights file, :func:`weights_config`), then ``args.config`` (a YAML/JSON file,
    Config.from_file), then ``args.set`` (["KEY=VALUE", ...], Config.apply_overrides), then
    ``values`` that the data dictates (e.g. NUM_CLASSES, which wins over a --config file; naming
    it in --set with another value is a ConfigError). Inference configs run one image at a time.
    A --config or --set value that differs from ``stored``'s is said in one line each.
    """
    if stored is not None:
        stored = config_class.from_dict({}, base=stored)        # a copy, left as it is
    config = (config_class.from_file(args.config, base=stored) if args.config
              else config_class.from_dict({}, base=stored) if stored is not None
              else config_class())
    config.apply_overrides(args.set)
    if stored is not None:
        _say_overrides(stored, config, args)
    named = {item.split("=", 1)[0].strip() for item in args.set}
    clashes = [key for key, value in values.items()
               if key in named and getattr(config, key) != value]
    if clashes:
        raise ConfigError("--set {} disagrees with the dataset, which gives {}; leave it "
                          "out".format(", ".join(clashes), values))
    if values:
        config.update(**values)
    if inference:
        config.update(GPU_COUNT=1, IMAGES_PER_GPU=1)
    return config


#: The settings that ``inspect-weights`` and the commands that read a weights file's config show.
KEY_SETTINGS = ("NAME", "BACKBONE", "NUM_CLASSES", "IMAGE_RESIZE_MODE", "IMAGE_MIN_DIM",
                "IMAGE_MAX_DIM", "RPN_ANCHOR_SCALES", "RPN_ANCHOR_STRIDE", "MIXED_PRECISION")


def _say_overrides(stored, config, args):
    """Print a line for each setting in which ``config`` (after --config and --set) differs from
    ``stored``, the config of the weights file."""
    named = {item.split("=", 1)[0].strip(): item for item in args.set}
    theirs, mine = stored.to_dict(), config.to_dict()
    for key in sorted(mine):
        if key in COMPUTED_ATTRIBUTES or theirs.get(key) == mine[key]:
            continue
        source = (f"--set {named[key]}" if key in named
                  else f"--config {args.config}: {key}={_value(mine[key])}")
        print(f"{source} differs from the weights file's {_value(theirs.get(key))}; "
              f"using {_value(mine[key])}")


def _value(value):
    """A setting's value as written after --set KEY=."""
    return value if isinstance(value, str) else json.dumps(value)


def stored_weights(weights, config, model_dir, coco_path=None):
    """(path, metadata) of ``weights`` found before a model is built: "last" is the last
    checkpoint of ``config``'s NAME under ``model_dir``, the others as in :func:`weights_path`;
    metadata is what the file stores (:func:`mrcnn.weights.read_metadata`, None for Matterport's
    files). (None, None) for "imagenet" and "none", which need the model."""
    from mrcnn.maskrcnn import find_last
    from mrcnn.weights import read_metadata
    keyword = weights.lower()
    if keyword in ("imagenet", "none"):
        return None, None
    path = (find_last(model_dir, config.NAME) if keyword == "last"
            else weights_path(None, weights, coco_path))
    return path, read_metadata(path)


def weights_config(config_class, path, metadata):
    """The ``config_class`` instance of the config the weights file ``path`` stores
    (Config.from_weights), or None when it stores none (``metadata`` None or without a config);
    prints the key settings of a stored one."""
    if not (metadata and metadata.get("config")):
        return None
    config = config_class.from_weights(path)
    print(f"Config of {path}: " + ", ".join(
        f"{key} {_value(config.to_dict()[key])}" for key in ("BACKBONE", "NUM_CLASSES",
                                                            "IMAGE_MAX_DIM")))
    return config


def weights_path(model, weights, coco_path=None):
    """The file that ``weights`` names for ``model``: COCO (``coco_path``, default
    :data:`COCO_WEIGHTS_FILE`; downloaded when missing, with a DownloadError saying where to put
    it offline), ImageNet, the last checkpoint, or a path (WeightsFileError if missing)."""
    keyword = weights.lower()
    if keyword == "coco":
        coco_path = coco_path or COCO_WEIGHTS_FILE
        if not os.path.exists(coco_path):
            from mrcnn.utils import download_trained_weights
            download_trained_weights(coco_path)
        return coco_path
    if keyword == "imagenet":
        return model.get_imagenet_weights()
    if keyword == "last":
        return model.find_last()
    if not os.path.isfile(weights):
        raise WeightsFileError(f"--weights {weights}: no such file (and not one of "
                               f"{', '.join(WEIGHTS_KEYWORDS)})")
    return weights


def load_training_weights(model, weights, coco_path=None):
    """Load ``weights`` into a training model: "last" resumes (epoch and log folder of the
    checkpoint); other files are loaded by name leaving out the layers whose shapes differ
    (:func:`mrcnn.training.finetune.load_for_finetuning`). Returns the path, or None for "none"
    (or None).
    """
    if weights is None or weights.lower() == "none":
        print("Training from random weights (--weights none)")
        return None
    path = weights_path(model, weights, coco_path)
    if weights.lower() == "last":
        model.load_weights(path, by_name=True)
        print(f"Resuming from {path} at epoch {model.epoch}")
    else:
        from mrcnn.training.finetune import load_for_finetuning
        load_for_finetuning(model, path)
    return path


def load_inference_weights(model, weights, coco_path=None):
    """Load ``weights`` (None: "last") into an inference model, all layers (a file whose heads
    do not fit the classes is an error naming the layers, not a silently untrained head).
    Returns the path."""
    if weights is None:
        weights = "last"
    if weights.lower() == "none":
        raise UsageError("--weights none: evaluate, detect and export need trained weights "
                         "(last, coco or a .h5 file)")
    path = weights_path(model, weights, coco_path)
    model.load_weights(path, by_name=True)
    print(f"Loaded weights from {path}")
    return path


def train(model, train_set, val_set, stages, augment=False, seed=None, workers=None):
    """Train ``model`` through ``stages`` (list of Stage) with Keras progress bars.

    augment: flip training images left-right at random (albumentations.HorizontalFlip(p=0.5),
    as Matterport's coco sample). seed: data order and augmentation seed; workers:
    data-loading threads (None: the training default). Returns the Histories.
    """
    from mrcnn.training.finetune import train_stages
    augmentation = None
    if augment:
        import albumentations
        augmentation = albumentations.HorizontalFlip(p=0.5)
    kwargs = {"seed": seed}
    if workers is not None:
        kwargs["workers"] = workers
    histories = train_stages(model, train_set, val_set, stages, augmentation=augmentation,
                             **kwargs)
    print(f"Trained to epoch {model.epoch}; checkpoints in {model.log_dir}")
    return histories


def evaluate(model, dataset, out_dir=None, limit=None, coco_results=False, json_path=None,
             report=None, report_images=24, report_min_score=0.5, log_dir=None,
             provenance=None):
    """COCO-style and VOC figures of ``model`` on ``dataset`` (first ``limit`` images): prints
    the table and writes the results dict to ``json_path`` (default ``out_dir``/evaluation.json;
    neither: no file) with a "provenance" entry (``provenance``, e.g. {"weights": path,
    "dataset": spec}, plus the config, mrcnn version and date:
    :func:`mrcnn.evaluation.report.with_provenance`) and, with ``coco_results``, the detections
    as a COCO results json ``out_dir``/coco_results.json (original COCO ids). ``report``: a
    folder for the HTML report (index.html), with the arguments ``report_images``,
    ``report_min_score``, ``log_dir`` and ``provenance`` of
    :func:`mrcnn.evaluate.evaluate_model`. Returns the results dict of
    :func:`mrcnn.evaluate.evaluate_model`."""
    from mrcnn.evaluate import evaluate_model, save_results
    from mrcnn.evaluation.report import with_provenance
    if coco_results and not out_dir:
        raise UsageError("coco_results needs out_dir, the folder to write them to")
    image_ids = list(dataset.image_ids[:limit])
    results_path = os.path.join(out_dir, "coco_results.json") if coco_results else None
    results = evaluate_model(model, dataset, image_ids=image_ids, verbose=1,
                             coco_results_path=results_path, report=report,
                             report_images=report_images, report_min_score=report_min_score,
                             log_dir=log_dir, provenance=provenance)
    if json_path is None and out_dir:
        json_path = os.path.join(out_dir, "evaluation.json")
    if json_path:
        json_path = save_results(with_provenance(results, model.config, **(provenance or {})),
                                 json_path)
    print(f"\nEvaluated {len(image_ids)} images"
          + (f"; results in {json_path}" if json_path else "")
          + (f", detections in {results_path}" if results_path else ""))
    return results


def image_files(path):
    """The image files ``path`` names: itself, or the images of a folder (sorted);
    DatasetError when it names nothing (saying so when its folder does not exist either)."""
    if os.path.isdir(path):
        files = [os.path.join(path, n) for n in sorted(os.listdir(path)) if is_image_file(n)]
        if not files:
            raise DatasetError(f"no image files in the folder {path}")
        return files
    if not os.path.isfile(path):
        folder = os.path.dirname(os.path.normpath(path))
        raise DatasetError(f"no image or folder {path}" + (
            f": the folder {folder} does not exist" if folder and not os.path.isdir(folder)
            else ""))
    return [path]


def read_images(path, config):
    """[(file, image)] for the images at ``path`` (file or folder), upright by their EXIF tag,
    with the config's IMAGE_CHANNEL_COUNT; DatasetError naming the file that does not read."""
    result = []
    for file in image_files(path):
        try:
            result.append((file, read_image(file, config.IMAGE_CHANNEL_COUNT,
                                            exif_orientation=True)))
        except Exception as e:
            raise DatasetError(f"cannot read image {file}: {e}") from e
    return result


def plural(count, noun):
    """"1 detection", "3 detections"."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def count_detections(names):
    """The detections of one image by their class ``names`` in words: "no detections",
    "1 detection (cat)", "3 detections (2 cat, 1 dog)" (most frequent class first, ties in
    the order of ``names``)."""
    if not names:
        return "no detections"
    if len(names) == 1:
        return f"1 detection ({names[0]})"
    counts = collections.Counter(names).most_common()
    return f"{plural(len(names), 'detection')} (" + ", ".join(
        f"{count} {name}" for name, count in counts) + ")"


def detect(model, path, class_names, out_dir=None, results_json=None, write=None,
           min_score=None, tolerance=None, overwrite=False):
    """Detect in the images at ``path`` (a file, a folder, or a list of them) and save each
    picture with its masks, boxes and captions drawn (visualize.display_instances) as
    ``out_dir``/<image stem>.png. Images are read one at a time.

    results_json: also write the detections there as a COCO results list (Matterport's
    build_coco_results: "image_id", "category_id" (the model's class id), "score", "bbox"
    [x, y, w, h], "segmentation" RLE), plus "file_name"; image_id is the image's position
    (0-based) in the order the pictures are written. Returns [(picture path, detect() result)].

    write: "labelme", "via" or "coco" to write the detections as annotations instead of
    pictures (pre-labels to correct in that tool; see :func:`write_prelabels`, which takes
    ``min_score``, ``tolerance`` and ``overwrite``); ``out_dir`` is then optional. Returns its
    WriteReport.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    files = [file for p in paths for file in image_files(p)]
    if write:
        return write_prelabels(model, files, class_names, write, out_dir, min_score=min_score,
                               tolerance=tolerance, overwrite=overwrite)
    if out_dir is None:
        raise UsageError("detect needs out_dir, the folder for the pictures (or write=FORMAT)")
    import matplotlib
    matplotlib.use("Agg")
    from mrcnn import visualize
    from mrcnn.evaluation.coco_format import detection_results
    os.makedirs(out_dir, exist_ok=True)
    saved, results = [], []
    for image_id, file in enumerate(files):
        (_, image), = read_images(file, model.config)
        r = model.detect([image], verbose=0)[0]
        picture = os.path.join(out_dir, os.path.splitext(os.path.basename(file))[0] + ".png")
        visualize.display_instances(image, r["rois"], r["masks"], r["class_ids"], class_names,
                                    r["scores"], title=os.path.basename(file), figsize=(8, 8),
                                    save_path=picture)
        names = [class_names[i] for i in r["class_ids"]]
        print(f"{file}: {count_detections(names)} -> {picture}")
        saved.append((picture, r))
        for result in detection_results(image_id, r["rois"], r["class_ids"], r["scores"],
                                        r["masks"]):
            result["file_name"] = os.path.basename(file)
            results.append(result)
    if results_json:
        with atomic_path(results_json) as tmp:
            with open(tmp, "w") as f:
                json.dump(results, f)
        print(f"{plural(len(results), 'detection')} of {plural(len(files), 'image')} in "
              f"{results_json}")
    return saved


def write_prelabels(model, files, class_names, write, out_dir=None, min_score=None,
                    tolerance=None, overwrite=False):
    """Detect in the image ``files`` and write the detections as annotations that a person
    corrects in labelme / VIA / a COCO tool (:mod:`mrcnn.datasets.prelabel`): ``write``
    "labelme" (<stem>.json beside each image, or in ``out_dir``), "via" or "coco" (one file,
    VIA_FILE_NAME / COCO_FILE_NAME in ``out_dir`` or in the images' common folder).

    class_names: names of the model's class ids (a leading "BG" is dropped); UsageError when
    None. min_score: leave out detections below it. tolerance: polygon simplification in
    pixels (None: DEFAULT_TOLERANCE). Existing files are kept, and their images not even
    detected in, unless ``overwrite``. Prints a line per image and what was written and
    skipped; returns the WriteReport.
    """
    from mrcnn.datasets import prelabel
    if write not in prelabel.WRITERS:
        raise UsageError(f"write must be one of {', '.join(prelabel.WRITERS)}, got {write!r}")
    if class_names is None:
        raise UsageError(f"writing {write} annotations needs the class names: give "
                         f"--class-names NAME,NAME,... (class 1, 2, ...) or --dataset")
    files = list(dict.fromkeys(os.fspath(file) for file in files))     # each image once
    kwargs = {"min_score": min_score, "overwrite": overwrite}
    if tolerance is not None:
        kwargs["tolerance"] = tolerance
    try:
        names = check_class_names(class_names)
    except (TypeError, ValueError) as e:
        raise UsageError(f"class names: {e}") from None
    if len(names) != model.config.NUM_CLASSES - 1:
        raise UsageError(f"{len(names)} class names ({', '.join(names)}) for a model of "
                         f"{model.config.NUM_CLASSES - 1} classes (NUM_CLASSES "
                         f"{model.config.NUM_CLASSES} counts the background)")

    def detections(todo, targets):
        for file in todo:
            (_, image), = read_images(file, model.config)
            r = model.detect([image], verbose=0)[0]
            found = [names[i - 1] for i, score in zip(r["class_ids"], r["scores"])
                     if min_score is None or score >= min_score]
            print(f"{file}: {count_detections(found)} -> {targets[file]}")
            yield file, r

    if write == "labelme":
        targets = {file: prelabel.labelme_path(file, out_dir) for file in files}
        by_target = {}
        for file, target in targets.items():
            by_target.setdefault(target, []).append(file)
        clashes = [f"{', '.join(sources)} -> {target}" for target, sources in by_target.items()
                   if len(sources) > 1]
        if clashes:
            raise UsageError("images of one stem would write the same labelme file: "
                             + "; ".join(clashes))
        todo = [file for file in files if overwrite or not os.path.exists(targets[file])]
        report = prelabel.write_labelme(detections(todo, targets), names, out_dir=out_dir,
                                        **kwargs)
        report.skipped[:0] = [(targets[file], "exists") for file in files if file not in todo]
    else:
        target = prelabel.project_path(write, files, out_dir)
        if os.path.exists(target) and not overwrite:
            report = prelabel.WriteReport(write)
            report.skipped.append((target, "exists"))
        else:
            report = prelabel.WRITERS[write](detections(files, dict.fromkeys(files, target)),
                                             names, path=target, **kwargs)
    print(report)
    return report


def run(main, prog=None):
    """Call ``main()`` and return its exit code; errors about the user's input (data, weights,
    config, downloads, missing checkpoints: :data:`USER_ERRORS`) print one line
    "<prog>: error: ..." (or "error: ..." without ``prog``) on stderr and return 1."""
    try:
        return main()
    except USER_ERRORS as e:
        print(f"{prog + ': ' if prog else ''}error: {e}", file=sys.stderr)
        return 1
