"""Input pipeline: seconds per image of build_batch (load, resize, masks, RPN targets), one thread.

    python benchmarks/pipeline.py                    # the real kudzu photos (VIA), 1024x1024
    python benchmarks/pipeline.py --stride 1 2 --profile 12
    python benchmarks/pipeline.py --dataset via:PATH/via_region_data.json --images 10
    python benchmarks/pipeline.py --stride 1 --loaders 1 2       # the feed with 1, 2 threads
    python benchmarks/pipeline.py --stride 1 --processes 1 2     # ... with 1, 2 processes

What a training process spends per image before the model sees it, at Matterport's default
config (IMAGE_MIN_DIM 800, IMAGE_MAX_DIM 1024, square, mini-masks 56x56), one image per batch, one
thread (OMP/BLAS threads 1). Prints, per RPN_ANCHOR_STRIDE, the mean, median and largest seconds
per image over the set (after one warm-up image, which builds the cached anchors), and with
--profile N the N functions of the largest cumulative time (cProfile). --loaders N... also times
the training feed (DataSequence, as train() runs it) with N loading threads (--processes N...:
forked loading processes): images per second over two passes of the set.
The kudzu set (768x576 photos, 4-112 polygons each) is in ../shared/datasets beside the checkout.
Figures depend on the machine and its load: compare figures of one run.
"""
import argparse
import os
import statistics
import sys
import time

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUDZU = os.path.join(ROOT, "..", "shared", "datasets", "via_kudzu", "train",
                     "via_region_data.json")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="via:" + KUDZU,
                   help="via:JSON (the default: the kudzu photos)")
    p.add_argument("--stride", type=int, nargs="+", default=[1, 2],
                   help="RPN_ANCHOR_STRIDE values to time")
    p.add_argument("--images", type=int, default=0, help="first N images (0: all)")
    p.add_argument("--max-dim", type=int, default=1024)
    p.add_argument("--min-dim", type=int, default=800)
    p.add_argument("--loaders", type=int, nargs="*", default=[],
                   help="loading thread counts to time the feed with")
    p.add_argument("--processes", type=int, nargs="*", default=[],
                   help="loading process counts to time the feed with (use_multiprocessing)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="print the N functions of the largest cumulative time")
    return p.parse_args(argv)


def load(spec):
    from mrcnn.datasets import ViaDataset
    kind, _, path = spec.partition(":")
    if kind != "via":
        raise SystemExit(f"--dataset {spec}: only via:JSON is supported")
    if not os.path.exists(path):
        raise SystemExit(f"--dataset {spec}: {path} not found (the kudzu set lives in "
                         f"../shared/datasets beside the checkout)")
    dataset = ViaDataset()
    dataset.load_via(path)
    dataset.prepare()
    return dataset


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import numpy as np

    from mrcnn.data.pipeline import build_batch

    dataset = load(args.dataset)
    ids = list(dataset.image_ids)[:args.images or None]
    print(f"build_batch on {len(ids)} images of {args.dataset}, IMAGE_MIN_DIM {args.min_dim}, "
          f"IMAGE_MAX_DIM {args.max_dim}, one thread:")
    for stride in args.stride:
        config = pipeline_config(dataset, args.min_dim, args.max_dim, stride)
        build_batch(dataset, config, [ids[0]], rng=np.random.default_rng(0))   # warm-up
        profile = None
        if args.profile:
            import cProfile
            profile = cProfile.Profile()
            profile.enable()
        seconds = seconds_per_image(dataset, config, ids)
        if profile is not None:
            profile.disable()
        print(f"  RPN_ANCHOR_STRIDE {stride}: mean {statistics.mean(seconds):.3f} s/image, "
              f"median {statistics.median(seconds):.3f}, max {max(seconds):.3f} "
              f"({1 / statistics.mean(seconds):.2f} images/s)", flush=True)
        if profile is not None:
            import pstats
            pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative") \
                .print_stats(args.profile)
        for kind in ("threads", "processes"):
            for workers in args.loaders if kind == "threads" else args.processes:
                rate = feed_rate(dataset, config, ids, workers, kind == "processes")
                print(f"    feed, {workers} {kind}: {rate:.2f} images/s", flush=True)


def pipeline_config(dataset, min_dim=800, max_dim=1024, stride=1):
    """Matterport's default training config for ``dataset`` with these sizes, one image per
    batch."""
    from mrcnn.config import Config

    class Bench(Config):
        NAME = "pipeline"
        NUM_CLASSES = dataset.num_classes
        IMAGES_PER_GPU = 1
        IMAGE_MIN_DIM = min_dim
        IMAGE_MAX_DIM = max_dim
        RPN_ANCHOR_STRIDE = stride
    return Bench()


def seconds_per_image(dataset, config, ids):
    """build_batch's seconds for each image of ``ids`` (one image per batch, this thread)."""
    import numpy as np

    from mrcnn.data.pipeline import build_batch
    seconds = []
    for i in ids:
        start = time.perf_counter()
        build_batch(dataset, config, [i], rng=np.random.default_rng(i))
        seconds.append(time.perf_counter() - start)
    return seconds


def feed_rate(dataset, config, ids, workers, processes=False):
    """Images per second of DataSequence's feed (batches of one) over two passes of ``ids``,
    after its first batch (which starts the loaders)."""
    from mrcnn.data.pipeline import DataSequence
    sequence = DataSequence(dataset, config, image_ids=ids, batch_size=1, seed=0,
                            workers=workers, use_multiprocessing=processes)
    feed = sequence._endless()
    try:
        next(feed)
        start = time.perf_counter()
        for _ in range(2 * len(ids)):
            next(feed)
        return 2 * len(ids) / (time.perf_counter() - start)
    finally:
        feed.close()


if __name__ == "__main__":
    main()
