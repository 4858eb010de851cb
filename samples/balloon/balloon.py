"""Mask R-CNN on balloons annotated with VIA, and the colour splash effect (Matterport's sample).

Data (--dataset DIR): DIR/train/ and DIR/val/, each with the images and the VGG Image Annotator
export via_region_data.json (VIA 1.x or 2.x). By default every region is one class, "balloon";
for several classes name the region attribute that holds the class with --class-key and list
the classes with --class-names.

    # Fine-tune Matterport's COCO model (the heads, 30 epochs, as Matterport's sample)
    python samples/balloon/balloon.py train --dataset balloon/ --weights coco
    python samples/balloon/balloon.py train --dataset balloon/ --weights last
    # COCO-style AP on DIR/val (table printed, results/evaluation.json written)
    python samples/balloon/balloon.py evaluate --dataset balloon/ --weights last
    # Colour splash: the image in grayscale, the detected balloons in colour
    python samples/balloon/balloon.py splash --image photo.jpg --weights last
    # Another VIA set with a class attribute
    python samples/balloon/balloon.py train --dataset rice/ --class-key class_id \\
        --class-names bacteria brown_spot leaf_smut

Splash pictures are written as results/splash_<image name>.png (--out). (Matterport's --video
option is not offered: OpenCV is not a dependency; splash the frames as images.)
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import skimage.color  # noqa: E402
import skimage.io  # noqa: E402

import common  # noqa: E402  (samples/common.py)
from mrcnn import model as modellib  # noqa: E402
from mrcnn.config import Config  # noqa: E402
from mrcnn.datasets import ViaDataset  # noqa: E402


class BalloonConfig(Config):
    """Configuration for training on the toy balloon dataset (Matterport's values)."""
    # Give the configuration a recognizable name
    NAME = "balloon"
    # We use a GPU with 12GB memory, which can fit two images.
    IMAGES_PER_GPU = 2
    # Number of classes (including background)
    NUM_CLASSES = 1 + 1  # Background + balloon
    # Number of training steps per epoch
    STEPS_PER_EPOCH = 100
    # Skip detections with < 90% confidence
    DETECTION_MIN_CONFIDENCE = 0.9


class InferenceConfig(BalloonConfig):
    # Set batch size to 1 since we'll be running inference on
    # one image at a time. Batch size = GPU_COUNT * IMAGES_PER_GPU
    GPU_COUNT = 1
    IMAGES_PER_GPU = 1


class BalloonDataset(ViaDataset):
    """Matterport's BalloonDataset on :class:`mrcnn.datasets.ViaDataset`."""

    def load_balloon(self, dataset_dir, subset, class_key=None, class_names=("balloon",)):
        """Load a subset of the Balloon dataset.
        dataset_dir: Root directory of the dataset.
        subset: Subset to load: train or val
        class_key: region attribute holding the class (None: every region is class_names[0]).
        Images without regions are left out, as in Matterport's sample.
        """
        # Train or validation dataset?
        if subset not in ("train", "val"):
            raise ValueError(f"subset must be 'train' or 'val', got {subset!r}")
        dataset_dir = os.path.join(dataset_dir, subset)
        self.load_via(os.path.join(dataset_dir, "via_region_data.json"), class_key=class_key,
                      class_names=list(class_names))


def color_splash(image, mask):
    """Apply color splash effect.
    image: RGB image [height, width, 3]
    mask: instance segmentation mask [height, width, instance count]

    Returns result image.
    """
    # Make a grayscale copy of the image. The grayscale copy still
    # has 3 RGB channels, though.
    gray = skimage.color.gray2rgb(skimage.color.rgb2gray(image)) * 255
    # Copy color pixels from the original color image where mask is set
    if mask.shape[-1] > 0:
        # We're treating all instances as one, so collapse the mask into one layer
        mask = (np.sum(mask, -1, keepdims=True) >= 1)
        splash = np.where(mask, image, gray).astype(np.uint8)
    else:
        splash = gray.astype(np.uint8)
    return splash


def detect_and_color_splash(model, image_path, out_dir="."):
    """Colour-splash the image (or every image of the folder) at ``image_path`` with the masks
    ``model`` detects; writes ``out_dir``/splash_<image stem>.png. Returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for file, image in common.read_images(image_path, model.config):
        # Detect objects
        r = model.detect([image], verbose=0)[0]
        # Color splash
        splash = color_splash(image, r["masks"])
        # Save output
        file_name = os.path.join(
            out_dir, "splash_{}.png".format(os.path.splitext(os.path.basename(file))[0]))
        skimage.io.imsave(file_name, splash, check_contrast=False)
        print(f"{file}: {r['masks'].shape[-1]} instances -> {file_name}")
        written.append(file_name)
    return written


def load_dataset(args, subset):
    dataset = BalloonDataset()
    dataset.load_balloon(args.dataset, subset, class_key=args.class_key,
                         class_names=args.class_names)
    dataset.prepare()
    print(f"\n{subset}:")
    dataset.summary()
    return dataset


def main(argv=None):
    parser = common.build_parser(__doc__, ("train", "evaluate", "splash"), epochs=(30, 0, 0))
    parser.add_argument("--dataset", metavar="DIR", help="folder with train/ and val/")
    parser.add_argument("--class-key", metavar="KEY",
                        help="region_attributes key of the class (default: one class)")
    parser.add_argument("--class-names", nargs="+", default=["balloon"], metavar="NAME",
                        help="the classes (default: balloon)")
    parser.add_argument("--image", metavar="PATH", help="image or folder to splash")
    args = parser.parse_args(argv)
    num_classes = 1 + len(args.class_names)
    if args.command in ("train", "evaluate") and not args.dataset:
        parser.error(f"{args.command} needs --dataset")
    if args.command == "splash" and not args.image:
        parser.error("splash needs --image")

    if args.command == "train":
        train_set, val_set = load_dataset(args, "train"), load_dataset(args, "val")
        config = common.make_config(BalloonConfig, args, NUM_CLASSES=num_classes)
        config.display()
        model = modellib.MaskRCNN(mode="training", config=config, model_dir=args.logs)
        common.load_training_weights(model, args.weights or "coco")
        common.train(model, args, train_set, val_set)
        return 0

    config = common.make_config(InferenceConfig, args, inference=True, NUM_CLASSES=num_classes)
    model = modellib.MaskRCNN(mode="inference", config=config, model_dir=args.logs)
    common.load_inference_weights(model, args.weights)
    if args.command == "evaluate":
        common.evaluate(model, load_dataset(args, "val"), args.out, args.limit)
    else:
        detect_and_color_splash(model, args.image, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(common.run(main))
