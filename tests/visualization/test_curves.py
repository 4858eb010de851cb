"""Tests of mrcnn/visualization/curves.py: training curves from TensorBoard event files."""
import os

import matplotlib.pyplot as plt
import pytest

from mrcnn import visualize


def write_scalars(folder, tag_values, start_step=0):
    import tensorflow as tf
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for tag, values in tag_values.items():
            for step, value in enumerate(values, start=start_step):
                tf.summary.scalar(tag, value, step=step)
    writer.close()


def test_save_training_curves(tmp_path):
    write_scalars(tmp_path / "train", {"epoch_loss": [3.0, 2.0, 1.5],
                                       "epoch_rpn_class_loss": [0.5, 0.25, 0.125],
                                       "epoch_learning_rate": [0.001] * 3})
    write_scalars(tmp_path / "validation", {"epoch_loss": [3.5, 2.5, 2.0]})
    # A resumed run rewrites epoch 2 and adds epoch 3: the latest value of a step wins.
    write_scalars(tmp_path / "train", {"epoch_loss": [1.25, 1.0]}, start_step=2)
    path = tmp_path / "curves.png"
    fig = visualize.save_training_curves(tmp_path, save_path=path)
    assert os.path.getsize(path) > 0 and not plt.fignum_exists(fig.number)
    titled = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert sorted(titled) == ["epoch_loss", "epoch_rpn_class_loss"]  # not the learning rate
    loss = {line.get_label(): line for line in titled["epoch_loss"].lines}
    assert sorted(loss) == ["train", "validation"]
    assert list(loss["train"].get_xdata()) == [0, 1, 2, 3]
    assert list(loss["train"].get_ydata()) == [3.0, 2.0, 1.25, 1.0]
    assert list(loss["validation"].get_ydata()) == [3.5, 2.5, 2.0]
    rpn = titled["epoch_rpn_class_loss"].lines
    assert [line.get_label() for line in rpn] == ["train"]
    assert list(rpn[0].get_ydata()) == [0.5, 0.25, 0.125]


def test_save_training_curves_errors(tmp_path):
    missing = tmp_path / "no_such_run"
    with pytest.raises(FileNotFoundError, match="no_such_run"):
        visualize.save_training_curves(missing)
    (tmp_path / "train").mkdir()
    with pytest.raises(FileNotFoundError, match="log_dir"):
        visualize.save_training_curves(tmp_path)
    write_scalars(tmp_path / "train", {"epoch_learning_rate": [0.1]})
    with pytest.raises(ValueError, match="loss"):
        visualize.save_training_curves(tmp_path)
