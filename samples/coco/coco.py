"""Mask R-CNN on a COCO-format dataset: train (fine-tune), COCO evaluation, detect.

Any set in the COCO instances format works: MS COCO itself (--dataset DIR --year 2017 reads
DIR/annotations/instances_{train,val}2017.json and the images in DIR/train2017, DIR/val2017), or
your own export (--train-json/--train-images and --val-json/--val-images, e.g. from CVAT, Label
Studio or VIA's COCO export). Classes are the json's categories, in category-id order; crowd
annotations are kept as crowds; images without annotations train as background.

    # Fine-tune Matterport's COCO model on your categories: heads, 4+, then all layers
    python samples/coco/coco.py train --train-json train.json --train-images train/ \\
        --val-json val.json --val-images val/ --weights coco
    # MS COCO, continuing the last run
    python samples/coco/coco.py train --dataset /data/coco --year 2017 --weights last
    # COCO AP table; results/evaluation.json and the detections as results/coco_results.json
    python samples/coco/coco.py evaluate --dataset /data/coco --weights last --limit 500
    # Pictures with the detected masks (class names from the val json)
    python samples/coco/coco.py detect --val-json val.json --images photos/ --weights last

Nothing is downloaded but --weights coco (mask_rcnn_coco.h5, which fails with a message saying
where to put the file when offline): fetch the COCO images and annotations yourself.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import common  # noqa: E402  (samples/common.py)
from mrcnn import model as modellib  # noqa: E402
from mrcnn.config import Config  # noqa: E402
from mrcnn.datasets import CocoDataset, DatasetError  # noqa: E402


class CocoConfig(Config):
    """Matterport's COCO configuration (NUM_CLASSES follows the dataset's categories)."""
    NAME = "coco"
    IMAGES_PER_GPU = 2
    NUM_CLASSES = 1 + 80        # COCO has 80 classes


class InferenceConfig(CocoConfig):
    """For evaluation: every detection counts (Matterport's coco sample)."""
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1
    DETECTION_MIN_CONFIDENCE = 0


def subset_paths(args, subset):
    """(annotation json, image folder) of "train" or "val": the --<subset>-json/-images
    options, else --dataset DIR with COCO's layout for --year."""
    json_path = getattr(args, f"{subset}_json")
    image_dir = getattr(args, f"{subset}_images")
    if args.dataset:
        json_path = json_path or os.path.join(args.dataset, "annotations",
                                              f"instances_{subset}{args.year}.json")
        image_dir = image_dir or os.path.join(args.dataset, f"{subset}{args.year}")
    if not json_path or not image_dir:
        raise common.UsageError(f"the {subset} set needs --{subset}-json and --{subset}-images "
                                f"(or --dataset DIR in COCO's layout)")
    return json_path, image_dir


def load_dataset(args, subset):
    json_path, image_dir = subset_paths(args, subset)
    dataset = CocoDataset()
    dataset.load_coco(json_path, image_dir)
    dataset.prepare()
    print(f"\n{subset} ({json_path}):")
    dataset.summary()
    return dataset


def class_names_of(json_path):
    """["BG", names...] of a COCO json's categories in category-id order, as CocoDataset
    numbers them (without reading the images)."""
    try:
        with open(json_path, encoding="utf-8") as f:
            categories = json.load(f)["categories"]
        return ["BG"] + [c["name"] for c in sorted(categories, key=lambda c: c["id"])]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"cannot read the categories of {json_path}: {e}") from None


def main(argv=None):
    parser = common.build_parser(__doc__, ("train", "evaluate", "detect"),
                                 epochs=(40, 80, 40), weights_aliases=("--model",))
    parser.add_argument("--dataset", metavar="DIR", help="MS COCO folder (annotations/, ...)")
    parser.add_argument("--year", default="2017", help="COCO year of --dataset (default 2017)")
    for subset in ("train", "val"):
        parser.add_argument(f"--{subset}-json", metavar="FILE",
                            help=f"{subset} annotations (COCO instances json)")
        parser.add_argument(f"--{subset}-images", metavar="DIR", help=f"{subset} images")
    parser.add_argument("--images", metavar="PATH", help="image or folder to detect in")
    args = parser.parse_args(argv)

    if args.command == "train":
        train_set, val_set = load_dataset(args, "train"), load_dataset(args, "val")
        if train_set.class_names != val_set.class_names:
            raise DatasetError(f"the train and val jsons have other categories:\n"
                               f"  train: {train_set.class_names[1:]}\n"
                               f"  val:   {val_set.class_names[1:]}")
        config = common.make_config(CocoConfig, args, NUM_CLASSES=train_set.num_classes)
        config.display()
        model = modellib.MaskRCNN(mode="training", config=config, model_dir=args.logs)
        common.load_training_weights(model, args.weights or "coco")
        common.train(model, args, train_set, val_set)
        return 0

    if args.command == "evaluate":
        val_set = load_dataset(args, "val")
        config = common.make_config(InferenceConfig, args, inference=True,
                                    NUM_CLASSES=val_set.num_classes)
        model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.logs)
        common.load_inference_weights(model, args.weights)
        common.evaluate(model, val_set, args.out, args.limit, coco_results=True)
        return 0

    if not args.images:
        parser.error("detect needs --images")
    json_path = args.val_json or args.train_json or (args.dataset and subset_paths(args, "val")[0])
    if not json_path:
        parser.error("detect needs the class names: --val-json, --train-json or --dataset")
    class_names = class_names_of(json_path)
    config = common.make_config(CocoConfig, args, inference=True, NUM_CLASSES=len(class_names))
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.logs)
    common.load_inference_weights(model, args.weights)
    common.detect(model, args.images, class_names, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(common.run(main))
