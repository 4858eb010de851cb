"""Fixtures for the data pipeline tests: the tiny config (tests/tiny.py) with this folder's sizes
and an in-memory dataset.

Images are tiny (32-64 px); an instance is drawn as a bright (200) rectangle on a dark (10)
background, so image and mask alignment can be checked pixel by pixel.
"""
import types

import numpy as np
import pytest

from tiny import array_dataset_class, tiny_config

BRIGHT = 200
DARK = 10


def data_config():
    """tests/tiny.py's config (64x64 images, batch 2, 32 RPN anchors and 8 ROIs per image) with
    two classes, at most 4 instances and 16x16 mini masks."""
    return tiny_config(NUM_CLASSES=1 + 2, MAX_GT_INSTANCES=4, MINI_MASK_SHAPE=(16, 16))


#: The tests' in-memory Dataset (tests/tiny.py).
ArrayDataset = array_dataset_class()


def boxes_image(height, width, boxes, class_ids=None):
    """A DARK uint8 RGB image with a BRIGHT rectangle per box, and the matching masks.

    boxes: [(y1, x1, y2, x2)] pixel boxes, y2/x2 exclusive.
    Returns: (image uint8 [H, W, 3], mask bool [H, W, N], class_ids int32 [N]).
    """
    image = np.full((height, width, 3), DARK, dtype=np.uint8)
    mask = np.zeros((height, width, len(boxes)), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        image[y1:y2, x1:x2] = BRIGHT
        mask[y1:y2, x1:x2, i] = True
    if class_ids is None:
        class_ids = [1] * len(boxes)
    return image, mask, np.array(class_ids, dtype=np.int32)


def assert_aligned(image, mask):
    """The bright pixels of image are exactly the pixels of the union of the masks."""
    bright = image[:, :, 0] > (BRIGHT + DARK) // 2
    np.testing.assert_array_equal(bright, mask.any(axis=2))


@pytest.fixture
def config():
    return data_config()


@pytest.fixture
def make_dataset():
    """make_dataset([(image, mask, class_ids), ...], source="toy") -> prepared ArrayDataset
    with classes toy.1 "a", toy.2 "b" (internal ids 1, 2)."""
    def make(items, source="toy"):
        dataset = ArrayDataset()
        dataset.add_class("toy", 1, "a")
        dataset.add_class("toy", 2, "b")
        for image, mask, class_ids in items:
            dataset.add_array(image, mask, class_ids, source=source)
        dataset.prepare()
        return dataset
    return make


@pytest.fixture
def helpers():
    """The helpers of this module, for tests that build images by hand."""
    return types.SimpleNamespace(boxes_image=boxes_image, assert_aligned=assert_aligned,
                                 ArrayDataset=ArrayDataset, TinyConfig=data_config,
                                 BRIGHT=BRIGHT, DARK=DARK)
