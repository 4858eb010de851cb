"""The README's headline: the demo trained for its time budget, its held-out mAP@0.5 and the
minutes it took, as ./run_demo.sh runs it (samples/shapes/train_shapes.py).

    python benchmarks/learning.py                                        # float32, 15 minutes
    python benchmarks/learning.py --precision float32 mixed_bfloat16     # both, one run
    python benchmarks/learning.py --minutes 3 --eval-images 20

Each precision trains from the same random weights on the same images in its own log folder
(under --logs), one after the other. The minutes are wall-clock time on this machine, so they
depend on its load: run it on a quiet machine, and compare figures of one run.
"""
import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--precision", nargs="+", choices=PRECISIONS, default=["float32"],
                   help="Config.MIXED_PRECISION of each run (float32: None)")
    p.add_argument("--minutes", type=float, default=15.0, help="training budget of each run")
    p.add_argument("--eval-images", type=int, default=50)
    p.add_argument("--train-images", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logs", default=None,
                   help="folder of the runs' checkpoints and pictures (default: a temporary "
                        "folder, deleted at the end)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="config overrides for every run, as the demo's --set")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, os.path.join(ROOT, "samples", "shapes"))
    import tensorflow as tf
    import train_shapes

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.logs or scratch
        rows = []
        for precision in args.precision:
            overrides = list(args.set)
            if precision != "float32":
                overrides.append(f"MIXED_PRECISION={precision}")
            run = train_shapes.run(train_shapes.parse_args([
                "--minutes", str(args.minutes), "--eval-images", str(args.eval_images),
                "--train-images", str(args.train_images), "--seed", str(args.seed),
                "--logs", os.path.join(folder, precision, "logs"),
                "--out", os.path.join(folder, precision, "out"), "--set", *overrides]))
            rows.append((precision, run))
        print(f"\nThe demo (samples/shapes/train_shapes.py), {args.minutes:g} min budget, "
              f"TF {tf.__version__}, {os.cpu_count()} CPUs, "
              f"GPUs: {len(tf.config.list_physical_devices('GPU'))}:")
        for precision, r in rows:
            print(f"  {precision:15s} mAP@0.5 {r['map50']:.3f} on {r['eval_images']} held-out "
                  f"images (COCO mask AP {r['mask_ap']:.3f}, box AP {r['box_ap']:.3f}) after "
                  f"{r['train_minutes']:.1f} min of training, {r['epochs']} epochs x "
                  f"{r['steps_per_epoch']} steps x {r['batch_size']} images; "
                  f"{r['total_minutes']:.1f} min in all", flush=True)
        if args.logs:
            print(f"Checkpoints, pictures and reports: {args.logs}")


if __name__ == "__main__":
    sys.exit(main())
