"""Speed of training, of the data pipeline alone, of detect() and of an exported SavedModel.

    python benchmarks/benchmark.py                       # the shapes config of issue 3
    python benchmarks/benchmark.py --size 256 --batch 2 --layers heads --steps 8
    python benchmarks/benchmark.py --precision float32 mixed_bfloat16    # both, one run
    python benchmarks/benchmark.py --size 1024 --batch 2 --precision float32 mixed_float16  # GPU
    python benchmarks/benchmark.py --skip data train detect export --feed   # fit() steps only
    python benchmarks/benchmark.py --skip data detect export --jit off on  # with and without XLA
    python benchmarks/benchmark.py --size 1024 --batch 2 --layers all --precision float32 \
        mixed_float16 --jit off on --pipeline 1 4 8 15     # a GPU host: every figure of issue 16

Prints medians after warm-up (the first steps trace the graph). Figures depend on the machine and
its load: compare runs on the same machine only.
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128, help="image side (multiple of 64)")
    p.add_argument("--batch", type=int, default=8, help="images per step")
    p.add_argument("--backbone", default="resnet50",
                   choices=["resnet50", "resnet101", "resnet18", "resnet34"])
    p.add_argument("--anchor-stride", type=int, default=1)
    p.add_argument("--rois", type=int, default=32, help="TRAIN_ROIS_PER_IMAGE")
    p.add_argument("--layers", nargs="+", default=["all", "heads"])
    p.add_argument("--steps", type=int, default=6, help="timed steps after warm-up")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--detect-images", type=int, default=5)
    p.add_argument("--workers", type=int, default=2, help="data-pipeline threads")
    p.add_argument("--precision", nargs="+", default=["float32"],
                   choices=["float32", "mixed_float16", "mixed_bfloat16"],
                   help="Config.MIXED_PRECISION of each pass (float32: None); several: one "
                        "pass after the other in this run, for figures to compare")
    p.add_argument("--jit", nargs="+", default=["off"], choices=["off", "on"],
                   help="Config.JIT_COMPILE of the train_on_batch timings (on: the training step "
                        "compiled with XLA); 'off on': both, one after the other")
    p.add_argument("--skip", nargs="*", default=[],
                   choices=["train", "data", "detect", "export"])
    p.add_argument("--feed", nargs="*", choices=["static", "open"],
                   help="also time fit() steps (layers all) on DataSequence.as_tf_dataset(): "
                        "its static signature (one batch shape) and/or shapes left open (what "
                        "a dataset of several bucket shapes gets); --feed alone: both")
    p.add_argument("--pipeline", type=int, nargs="*", metavar="N",
                   help="also time the input pipeline on the real kudzu photos at 1024x1024 "
                        "(benchmarks/pipeline.py, Matterport's default config with "
                        "--anchor-stride): seconds per image in one process, and images/s of "
                        "the training feed with N forked loading processes for each N given "
                        "(--pipeline alone: 1 and 2)")
    return p.parse_args(argv)


def make_config(args, mode):
    from mrcnn.datasets.shapes import ShapesConfig

    class BenchConfig(ShapesConfig):
        NAME = "bench"
        IMAGES_PER_GPU = args.batch if mode == "training" else 1
        IMAGE_MIN_DIM = args.size
        IMAGE_MAX_DIM = args.size
        BACKBONE = args.backbone
        RPN_ANCHOR_STRIDE = args.anchor_stride
        TRAIN_ROIS_PER_IMAGE = args.rois
        MIXED_PRECISION = None if args.mixed_precision == "float32" else args.mixed_precision
        JIT_COMPILE = mode == "training" and getattr(args, "jit_compile", False)

    return BenchConfig()


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def bench_train(args, dataset, out):
    """train_on_batch per --layers preset, once per --jit value (XLA's first step, which
    compiles, is timed on its own)."""
    for jit in args.jit:
        args.jit_compile = jit == "on"
        bench_train_pass(args, dataset, out)
    args.jit_compile = False


def bench_train_pass(args, dataset, out):
    import keras

    from mrcnn.data.pipeline import build_batch
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.presets import layer_regex

    config = make_config(args, "training")
    model = MaskRCNN("training", config, "/tmp/mrcnn_bench_logs")
    rng = np.random.default_rng(0)
    batches = [build_batch(dataset, config, rng.choice(dataset.image_ids, config.BATCH_SIZE),
                           rng=rng) for _ in range(4)]
    xla = " jit=on " if config.JIT_COMPILE else ""
    for layers in args.layers:
        model.set_trainable(layer_regex(layers), verbose=0)
        model.keras_model.compile(optimizer=keras.optimizers.SGD(0.001, momentum=0.9),
                                  jit_compile=config.JIT_COMPILE)
        i = iter(range(10 ** 9))

        def step(i=i):
            model.keras_model.train_on_batch(batches[next(i) % len(batches)])

        if config.JIT_COMPILE:
            start = time.perf_counter()
            step()
            out(f"train layers={layers:5s}{xla} first step (XLA compiles) "
                f"{time.perf_counter() - start:6.1f} s")
        med, lo, hi = timed(step, args.steps, args.warmup)
        out(f"train layers={layers:5s}{xla} {med:6.3f} s/step  (min {lo:.3f}, max {hi:.3f})  "
            f"{config.BATCH_SIZE / med:6.2f} images/s")


def bench_feed(args, dataset, out):
    """Seconds per fit() step on the DataSequence feed, as model.train() runs it, with the
    feed's own signature and with every axis but the last left open."""
    import keras
    import tensorflow as tf

    from mrcnn.data.pipeline import DataSequence
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.presets import layer_regex

    class StepTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    config = make_config(args, "training")
    for shapes in args.feed or ("static", "open"):
        model = MaskRCNN("training", config, "/tmp/mrcnn_bench_logs")
        model.set_trainable(layer_regex("all"), verbose=0)
        model.keras_model.compile(optimizer=keras.optimizers.SGD(0.001, momentum=0.9),
                                  jit_compile=False)
        sequence = DataSequence(dataset, config, seed=0, workers=args.workers)
        feed = sequence.as_tf_dataset()
        if shapes == "open":
            signature = {name: tf.TensorSpec([None] * (spec.shape.rank - 1) + spec.shape[-1:],
                                             spec.dtype, name=name)
                         for name, spec in sequence.signature().items()}
            feed = tf.data.Dataset.from_generator(sequence._endless,
                                                  output_signature=signature)
        timer = StepTimes()
        model.keras_model.fit(feed, steps_per_epoch=args.warmup + args.steps, epochs=1,
                              verbose=0, callbacks=[timer])
        times = timer.times[args.warmup:]
        med = statistics.median(times)
        out(f"fit() step, {shapes:6s} shapes  {med:6.3f} s/step  (min {min(times):.3f}, "
            f"max {max(times):.3f})  {config.BATCH_SIZE / med:6.2f} images/s")


def bench_data(args, dataset, out):
    from mrcnn.data.pipeline import DataSequence

    config = make_config(args, "training")
    for workers in sorted({1, args.workers}):
        seq = DataSequence(dataset, config, workers=workers, seed=0, steps=args.steps * 2)
        start = time.perf_counter()
        if workers == 1:
            for k in range(len(seq)):
                seq[k]
        else:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(seq.__getitem__, range(len(seq))))
        elapsed = time.perf_counter() - start
        n = len(seq) * config.BATCH_SIZE
        out(f"data pipeline workers={workers}  {elapsed / len(seq):6.3f} s/batch  "
            f"{n / elapsed:7.1f} images/s")


def bench_detect(args, dataset, out):
    from mrcnn.maskrcnn import MaskRCNN

    config = make_config(args, "inference")
    model = MaskRCNN("inference", config, "/tmp/mrcnn_bench_logs")
    images = [dataset.load_image(i) for i in dataset.image_ids[:args.detect_images]]
    med, lo, hi = timed(lambda: model.detect(images[:1]), args.steps, args.warmup)
    # The mask head runs on the detections, so the time depends on their number. Random weights
    # detect up to DETECTION_MAX_INSTANCES; a trained model usually far fewer.
    count = len(model.detect(images[:1])[0]["class_ids"])
    out(f"detect 1 image            {med:6.3f} s/image  (min {lo:.3f}, max {hi:.3f})  "
        f"{count} detections")
    med, _, _ = timed(lambda: model.detect(images), max(2, args.steps // 2), 1)
    out(f"detect {len(images)} images           {med / len(images):6.3f} s/image")
    return model, images


def bench_detect_nothing(model, images, args, out):
    """detect() when the classifier finds nothing (its logits set to background): the part of
    detect() that does not depend on the number of detections. Changes the model's weights."""
    layer = model.keras_model.get_layer("mrcnn_class_logits")
    kernel, bias = layer.get_weights()
    bias = np.zeros_like(bias)
    bias[0] = 20.0
    layer.set_weights([np.zeros_like(kernel), bias])
    assert not len(model.detect(images[:1])[0]["class_ids"])
    med, lo, hi = timed(lambda: model.detect(images[:1]), args.steps, args.warmup)
    out(f"detect 1 image            {med:6.3f} s/image  (min {lo:.3f}, max {hi:.3f})  "
        f"0 detections (classifier set to background)")


def bench_export(model, images, args, out):
    """The SavedModel of model.export, reloaded, one image per call (molding in the graph)."""
    import tempfile

    import tensorflow as tf
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        model.export(os.path.join(folder, "model"))
        out(f"export                    {time.perf_counter() - start:6.1f} s")
        serve = tf.saved_model.load(os.path.join(folder, "model")).signatures["serving_default"]
        batches = [tf.constant(image[None]) for image in images]

        def run_all():
            for batch in batches:
                serve(images=batch)["num_detections"].numpy()

        med, _, _ = timed(run_all, max(2, args.steps // 2), 1)
        out(f"SavedModel {len(images)} images       {med / len(images):6.3f} s/image")


def bench_pipeline(args, out):
    """The input pipeline on the kudzu photos: per image, one process; the feed with N
    loading processes."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))     # benchmarks/pipeline.py
    import pipeline
    try:
        dataset = pipeline.load("via:" + pipeline.KUDZU)
    except SystemExit as e:
        out(f"input pipeline: skipped ({e})")
        return
    config = pipeline.pipeline_config(dataset, stride=args.anchor_stride)
    ids = list(dataset.image_ids)
    pipeline.seconds_per_image(dataset, config, ids[:1])                     # warm-up
    seconds = pipeline.seconds_per_image(dataset, config, ids)
    out(f"input pipeline 1024x1024 RPN_ANCHOR_STRIDE={args.anchor_stride} ({len(ids)} kudzu "
        f"photos): {statistics.mean(seconds):.3f} s/image per core (max {max(seconds):.3f}), "
        f"{1 / statistics.mean(seconds):.2f} images/s")
    for workers in args.pipeline or [1, 2]:
        rate = pipeline.feed_rate(dataset, config, ids, workers, processes=True)
        out(f"input pipeline feed, {workers} loading processes: {rate:.2f} images/s")


def main(argv=None):
    args = parse_args(argv)
    import tensorflow as tf

    from mrcnn.datasets.shapes import ShapesDataset

    def out(line):
        print(line, flush=True)

    dataset = ShapesDataset()
    dataset.load_shapes(64, args.size, args.size, seed=0)
    dataset.prepare()
    for precision in args.precision:
        args.mixed_precision = precision
        out(f"mrcnn benchmark: {args.size}x{args.size}, batch {args.batch}, {args.backbone}, "
            f"RPN_ANCHOR_STRIDE={args.anchor_stride}, TRAIN_ROIS_PER_IMAGE={args.rois}, "
            f"{precision}, TF {tf.__version__}, {os.cpu_count()} CPUs, "
            f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")
        run_pass(args, dataset, out)
    if args.pipeline is not None:
        bench_pipeline(args, out)


def run_pass(args, dataset, out):
    """Every part not in --skip, in the precision args.mixed_precision."""
    if "data" not in args.skip:
        bench_data(args, dataset, out)
    if "train" not in args.skip:
        bench_train(args, dataset, out)
    if args.feed is not None:
        bench_feed(args, dataset, out)
    if "detect" not in args.skip or "export" not in args.skip:
        model, images = bench_detect(args, dataset, out)
        if "export" not in args.skip:
            bench_export(model, images, args, out)
        if "detect" not in args.skip:
            bench_detect_nothing(model, images, args, out)


if __name__ == "__main__":
    sys.exit(main())
