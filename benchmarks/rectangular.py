"""Rectangular photos: seconds per training step, and what is learned, in "square" and in
"scale_pad64" (pad each side to a multiple of 64 instead of to a square).

    python benchmarks/rectangular.py step      # 1920x1080 photos, R50, batch 1, all layers
    python benchmarks/rectangular.py learn     # shapes on 128x192 canvases, same steps, mAP@0.5
    python benchmarks/rectangular.py step learn

step: IMAGE_MIN_DIM 800, IMAGE_MAX_DIM 1024: square trains at 1024x1024, scale_pad64 at
1024x576 (0.56 of the pixels). Prints the median seconds per step after warm-up of each mode and
their ratio.
learn: the demo's shapes config (samples/shapes/train_shapes.py) on 128x192 canvases, trained
from the same random weights for the same number of steps (the learning rate 10x lower for the
last fifth), in square (padded to 192x192) and in scale_pad64 (128x192); prints mAP@0.5 on the
same held-out images and the minutes each took. --background fixed gives every image one
background colour: the demo config trains BatchNorm on batches of 4, and with each image's own
random background the batch statistics swing; square's padding (a third of each image) steadies
them, scale_pad64 has none (see README, "Rectangular photos").
Figures depend on the machine and its load: compare figures of one run.
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("parts", nargs="+", choices=["step", "learn"])
    p.add_argument("--photo", type=int, nargs=2, default=[1080, 1920], metavar=("H", "W"))
    p.add_argument("--min-dim", type=int, default=800)
    p.add_argument("--max-dim", type=int, default=1024)
    p.add_argument("--backbone", default="resnet50")
    p.add_argument("--steps", type=int, default=3, help="timed steps after warm-up (step)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--canvas", type=int, nargs=2, default=[128, 192], metavar=("H", "W"))
    p.add_argument("--train-steps", type=int, default=400, help="training steps (learn)")
    p.add_argument("--eval-images", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--background", choices=["random", "fixed"], default="random",
                   help="learn: each shapes image's own random background colour (the dataset's "
                        "default), or one colour for all")
    return p.parse_args(argv)


#: The one background colour of --background fixed.
FIXED_BACKGROUND = (110, 120, 100)


def _shapes(count, height, width, seed, background="random"):
    from mrcnn.datasets.shapes import ShapesDataset
    dataset = ShapesDataset()
    dataset.load_shapes(count, height, width, seed=seed)
    if background == "fixed":
        for info in dataset.image_info:
            info["bg_color"] = FIXED_BACKGROUND
    dataset.prepare()
    return dataset


def step_seconds(args, mode):
    """Median seconds of a training step (batch 1, all layers) on a photo-sized image."""
    import keras
    import numpy as np

    from mrcnn.data.pipeline import build_batch
    from mrcnn.datasets.shapes import ShapesConfig
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.presets import layer_regex, set_trainable

    class PhotoConfig(ShapesConfig):
        NAME = "photo"
        BACKBONE = args.backbone
        IMAGES_PER_GPU = 1
        IMAGE_RESIZE_MODE = mode
        IMAGE_MIN_DIM = args.min_dim
        IMAGE_MAX_DIM = args.max_dim

    config = PhotoConfig()
    dataset = _shapes(1, args.photo[0], args.photo[1], args.seed)
    batch = build_batch(dataset, config, [0], rng=np.random.default_rng(0))
    keras.utils.set_random_seed(args.seed)
    model = MaskRCNN("training", config, os.path.join(ROOT, "logs", "bench"))
    km = model.keras_model
    set_trainable(km, layer_regex("all"), train_bn=False)
    km.compile(optimizer=keras.optimizers.SGD(1e-4, momentum=0.9), jit_compile=False)
    times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        km.train_on_batch(batch)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    return batch["input_image"].shape[1:3], statistics.median(times)


def learn(args, mode):
    """(mAP@0.5, training minutes) of the demo config trained in `mode` on canvases."""
    import keras

    sys.path.insert(0, os.path.join(ROOT, "samples", "shapes"))
    from train_shapes import DemoInferenceConfig, DemoShapesConfig

    from mrcnn.evaluate import evaluate_model
    from mrcnn.maskrcnn import MaskRCNN

    height, width = args.canvas
    settings = {"IMAGE_RESIZE_MODE": mode, "IMAGE_MIN_DIM": min(height, width),
                "IMAGE_MAX_DIM": max(height, width), "NAME": "rect_" + mode}
    config = DemoShapesConfig().update(**settings)
    train_set = _shapes(2000, height, width, args.seed, args.background)
    val_set = _shapes(args.eval_images, height, width, args.seed + 1, args.background)
    keras.utils.set_random_seed(args.seed)
    logs = os.path.join(ROOT, "logs", "bench")
    model = MaskRCNN("training", config, logs)
    epochs = -(-args.train_steps // config.STEPS_PER_EPOCH)
    # As the demo: the learning rate 10x lower for the last fifth of the steps.
    lower = keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: config.LEARNING_RATE / (10 if epoch >= 0.8 * epochs else 1))
    start = time.perf_counter()
    model.train(train_set, None, learning_rate=config.LEARNING_RATE, epochs=epochs,
                layers="all", seed=args.seed, optimizer=keras.optimizers.Adam(
                    config.LEARNING_RATE), verbose=0, custom_callbacks=[lower])
    minutes = (time.perf_counter() - start) / 60
    inference = MaskRCNN("inference", DemoInferenceConfig().update(**settings), logs)
    inference.load_weights(model.find_last(), by_name=True)
    results = evaluate_model(inference, val_set, verbose=0)
    return results["voc/mAP@0.5"], minutes, epochs * config.STEPS_PER_EPOCH


def main(argv=None):
    args = parse_args(argv)
    if "step" in args.parts:
        print(f"Training step, {args.photo[0]}x{args.photo[1]} photo, {args.backbone}, batch 1, "
              f"all layers, IMAGE_MIN_DIM {args.min_dim}, IMAGE_MAX_DIM {args.max_dim}:")
        seconds = {}
        for mode in ("square", "scale_pad64"):
            shape, seconds[mode] = step_seconds(args, mode)
            print(f"  {mode:12s} input {shape[0]}x{shape[1]}  {seconds[mode]:7.2f} s/step",
                  flush=True)
        print(f"  square / scale_pad64: {seconds['square'] / seconds['scale_pad64']:.2f}x")
    if "learn" in args.parts:
        print(f"Learning, shapes on {args.canvas[0]}x{args.canvas[1]} canvases ({args.background} "
              f"background colours), at least {args.train_steps} steps (whole epochs) from random "
              f"weights, seed "
              f"{args.seed}, mAP@0.5 on {args.eval_images} held-out images:")
        maps = {}
        for mode in ("square", "scale_pad64"):
            maps[mode], minutes, steps = learn(args, mode)
            print(f"  {mode:12s} mAP@0.5 {maps[mode]:.3f}  ({steps} steps in {minutes:.1f} min)",
                  flush=True)
        print(f"  difference: {abs(maps['square'] - maps['scale_pad64']):.3f}")


if __name__ == "__main__":
    main()
