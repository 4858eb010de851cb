"""Mask R-CNN on cell nuclei in microscopy images (Matterport's nucleus sample, on the Kaggle Data
Science Bowl 2018 data), read with :class:`mrcnn.datasets.MaskFolderDataset`.

Data (--dataset DIR): per-image folders <id>/images/<id>.png + <id>/masks/*.png (one PNG per
nucleus), in DIR/stage1_train/ (the Kaggle layout; DIR/stage1_test/ and DIR/stage2_test/ hold
images only) or directly in DIR. The "train" and "val" subsets split those folders by
--val-fraction and --split-seed (the same split every run; Matterport listed 25 val ids by hand).

Training takes random 512x512 crops of the images scaled up twice ("crop" mode) with
Matterport's augmentation: up to two of left-right flip, up-down flip, a turn by a multiple of
90 degrees, brightness x0.8..1.5 and a Gaussian blur (sigma 0..5), picked at random for each
image (--no-augment turns it off). Detection runs on whole images scaled up twice and
padded to multiples of 64 ("pad64").

    # Train from the ImageNet backbone: heads for 20 epochs, then all layers for 20 more, at
    # the same learning rate (Matterport's schedule)
    python samples/nucleus/nucleus.py train --dataset data/nucleus --weights imagenet
    python samples/nucleus/nucleus.py train --dataset data/nucleus --weights last
    # COCO-style AP on the val subset (table printed, results/evaluation.json written)
    python samples/nucleus/nucleus.py evaluate --dataset data/nucleus --weights last
    # Pictures of the detected nuclei and results/detections.json (COCO results, RLE masks)
    python samples/nucleus/nucleus.py detect --dataset data/nucleus --subset stage1_test \\
        --weights last
    python samples/nucleus/nucleus.py detect --images my_slides/ --weights last

Small runs: --config tiny.yaml and --set IMAGE_MIN_DIM=256 IMAGE_MAX_DIM=256 STEPS_PER_EPOCH=10
... (Matterport's detect also wrote the competition's submission.csv; detections.json holds the
same masks as COCO RLE.)
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import common  # noqa: E402  (samples/common.py)
from mrcnn import model as modellib  # noqa: E402
from mrcnn.config import Config  # noqa: E402
from mrcnn.datasets import DatasetError, MaskFolderDataset, train_val_split  # noqa: E402

#: The folder of the Kaggle layout that the train and val subsets split.
TRAIN_FOLDER = "stage1_train"
CLASS_NAME = "nucleus"


class NucleusConfig(Config):
    """Training on nuclei: random 512 px crops, small anchors, many instances per image."""
    NAME = "nucleus"
    IMAGES_PER_GPU = 6
    NUM_CLASSES = 1 + 1                         # background + nucleus
    # About one pass over the training images of stage1_train (632 in Matterport's split) at
    # 6 images a step.
    STEPS_PER_EPOCH = 105
    VALIDATION_STEPS = 4
    # Two classes: the classifier's choice between nucleus and background is the filter.
    DETECTION_MIN_CONFIDENCE = 0
    BACKBONE = "resnet50"
    # Random 512x512 crops of the images scaled up at least twice.
    IMAGE_RESIZE_MODE = "crop"
    IMAGE_MIN_DIM = 512
    IMAGE_MAX_DIM = 512
    IMAGE_MIN_SCALE = 2.0
    # Nuclei are small: anchor sides of 8 to 128 px.
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    POST_NMS_ROIS_TRAINING = 1000
    POST_NMS_ROIS_INFERENCE = 2000
    # A loose NMS keeps more proposals for the crowded images while training.
    RPN_NMS_THRESHOLD = 0.9
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    # Mean RGB of the nucleus images (dark backgrounds).
    MEAN_PIXEL = np.array([43.53, 39.56, 48.22])
    USE_MINI_MASK = True
    MINI_MASK_SHAPE = (56, 56)
    TRAIN_ROIS_PER_IMAGE = 128
    MAX_GT_INSTANCES = 200
    DETECTION_MAX_INSTANCES = 400


class NucleusInferenceConfig(NucleusConfig):
    """Detection on whole images: scaled up twice, padded to multiples of 64."""
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1
    IMAGE_RESIZE_MODE = "pad64"
    RPN_NMS_THRESHOLD = 0.7


def nucleus_augmentation():
    """Matterport's nucleus augmentation as an albumentations transform: two of left-right flip,
    up-down flip, a turn by 0/90/180/270 degrees, brightness x0.8..1.5 and a Gaussian blur of
    sigma 0..5, picked at random, each then applied with probability 1/2 (so none, one or two
    changes, as Matterport's SomeOf((0, 2), ...)). The turns need square inputs (the crops of
    "crop" mode)."""
    import albumentations as A
    return A.SomeOf([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.RandomRotate90(p=0.5),
                     A.MultiplicativeNoise(multiplier=(0.8, 1.5), p=0.5),
                     A.GaussianBlur(blur_limit=0, sigma_limit=(0.0, 5.0), p=0.5)], n=2, p=1)


class NucleusDataset(MaskFolderDataset):
    """Nuclei from per-image folders (one mask PNG per nucleus), one class."""

    def load_nucleus(self, dataset_dir, subset, val_fraction=0.04, seed=0):
        """Load a subset: "train" or "val" (a reproducible split of DIR/stage1_train, or of DIR
        itself when it holds the per-image folders), or the name of another folder of DIR
        (e.g. "stage1_test") loaded whole.
        """
        if subset in ("train", "val"):
            folder = os.path.join(dataset_dir, TRAIN_FOLDER)
            folder = folder if os.path.isdir(folder) else dataset_dir
            if not os.path.isdir(folder):
                raise DatasetError(f"--dataset {dataset_dir} is not a folder")
            ids = sorted(n for n in os.listdir(folder)
                         if os.path.isdir(os.path.join(folder, n, "images")))
            if len(ids) < 2:
                raise DatasetError(f"{folder} holds {len(ids)} per-image folder(s) "
                                   f"(<id>/images/); train and val need at least 2")
            train, val = train_val_split(ids, val_fraction=val_fraction, seed=seed)
            self.load_masks(folder, class_names=[CLASS_NAME],
                            subset=train if subset == "train" else val)
        else:
            self.load_masks(os.path.join(dataset_dir, subset), class_names=[CLASS_NAME])


def load_dataset(args, subset):
    dataset = NucleusDataset()
    dataset.load_nucleus(args.dataset, subset, val_fraction=args.val_fraction,
                         seed=args.split_seed)
    dataset.prepare()
    print(f"\n{subset}:")
    dataset.summary()
    return dataset


def train(model, args, train_set, val_set):
    """heads -> 4+ -> all for the epochs on the command line, every stage at the same learning
    rate (Matterport's nucleus schedule), with nucleus_augmentation() unless --no-augment."""
    from mrcnn.training.finetune import Stage, train_stages
    learning_rate = args.learning_rate or model.config.LEARNING_RATE
    stages, target = [], 0
    for layers, count in (("heads", args.epochs_heads), ("4+", args.epochs_4plus),
                          ("all", args.epochs_all)):
        if count:
            target += count
            stages.append(Stage(layers, target, learning_rate))
    if not stages:
        raise common.UsageError("train: every stage has 0 epochs")
    kwargs = {"seed": args.seed}
    if args.workers is not None:
        kwargs["workers"] = args.workers
    augmentation = nucleus_augmentation() if args.augment else None
    histories = train_stages(model, train_set, val_set, stages, augmentation=augmentation,
                             **kwargs)
    print(f"Trained to epoch {model.epoch}; checkpoints in {model.log_dir}")
    return histories


def main(argv=None):
    parser = common.build_parser(
        __doc__, ("train", "evaluate", "detect"), epochs=(20, 0, 20),
        augment_help="Matterport's nucleus augmentation (flips, 90 degree turns, brightness, "
                     "blur); on by default")
    parser.set_defaults(augment=True)
    parser.add_argument("--no-augment", dest="augment", action="store_false",
                        help="train without augmentation")
    parser.add_argument("--dataset", metavar="DIR",
                        help="folder with stage1_train/ (or the per-image folders themselves)")
    parser.add_argument("--subset", metavar="NAME",
                        help="detect: a folder of DIR to detect in, e.g. stage1_test")
    parser.add_argument("--val-fraction", type=float, default=0.04,
                        help="share of the folders for val (default 0.04: about Matterport's "
                             "25 of 670)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of that split")
    parser.add_argument("--images", metavar="PATH", help="detect: an image or a folder of them")
    args = parser.parse_args(argv)
    if args.command in ("train", "evaluate") and not args.dataset:
        parser.error(f"{args.command} needs --dataset")
    if args.command == "detect" and not (args.images or (args.dataset and args.subset)):
        parser.error("detect needs --images, or --dataset and --subset")

    if args.command == "train":
        train_set, val_set = load_dataset(args, "train"), load_dataset(args, "val")
        config = common.make_config(NucleusConfig, args)
        config.display()
        model = modellib.MaskRCNN(mode="training", config=config, model_dir=args.logs)
        common.load_training_weights(model, args.weights or "imagenet")
        train(model, args, train_set, val_set)
        return 0

    config = common.make_config(NucleusInferenceConfig, args, inference=True)
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.logs)
    common.load_inference_weights(model, args.weights)
    if args.command == "evaluate":
        common.evaluate(model, load_dataset(args, "val"), args.out, args.limit)
    else:
        if args.images:
            images = args.images
        else:
            images = [info["path"] for info in load_dataset(args, args.subset).image_info]
        common.detect(model, images, ["BG", CLASS_NAME], args.out,
                      results_json=os.path.join(args.out, "detections.json"))
    return 0


if __name__ == "__main__":
    sys.exit(common.run(main))
