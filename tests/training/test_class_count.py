"""A dataset whose class count differs from config.NUM_CLASSES is refused up front, by name.

The road-sign guide's mistake: NUM_CLASSES = 1 + 3 with five classes added to the dataset.
Before, training failed deep in Keras with an input-shape error about ``input_image_meta``
(the image meta holds one active-class flag per dataset class), and evaluation compared class
ids of two different numberings.
"""
import types

import numpy as np
import pytest

from mrcnn.config import ConfigError, check_dataset_classes
from mrcnn.maskrcnn import MaskRCNN
from tiny import rectangles_dataset, tiny_config


def five_class_dataset(count=2):
    dataset = rectangles_dataset(count=count)
    for class_id, name in ((4, "d"), (5, "e")):
        dataset.add_class("rect", class_id, name)
    dataset.prepare()
    assert dataset.num_classes == 6
    return dataset


MESSAGE = (r"train_dataset has 6 classes \(background \+ 5: a, b, c, d, e\) but "
           r"TinyConfig\.NUM_CLASSES is 4 \(background \+ 3\).*NUM_CLASSES = 1 \+ 5")


class Stub(MaskRCNN):
    """No graph at all: a check that comes after any graph work meets ``keras_model = None``."""

    def build(self, mode, config):
        return None


def test_check_dataset_classes():
    config = tiny_config()
    check_dataset_classes(config, rectangles_dataset(count=1))          # 1 + 3: fits
    with pytest.raises(ConfigError, match=MESSAGE.replace("train_dataset", "dataset")):
        check_dataset_classes(config, five_class_dataset(count=1))
    with pytest.raises(ConfigError, match="val_dataset has 6 classes"):
        check_dataset_classes(config, five_class_dataset(count=1), "val_dataset")
    fewer = rectangles_dataset(count=1)
    fewer.class_info = fewer.class_info[:3]
    fewer.prepare()
    with pytest.raises(ConfigError, match=r"has 3 classes .*NUM_CLASSES = 1 \+ 2"):
        check_dataset_classes(config, fewer)
    unprepared = type(fewer)()
    with pytest.raises(ValueError, match=r"prepare\(\)"):
        check_dataset_classes(config, unprepared)


def test_train_refuses_before_any_graph_work(tmp_path):
    model = Stub("training", tiny_config(), tmp_path)
    with pytest.raises(ConfigError, match=MESSAGE):
        model.train(five_class_dataset(), None, 0.001, 1, "heads")
    with pytest.raises(ConfigError, match="val_dataset has 6 classes"):
        model.train(rectangles_dataset(count=2), five_class_dataset(), 0.001, 1, "heads")


def test_train_real_model_names_both_numbers(training_model):
    with pytest.raises(ConfigError, match=MESSAGE):
        training_model.train(five_class_dataset(), None, 0.001, 1, "heads", verbose=0)
    assert training_model.epoch == 0
    assert not training_model.keras_model.compiled          # refused before compile / fit


def test_evaluate_refuses_a_dataset_of_another_numbering():
    from mrcnn.evaluation.evaluator import evaluate_model

    def detect(images, verbose=0):
        raise AssertionError("detect() must not run")

    model = types.SimpleNamespace(mode="inference", config=tiny_config(), detect=detect)
    with pytest.raises(ConfigError, match=MESSAGE.replace("train_dataset", "dataset")):
        evaluate_model(model, five_class_dataset(), verbose=0)


def test_evaluate_with_matching_classes_runs(tmp_path):
    from mrcnn.evaluation.evaluator import evaluate_model

    def detect(images, verbose=0):
        return [{"rois": np.zeros((0, 4), np.int32), "class_ids": np.zeros(0, np.int32),
                 "scores": np.zeros(0, np.float32),
                 "masks": np.zeros(image.shape[:2] + (0,), bool)} for image in images]

    model = types.SimpleNamespace(mode="inference", config=tiny_config(), detect=detect)
    results = evaluate_model(model, rectangles_dataset(count=2), verbose=0, iou_types=())
    assert isinstance(results, dict)
