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

from mrcnn import runner

# The generic steps live in mrcnn.runner (shared with the ``mrcnn`` command line); the samples
# use them as common.<name>.
from mrcnn.runner import (
    UsageError,
    count as _count,
    detect,
    evaluate,
    image_files,
    make_config,
    positive as _positive,
    positive_count as _positive_count,
    read_images,
    run,
)

__all__ = ["UsageError", "ROOT_DIR", "COCO_WEIGHTS_PATH", "WEIGHTS_KEYWORDS", "build_parser",
           "make_config", "weights_path", "load_training_weights", "load_inference_weights",
           "train", "evaluate", "image_files", "read_images", "detect", "run"]

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Where ``--weights coco`` looks for Matterport's COCO model (downloaded there if missing).
COCO_WEIGHTS_PATH = os.path.join(ROOT_DIR, "mask_rcnn_coco.h5")
WEIGHTS_KEYWORDS = runner.WEIGHTS_KEYWORDS


def build_parser(description, commands, epochs, weights_aliases=(), augment_help=None):
    """An ArgumentParser with the positional command and the shared options.

    description: the script's summary; commands: the command names (the first is "train");
    epochs: default (heads, 4+, all) epochs of the train command; weights_aliases: other
    spellings of --weights (Matterport's coco sample called it --model); augment_help: the help
    of --augment for a sample with its own augmentation (default: left-right flips).
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
                        help="Config overrides, e.g. --set IMAGES_PER_GPU=1 LEARNING_RATE=0.002; "
                             "for rectangular photos IMAGE_RESIZE_MODE=scale_pad64 (pads each "
                             "side to a multiple of 64 instead of to a square)")
    parser.add_argument("--out", default="results", metavar="DIR",
                        help="where evaluate, detect and splash write (default: results)")
    train_options = parser.add_argument_group("train")
    for name, stage, default in zip(("heads", "4plus", "all"), ("heads", "4+", "all"), epochs):
        train_options.add_argument(f"--epochs-{name}", type=_count, default=default, metavar="N",
                           help=f"epochs of the {stage!r} stage (default {default}; 0 skips it)")
    train_options.add_argument("--learning-rate", type=_positive, default=None, metavar="LR",
                       help="of the heads and 4+ stages (default: the config's LEARNING_RATE)")
    train_options.add_argument("--augment", action="store_true",
                       help=augment_help or "flip training images left-right at random, as "
                            "Matterport's coco sample (not for classes that flipping changes, "
                            "such as turn signs)")
    train_options.add_argument("--seed", type=int, default=None,
                               help="data order and augmentation seed")
    train_options.add_argument("--workers", type=int, default=None,
                               help="data-loading threads (processes on a GPU host)")
    evaluate_options = parser.add_argument_group("evaluate")
    evaluate_options.add_argument("--limit", type=_positive_count, default=None, metavar="N",
                          help="evaluate the first N val images only")
    return parser


def weights_path(model, weights):
    """runner.weights_path with the samples' COCO file (COCO_WEIGHTS_PATH)."""
    return runner.weights_path(model, weights, COCO_WEIGHTS_PATH)


def load_training_weights(model, weights):
    """runner.load_training_weights with the samples' COCO file (COCO_WEIGHTS_PATH)."""
    return runner.load_training_weights(model, weights, COCO_WEIGHTS_PATH)


def load_inference_weights(model, weights):
    """runner.load_inference_weights with the samples' COCO file (COCO_WEIGHTS_PATH)."""
    return runner.load_inference_weights(model, weights, COCO_WEIGHTS_PATH)


def train(model, args, train_set, val_set):
    """Train heads -> 4+ -> all for the epochs on the command line; returns the Histories."""
    from mrcnn.training.finetune import finetune_stages
    learning_rate = args.learning_rate or model.config.LEARNING_RATE
    stages = finetune_stages(args.epochs_heads, args.epochs_4plus, args.epochs_all,
                             learning_rate)
    return runner.train(model, train_set, val_set, stages, augment=args.augment,
                        seed=args.seed, workers=args.workers)
