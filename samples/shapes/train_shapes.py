"""Train Mask R-CNN on synthetic shapes from scratch, evaluate it, and draw its detections.

    python samples/shapes/train_shapes.py                  # ~15 minutes on a 2-core CPU
    python samples/shapes/train_shapes.py --minutes 3      # a shorter run

No pretrained weights are needed (none can be downloaded on every machine): the config below uses
the light ResNet18 backbone with BatchNorm trained (TRAIN_BN = True), anchors on every cell, small
masks, few ROIs and batches of 4, trained with Adam: the settings that learned fastest on a CPU
(Matterport's SGD is ``--optimizer sgd``). Training stops when the time budget is spent, after
dropping the learning rate 10x for its last fifth. Then the last checkpoint is loaded into an
inference model, mAP@0.5 is computed on held-out images, and a picture of detections, the
training curves and an HTML evaluation report (report/index.html) are saved.
"""
import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from mrcnn import model as modellib, visualize  # noqa: E402
from mrcnn.datasets.shapes import ShapesConfig, ShapesDataset  # noqa: E402
from mrcnn.evaluate import evaluate_model, save_results  # noqa: E402


class DemoShapesConfig(ShapesConfig):
    """Shapes, tuned to learn quickly from random weights on a CPU."""
    NAME = "shapes"
    BACKBONE = "resnet18"
    TRAIN_BN = True                 # from scratch, BatchNorm must learn its statistics
    IMAGES_PER_GPU = 4              # more, smaller steps learn faster per minute
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
    RPN_ANCHOR_STRIDE = 1           # small objects: anchors on every feature-map cell
    TOP_DOWN_PYRAMID_SIZE = 128
    FPN_CLASSIF_FC_LAYERS_SIZE = 256
    MASK_POOL_SIZE = 7
    MASK_SHAPE = [14, 14]
    MINI_MASK_SHAPE = (28, 28)
    PRE_NMS_LIMIT = 1000
    POST_NMS_ROIS_TRAINING = 300
    POST_NMS_ROIS_INFERENCE = 100
    RPN_TRAIN_ANCHORS_PER_IMAGE = 64
    TRAIN_ROIS_PER_IMAGE = 32
    MAX_GT_INSTANCES = 8
    DETECTION_MAX_INSTANCES = 20
    DETECTION_MIN_CONFIDENCE = 0.5
    LEARNING_RATE = 0.001           # for Adam
    STEPS_PER_EPOCH = 50
    VALIDATION_STEPS = 2


class DemoInferenceConfig(DemoShapesConfig):
    IMAGES_PER_GPU = 1


class TimeBudget(keras.callbacks.Callback):
    """Stop after ``seconds`` of training; lower the learning rate 10x for the last ``tail``."""

    def __init__(self, seconds, learning_rate, tail=0.2):
        super().__init__()
        self.seconds = seconds
        self.learning_rate = learning_rate
        self.tail = tail
        self.start = None
        self.lowered = False

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.time() - self.start
        if not self.lowered and elapsed > self.seconds * (1 - self.tail):
            self.model.optimizer.learning_rate.assign(self.learning_rate / 10)
            self.lowered = True
        if elapsed > self.seconds:
            self.model.stop_training = True


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="training time budget")
    parser.add_argument("--logs", default="logs", help="where checkpoints and TensorBoard go")
    parser.add_argument("--out", default="demo_output", help="where the pictures go")
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--eval-images", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="adam",
                        help="sgd: Matterport's SGD with momentum; adam: Adam")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides, e.g. --set IMAGES_PER_GPU=4 LEARNING_RATE=0.01")
    return parser.parse_args(argv)


def run(args):
    """Train, evaluate and draw as the command line says (parse_args); returns a dict of what
    it measured: "map50", "mask_ap", "box_ap", "epochs", "steps_per_epoch", "batch_size",
    "train_minutes" (from the start to the last checkpoint), "total_minutes", "eval_images",
    and the paths "checkpoint", "picture", "curves", "report"."""
    started = time.time()
    config = DemoShapesConfig().apply_overrides(args.set)
    config.display()
    train_set = ShapesDataset()
    train_set.load_shapes(args.train_images, config.IMAGE_SHAPE[0], config.IMAGE_SHAPE[1],
                          seed=args.seed)
    train_set.prepare()
    val_set = ShapesDataset()       # held out: another seed
    val_set.load_shapes(max(args.eval_images, 16), config.IMAGE_SHAPE[0],
                        config.IMAGE_SHAPE[1], seed=args.seed + 1)
    val_set.prepare()

    model = modellib.MaskRCNN(mode="training", config=config, model_dir=args.logs)
    budget = TimeBudget(args.minutes * 60, config.LEARNING_RATE)
    optimizer = None
    if args.optimizer == "adam":
        optimizer = keras.optimizers.Adam(config.LEARNING_RATE)
    # An upper bound on the epochs; the time budget stops training first.
    epochs = max(1, int(args.minutes * 60 / (config.STEPS_PER_EPOCH * 0.2)))
    model.train(train_set, val_set, learning_rate=config.LEARNING_RATE, epochs=epochs,
                layers="all", custom_callbacks=[budget], seed=args.seed, optimizer=optimizer)
    trained = time.time() - started

    inference_config = DemoInferenceConfig().apply_overrides(args.set).update(IMAGES_PER_GPU=1)
    inference = modellib.MaskRCNN(mode="inference", config=inference_config,
                                  model_dir=args.logs)
    checkpoint = model.find_last()
    inference.load_weights(checkpoint, by_name=True)
    eval_ids = val_set.image_ids[:args.eval_images]
    os.makedirs(args.out, exist_ok=True)
    report = os.path.join(args.out, "report")
    results = evaluate_model(inference, val_set, image_ids=eval_ids, verbose=1, report=report,
                             log_dir=model.log_dir,
                             provenance={"weights": checkpoint,
                                         "dataset": f"{len(eval_ids)} held-out synthetic "
                                                    f"shapes (seed {args.seed + 1})"})

    save_results(results, os.path.join(args.out, "shapes_evaluation.json"))
    picture = os.path.join(args.out, "shapes_detections.png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = eval_ids[:6]
    detections = inference.detect([val_set.load_image(i) for i in shown])
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    for ax, image_id, r in zip(axes.ravel(), shown, detections):
        visualize.display_instances(val_set.load_image(image_id), r["rois"], r["masks"],
                                    r["class_ids"], val_set.class_names, r["scores"], ax=ax,
                                    title=f"held-out image {image_id}")
    fig.tight_layout()
    fig.savefig(picture)
    plt.close(fig)
    curves = os.path.join(args.out, "shapes_training_curves.png")
    visualize.save_training_curves(model.log_dir, save_path=curves)

    return {"map50": results["voc/mAP@0.5"], "mask_ap": results["segm/AP"],
            "box_ap": results["bbox/AP"], "epochs": model.epoch,
            "steps_per_epoch": config.STEPS_PER_EPOCH, "batch_size": config.BATCH_SIZE,
            "train_minutes": trained / 60, "total_minutes": (time.time() - started) / 60,
            "eval_images": len(eval_ids), "checkpoint": checkpoint, "picture": picture,
            "curves": curves, "report": os.path.join(report, "index.html")}


def main(argv=None):
    r = run(parse_args(argv))
    print(f"\nTrained {r['epochs']} epochs x {r['steps_per_epoch']} steps x "
          f"{r['batch_size']} images in {r['train_minutes']:.1f} min; checkpoint "
          f"{r['checkpoint']}")
    print(f"Detections: {r['picture']}\nTraining curves: {r['curves']}\n"
          f"Evaluation report: {r['report']}")
    print(f"COCO mask AP {r['mask_ap']:.3f}, box AP {r['box_ap']:.3f}")
    print(f"mAP@0.5 on {r['eval_images']} held-out images: {r['map50']:.3f}")
    return 0 if math.isfinite(r["map50"]) else 1


if __name__ == "__main__":
    sys.exit(main())
