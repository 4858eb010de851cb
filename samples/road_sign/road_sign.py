"""Mask R-CNN on road signs annotated with labelme: fine-tune COCO weights, evaluate, detect.

Data (--dataset DIR): labelme .json files beside their images, or the road-sign guide's
per-image shape lists (a .json/.txt per image holding [{"category": "59", "type": "polygon",
"points": [[x, y], ...]}, ...]) with --category-map FILE ({"59": "stop", ...}, JSON or YAML).
DIR either has train/ and val/ subfolders, or is split into train and val by --val-fraction
and --split-seed (the same split every run).

    # Fine-tune Matterport's COCO model: heads, then ResNet stage 4 and up, then all layers
    python samples/road_sign/road_sign.py train --dataset signs/ --weights coco
    python samples/road_sign/road_sign.py train --dataset signs/ --category-map categories.json
    # Continue the schedule from the last checkpoint under logs/
    python samples/road_sign/road_sign.py train --dataset signs/ --weights last
    # COCO-style AP on the val images (table printed, results/evaluation.json written)
    python samples/road_sign/road_sign.py evaluate --dataset signs/ --weights last
    # Pictures with the detected masks: results/<image>.png
    python samples/road_sign/road_sign.py detect --images street_photos/ --weights last

Other class names: --class-names stop yield ... (NUM_CLASSES follows them). Small runs:
--config tiny.yaml and --set IMAGE_MAX_DIM=256 STEPS_PER_EPOCH=10 ...
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import yaml  # noqa: E402

import common  # noqa: E402  (samples/common.py)
from mrcnn import model as modellib  # noqa: E402
from mrcnn.config import Config  # noqa: E402
from mrcnn.datasets import DatasetError, LabelmeDataset, train_val_split  # noqa: E402

#: The default classes (--class-names changes them).
CLASS_NAMES = ("stop", "yield", "speed_limit", "no_entry", "pedestrian_crossing")


class RoadSignConfig(Config):
    """Fine-tuning on a few hundred road-sign pictures, one image per GPU."""
    NAME = "road_sign"
    IMAGES_PER_GPU = 1
    NUM_CLASSES = 1 + len(CLASS_NAMES)      # background + the sign classes
    STEPS_PER_EPOCH = 100
    VALIDATION_STEPS = 10
    DETECTION_MIN_CONFIDENCE = 0.7


class InferenceConfig(RoadSignConfig):
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1


class RoadSignDataset(LabelmeDataset):
    """Road signs from labelme files or per-image shape lists."""

    def load_road_signs(self, dataset_dir, subset, class_names=CLASS_NAMES, category_map=None,
                        val_fraction=0.2, seed=0):
        """Load the "train" or "val" subset of ``dataset_dir``: its train/ or val/ folder when
        it has one, else the files that train_val_split(dataset_dir, val_fraction, seed) puts in
        that subset. Shapes of labels outside ``class_names`` are skipped with a counted warning.
        Raises DatasetError when the subset has no instance of the classes.
        """
        if subset not in ("train", "val"):
            raise ValueError(f"subset must be 'train' or 'val', got {subset!r}")
        folder = os.path.join(dataset_dir, subset)
        if os.path.isdir(folder):
            self.load_labelme(folder, class_names=list(class_names), category_map=category_map)
        else:
            train, val = train_val_split(dataset_dir, val_fraction=val_fraction, seed=seed)
            self.load_labelme(dataset_dir, class_names=list(class_names),
                              category_map=category_map,
                              subset=train if subset == "train" else val)
        counts = self.summary(verbose=False)["instances"]
        if not sum(counts.values()):
            raise DatasetError(
                f"{dataset_dir} ({subset}): no shape has one of the classes {list(class_names)};"
                f" pass the labels of your files with --class-names, or map categories to them "
                f"with --category-map")


def load_dataset(args, subset, class_names):
    dataset = RoadSignDataset()
    dataset.load_road_signs(args.dataset, subset, class_names,
                            load_category_map(args.category_map),
                            val_fraction=args.val_fraction, seed=args.split_seed)
    dataset.prepare()
    print(f"\n{subset}:")
    dataset.summary()
    return dataset


def load_category_map(path):
    """{category: class name} from a JSON or YAML file, or None."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            mapping = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise DatasetError(f"--category-map {path}: cannot read it: {e}") from None
    if not isinstance(mapping, dict):
        raise DatasetError(f"--category-map {path}: expected a mapping "
                           f"{{category: class name}}, got a {type(mapping).__name__}")
    return mapping


def _class_names(values):
    """--class-names as a list: several arguments, or one comma-separated."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        raise common.UsageError("--class-names lists no class")
    return names


def main(argv=None):
    parser = common.build_parser(__doc__, ("train", "evaluate", "detect"), epochs=(20, 10, 10))
    parser.add_argument("--dataset", metavar="DIR", help="labelme folder (train, evaluate)")
    parser.add_argument("--class-names", nargs="+", default=list(CLASS_NAMES), metavar="NAME",
                        help=f"the sign classes (default: {' '.join(CLASS_NAMES)})")
    parser.add_argument("--category-map", metavar="FILE",
                        help="JSON/YAML {category: class name} for shape-list files")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="share of DIR for val when it has no train/ and val/ (default 0.2)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of that split")
    parser.add_argument("--images", metavar="PATH", help="image or folder to detect in")
    args = parser.parse_args(argv)
    class_names = _class_names(args.class_names)
    num_classes = 1 + len(class_names)
    if args.command in ("train", "evaluate") and not args.dataset:
        parser.error(f"{args.command} needs --dataset")
    if args.command == "detect" and not args.images:
        parser.error("detect needs --images")

    if args.command == "train":
        train_set = load_dataset(args, "train", class_names)
        val_set = load_dataset(args, "val", class_names)
        config = common.make_config(RoadSignConfig, args, NUM_CLASSES=num_classes)
        config.display()
        model = modellib.MaskRCNN(mode="training", config=config, model_dir=args.logs)
        common.load_training_weights(model, args.weights or "coco")
        common.train(model, args, train_set, val_set)
        return 0

    config = common.make_config(InferenceConfig, args, inference=True,
                                NUM_CLASSES=num_classes)
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.logs)
    common.load_inference_weights(model, args.weights)
    if args.command == "evaluate":
        common.evaluate(model, load_dataset(args, "val", class_names), args.out, args.limit)
    else:
        common.detect(model, args.images, ["BG"] + class_names, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(common.run(main))
