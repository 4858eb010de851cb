"""What the road_sign, coco and balloon samples share: their command line, the weights to start
from, the staged training, evaluation and the pictures of detections.

Each sample script imports this file (``samples/`` is put on ``sys.path``) and adds its own
dataset arguments. Commands and options common to the samples:

    train      --weights coco|imagenet|last|none|PATH (default coco): fine-tunes from the file,
               leaving out the layers whose shapes differ (the heads when NUM_CLASSES differs),
               then trains heads -> 4+ -> all for --epochs-heads/--epochs-4plus/--epochs-all
               epochs ("all" at a tenth of the learning rate, as Matterport's coco sample).
               "last" resumes the last checkpoint under --logs and continues the schedule.
    evaluate   --weights last|PATH (default last): COCO-style AP/AR and VOC mAP on the val
               set, printed as a table and written to --out/evaluation.json.
    detect     --weights last|PATH: detect in an image or a folder of images and save each
               picture with its masks drawn to --out/<image name>.png.
    every      --config FILE (YAML/JSON of Config attributes, Config.from_file) and
               --set KEY=VALUE ... (Config.apply_overrides), applied in that order.

Glossary: "weights" names a file or one of the keywords above; "stage" as in
:mod:`mrcnn.training.finetune`; images are uint8 RGB [height, width, 3] as Dataset.load_image
gives them.
"""
import argparse
import os
import sys

from mrcnn.config import ConfigError
from mrcnn.datasets.base import DatasetError
from mrcnn.datasets.image_io import is_image_file, read_image
from mrcnn.download import DownloadError
from mrcnn.weights import WeightsFileError

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Where ``--weights coco`` looks for Matterport's COCO model (downloaded there if missing).
COCO_WEIGHTS_PATH = os.path.join(ROOT_DIR, "mask_rcnn_coco.h5")
#: ``--weights`` keywords (anything else is a file path).
WEIGHTS_KEYWORDS = ("coco", "imagenet", "last", "none")


class UsageError(ValueError):
    """A command line that cannot work (e.g. evaluate with --weights none)."""


def build_parser(description, commands, epochs, weights_aliases=()):
    """An ArgumentParser with the positional command and the shared options.

    description: the script's summary; commands: the command names (the first is "train");
    epochs: default (heads, 4+, all) epochs of the train command; weights_aliases: other
    spellings of --weights (Matterport's coco sample called it --model).
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=commands, help="what to do")
    parser.add_argument("--weights", *weights_aliases, dest="weights", default=None,
                        metavar="coco|imagenet|last|none|PATH",
                        help="weights to start from: Matterport's COCO model (looked for at "
                             f"{COCO_WEIGHTS_PATH}, downloaded if missing), ImageNet ResNet50, "
                             "the last checkpoint under --logs, none (random), or a .h5 file. "
                             "Default: coco for train, last otherwise")
    parser.add_argument("--logs", default="logs", metavar="DIR",
                        help="checkpoints and TensorBoard logs (default: logs)")
    parser.add_argument("--config", metavar="FILE",
                        help="YAML or JSON file of Config attributes to override")
    parser.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="Config overrides, e.g. --set IMAGES_PER_GPU=1 LEARNING_RATE=0.002")
    parser.add_argument("--out", default="results", metavar="DIR",
                        help="where evaluate, detect and splash write (default: results)")
    train = parser.add_argument_group("train")
    for name, stage, default in zip(("heads", "4plus", "all"), ("heads", "4+", "all"), epochs):
        train.add_argument(f"--epochs-{name}", type=_count, default=default, metavar="N",
                           help=f"epochs of the {stage!r} stage (default {default}; 0 skips it)")
    train.add_argument("--learning-rate", type=_positive, default=None, metavar="LR",
                       help="of the heads and 4+ stages (default: the config's LEARNING_RATE)")
    train.add_argument("--augment", action="store_true",
                       help="flip training images left-right at random, as Matterport's coco "
                            "sample (not for classes that flipping changes, such as turn signs)")
    train.add_argument("--seed", type=int, default=None, help="data order and augmentation seed")
    train.add_argument("--workers", type=int, default=None, help="data-loading threads")
    evaluate = parser.add_argument_group("evaluate")
    evaluate.add_argument("--limit", type=_positive_count, default=None, metavar="N",
                          help="evaluate the first N val images only")
    return parser


def _count(text):
    """An int >= 0 for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_count(text):
    """An int >= 1 for argparse."""
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _positive(text):
    """A number > 0 for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def make_config(config_class, args, inference=False, **values):
    """The config of a command: ``config_class`` defaults, then --config, then --set, then
    ``values`` that the data dictates (e.g. NUM_CLASSES, which wins over a --config file; naming
    it in --set with another value is an error). Inference configs run one image at a time.
    """
    config = config_class.from_file(args.config) if args.config else config_class()
    config.apply_overrides(args.set)
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


def weights_path(model, weights):
    """The file that ``--weights`` names for ``model``: COCO (downloaded when missing, with a
    DownloadError saying where to put it offline), ImageNet, the last checkpoint, or a path."""
    keyword = weights.lower()
    if keyword == "coco":
        if not os.path.exists(COCO_WEIGHTS_PATH):
            from mrcnn.utils import download_trained_weights
            download_trained_weights(COCO_WEIGHTS_PATH)
        return COCO_WEIGHTS_PATH
    if keyword == "imagenet":
        return model.get_imagenet_weights()
    if keyword == "last":
        return model.find_last()
    if not os.path.isfile(weights):
        raise WeightsFileError(f"--weights {weights}: no such file (and not one of "
                               f"{', '.join(WEIGHTS_KEYWORDS)})")
    return weights


def load_training_weights(model, weights):
    """Load ``--weights`` into a training model: "last" resumes (epoch and log folder of the
    checkpoint); other files are loaded by name leaving out the layers whose shapes differ
    (:func:`mrcnn.training.finetune.load_for_finetuning`). Returns the path, or None for "none".
    """
    if weights is None or weights.lower() == "none":
        print("Training from random weights (--weights none)")
        return None
    path = weights_path(model, weights)
    if weights.lower() == "last":
        model.load_weights(path, by_name=True)
        print(f"Resuming from {path} at epoch {model.epoch}")
    else:
        from mrcnn.training.finetune import load_for_finetuning
        load_for_finetuning(model, path)
    return path


def load_inference_weights(model, weights):
    """Load ``--weights`` into an inference model, all layers (a file whose heads do not fit
    the classes is an error naming the layers, not a silently untrained head)."""
    if weights is None:
        weights = "last"
    if weights.lower() == "none":
        raise UsageError("--weights none: evaluate and detect need trained weights "
                         "(last, coco or a .h5 file)")
    path = weights_path(model, weights)
    model.load_weights(path, by_name=True)
    print(f"Loaded weights from {path}")
    return path


def train(model, args, train_set, val_set):
    """Train heads -> 4+ -> all for the epochs on the command line; returns the Histories."""
    from mrcnn.training.finetune import finetune_stages, train_stages
    learning_rate = args.learning_rate or model.config.LEARNING_RATE
    stages = finetune_stages(args.epochs_heads, args.epochs_4plus, args.epochs_all,
                             learning_rate)
    augmentation = None
    if args.augment:
        import albumentations
        augmentation = albumentations.HorizontalFlip(p=0.5)
    kwargs = {"seed": args.seed}
    if args.workers is not None:
        kwargs["workers"] = args.workers
    histories = train_stages(model, train_set, val_set, stages, augmentation=augmentation,
                             **kwargs)
    print(f"Trained to epoch {model.epoch}; checkpoints in {model.log_dir}")
    return histories


def evaluate(model, dataset, out_dir, limit=None, coco_results=False):
    """COCO-style and VOC figures of ``model`` on ``dataset`` (first ``limit`` images): prints
    the table, writes ``out_dir``/evaluation.json and, with ``coco_results``, the detections as
    a COCO results json ``out_dir``/coco_results.json (original COCO ids). Returns the results
    dict of :func:`mrcnn.evaluate.evaluate_model`."""
    from mrcnn.evaluate import evaluate_model, save_results
    image_ids = list(dataset.image_ids[:limit])
    results_path = os.path.join(out_dir, "coco_results.json") if coco_results else None
    results = evaluate_model(model, dataset, image_ids=image_ids, verbose=1,
                             coco_results_path=results_path)
    path = save_results(results, os.path.join(out_dir, "evaluation.json"))
    print(f"\nEvaluated {len(image_ids)} images; results in {path}"
          + (f", detections in {results_path}" if results_path else ""))
    return results


def image_files(path):
    """The image files ``path`` names: itself, or the images of a folder (sorted)."""
    if os.path.isdir(path):
        files = [os.path.join(path, n) for n in sorted(os.listdir(path)) if is_image_file(n)]
        if not files:
            raise DatasetError(f"no image files in the folder {path}")
        return files
    if not os.path.isfile(path):
        raise DatasetError(f"image {path} not found")
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


def detect(model, path, class_names, out_dir):
    """Detect in the images at ``path`` and save each picture with its masks, boxes and
    captions drawn (visualize.display_instances) as ``out_dir``/<image stem>.png.
    Returns [(picture path, detect() result)]."""
    import matplotlib
    matplotlib.use("Agg")
    from mrcnn import visualize
    os.makedirs(out_dir, exist_ok=True)
    saved = []
    for file, image in read_images(path, model.config):
        r = model.detect([image], verbose=0)[0]
        picture = os.path.join(out_dir, os.path.splitext(os.path.basename(file))[0] + ".png")
        visualize.display_instances(image, r["rois"], r["masks"], r["class_ids"], class_names,
                                    r["scores"], title=os.path.basename(file), figsize=(8, 8),
                                    save_path=picture)
        names = [class_names[i] for i in r["class_ids"]]
        print(f"{file}: {len(names)} detections {sorted(set(names))} -> {picture}")
        saved.append((picture, r))
    return saved


def run(main):
    """Call ``main()`` for ``if __name__ == "__main__"``: errors about the user's input (data,
    weights, config, downloads, missing checkpoints) print one line instead of a traceback."""
    try:
        return main()
    except (DatasetError, WeightsFileError, DownloadError, ConfigError, FileNotFoundError,
            UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
