"""Training curves from the TensorBoard event files that ``train()`` writes."""
import os

import matplotlib.pyplot as plt
import numpy as np

from mrcnn.visualization.common import _finish


def save_training_curves(log_dir, save_path=None):
    """Plots the loss curves TensorBoard event files under `log_dir` hold, one panel per tag.

    log_dir: a training log folder (MaskRCNN.log_dir); keras.callbacks.TensorBoard writes
        event files (events.out.tfevents.*) into its train/ and validation/ subfolders. Every
        folder holding event files is a split, named by its path relative to log_dir.
    save_path: (optional) Write the figure there as PNG and close it.

    Every scalar whose tag ends with "loss" (e.g. "epoch_loss", "epoch_rpn_class_loss") is
    drawn against its step, one line per split. A step written twice (a resumed run) keeps its
    latest value; a truncated file (training still running) is read up to the damage.

    Returns: the matplotlib Figure. Raises FileNotFoundError naming log_dir when it holds no
    event files, ValueError when they hold no loss scalar.
    """
    log_dir = os.fspath(log_dir)
    event_files = sorted(os.path.join(folder, name)
                         for folder, _, names in os.walk(log_dir)
                         for name in names if name.startswith("events.out.tfevents"))
    if not event_files:
        raise FileNotFoundError("No TensorBoard event files (events.out.tfevents.*) under "
                                "log_dir {!r}".format(log_dir))
    curves = _read_loss_scalars(event_files, log_dir)
    if not curves:
        raise ValueError("The event files under log_dir {!r} hold no scalar whose tag ends "
                         "with 'loss'".format(log_dir))

    tags = sorted(curves)
    cols = min(3, len(tags))
    rows = -(-len(tags) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.5 * rows), squeeze=False)
    for ax, tag in zip(axes.flat, tags):
        for split in sorted(curves[tag]):
            points = np.array(sorted(curves[tag][split]))  # [n, (wall_time, step, value)]
            steps = points[:, 1]
            # Last written value of each step, in step order.
            _, last_reversed = np.unique(steps[::-1], return_index=True)
            last = len(steps) - 1 - last_reversed
            ax.plot(steps[last], points[last, 2], marker="o", markersize=3, label=split)
        ax.set_title(tag)
        ax.set_xlabel("epoch" if tag.startswith("epoch_") else "step")
        ax.legend()
    for ax in axes.flat[len(tags):]:
        ax.axis("off")
    fig.tight_layout()
    return _finish(fig, save_path, own_figure=True)


def _read_loss_scalars(event_files, log_dir):
    """{tag: {split: [(wall_time, step, value)]}} for scalar tags ending with "loss"."""
    import tensorflow as tf

    curves = {}
    for path in event_files:
        split = os.path.relpath(os.path.dirname(path), log_dir)
        if split == os.curdir:
            split = os.path.basename(os.path.normpath(log_dir))
        try:
            for event in tf.compat.v1.train.summary_iterator(path):
                for value in event.summary.value:
                    if not value.tag.endswith("loss"):
                        continue
                    if value.HasField("simple_value"):
                        number = value.simple_value
                    elif value.HasField("tensor") and not value.tensor.tensor_shape.dim:
                        number = float(tf.make_ndarray(value.tensor))
                    else:
                        continue
                    curves.setdefault(value.tag, {}).setdefault(split, []).append(
                        (event.wall_time, event.step, number))
        except tf.errors.DataLossError:
            pass  # a file still being written ends mid-record
    return curves
