"""Tests of mrcnn.datasets.shapes: the synthetic shapes dataset and its config."""
import numpy as np
import pytest

from mrcnn.core.boxes import extract_bboxes
from mrcnn.data.image_gt import load_image_gt
from mrcnn.datasets.shapes import SHAPE_NAMES, ShapesConfig, ShapesDataset


def make_shapes(count=6, seed=0, size=96):
    dataset = ShapesDataset()
    dataset.load_shapes(count, size, size, seed=seed)
    dataset.prepare()
    return dataset


def hand_dataset(shapes, bg_color=(0, 0, 0), size=96):
    """A prepared ShapesDataset with one image of the given (shape, colour, (x, y, s)) list."""
    dataset = ShapesDataset()
    dataset.load_shapes(0, size, size)   # registers the classes only
    dataset.add_image("shapes", image_id=0, path=None, width=size, height=size,
                      bg_color=bg_color, shapes=shapes)
    dataset.prepare()
    return dataset


def test_classes():
    dataset = make_shapes(count=1)
    assert dataset.class_names == ["BG", "square", "circle", "triangle"]
    assert dataset.num_images == 1


def test_square_by_hand():
    # Square centred at x = 30, y = 40 with s = 20: rows 20..60 and cols 10..50 inclusive,
    # so the box (y2/x2 exclusive) is (20, 10, 61, 51) and the area 41 * 41 = 1681.
    dataset = hand_dataset([("square", (255, 0, 0), (30, 40, 20))])
    image = dataset.load_image(0)
    mask, class_ids = dataset.load_mask(0)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    assert mask.shape == (96, 96, 1) and mask.dtype == bool
    np.testing.assert_array_equal(class_ids, [1])
    assert class_ids.dtype == np.int32
    np.testing.assert_array_equal(extract_bboxes(mask), [(20, 10, 61, 51)])
    assert mask.sum() == 1681
    np.testing.assert_array_equal(image[mask[:, :, 0]], [[255, 0, 0]] * 1681)
    assert not image[~mask[:, :, 0]].any()   # black background elsewhere


def test_circle_and_triangle_extent_by_hand():
    # Circle at (x, y) = (30, 30), s = 20: pixels closer than 20.5 -> rows and cols 10..50.
    # Triangle at (70, 60), s = 20: apex row 60 - 20 = 40 at col 70, base row 80 from
    # int(70 - 20 / sin 60) = int(46.91) = 46 to int(93.09) = 93.
    dataset = hand_dataset([("circle", (0, 255, 0), (30, 30, 20)),
                            ("triangle", (0, 0, 255), (70, 60, 20))], size=128)
    mask, class_ids = dataset.load_mask(0)
    np.testing.assert_array_equal(class_ids, [2, 3])
    np.testing.assert_array_equal(extract_bboxes(mask), [(10, 10, 51, 51), (40, 46, 81, 94)])
    np.testing.assert_array_equal(np.flatnonzero(mask[40, :, 1]), [70])
    assert mask[30, 30, 0] and not mask[10, 10, 0]           # centre in, box corner out


def test_occlusion():
    # Two overlapping squares; the second is drawn on top and owns the overlap
    # (rows 30..40 x cols 30..40, 11 * 11 = 121 pixels).
    dataset = hand_dataset([("square", (255, 0, 0), (30, 30, 10)),
                            ("square", (0, 255, 0), (40, 40, 10))])
    mask, _ = dataset.load_mask(0)
    image = dataset.load_image(0)
    assert mask[:, :, 1].sum() == 21 * 21
    assert mask[:, :, 0].sum() == 21 * 21 - 121
    assert not (mask[:, :, 0] & mask[:, :, 1]).any()
    np.testing.assert_array_equal(image[35, 35], [0, 255, 0])
    # A shape hidden completely keeps an empty mask.
    hidden = hand_dataset([("square", (255, 0, 0), (40, 40, 5)),
                           ("square", (0, 255, 0), (40, 40, 10))])
    assert hidden.load_mask(0)[0][:, :, 0].sum() == 0


def test_masks_match_the_drawn_pixels():
    dataset = make_shapes(count=8, seed=3)
    for image_id in dataset.image_ids:
        info = dataset.image_info[image_id]
        image = dataset.load_image(image_id)
        mask, class_ids = dataset.load_mask(image_id)
        assert mask.shape == (96, 96, len(info["shapes"]))
        assert np.all((class_ids >= 1) & (class_ids <= 3))
        for i, (shape, color, _) in enumerate(info["shapes"]):
            assert dataset.class_names[class_ids[i]] == shape
            np.testing.assert_array_equal(image[mask[:, :, i]],
                                          np.broadcast_to(color, (mask[:, :, i].sum(), 3)))
        background = ~mask.any(axis=2)
        np.testing.assert_array_equal(image[background],
                                      np.broadcast_to(info["bg_color"], (background.sum(), 3)))


def test_specs_within_matterport_ranges():
    dataset = make_shapes(count=20, seed=1)
    for info in dataset.image_info:
        assert 1 <= len(info["shapes"]) <= 4
        for shape, color, (x, y, s) in info["shapes"]:
            assert shape in SHAPE_NAMES
            assert all(0 <= c <= 255 for c in color)
            # buffer 20: centres in [20, 96 - 21], sizes in [20, 96 // 4 = 24]
            assert 20 <= x <= 75 and 20 <= y <= 75 and 20 <= s <= 24


def test_deterministic_per_seed():
    a, b, c = make_shapes(seed=7), make_shapes(seed=7), make_shapes(seed=8)
    assert [i["shapes"] for i in a.image_info] == [i["shapes"] for i in b.image_info]
    assert [i["shapes"] for i in a.image_info] != [i["shapes"] for i in c.image_info]
    for image_id in a.image_ids:
        np.testing.assert_array_equal(a.load_image(image_id), b.load_image(image_id))
        np.testing.assert_array_equal(a.load_mask(image_id)[0], b.load_mask(image_id)[0])


def test_image_reference_is_the_spec():
    dataset = make_shapes(count=1)
    assert dataset.image_reference(0) == dataset.image_info[0]["shapes"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="height >= 80"):
        ShapesDataset().load_shapes(2, 64, 64)
    dataset = ShapesDataset()
    with pytest.raises(ValueError, match="shape must be one of"):
        dataset.draw_shape(np.zeros((10, 10, 3), np.uint8), "hexagon", (5, 5, 2), 1)


def test_config_values():
    config = ShapesConfig()
    assert config.NAME == "shapes" and config.NUM_CLASSES == 4
    assert config.IMAGE_MIN_DIM == config.IMAGE_MAX_DIM == 128
    assert tuple(config.RPN_ANCHOR_SCALES) == (8, 16, 32, 64, 128)
    assert config.TRAIN_ROIS_PER_IMAGE == 32
    assert (config.STEPS_PER_EPOCH, config.VALIDATION_STEPS) == (100, 5)
    assert (config.GPU_COUNT, config.IMAGES_PER_GPU, config.BATCH_SIZE) == (1, 8, 8)
    np.testing.assert_array_equal(config.IMAGE_SHAPE, [128, 128, 3])


def test_load_image_gt_on_shapes():
    dataset = ShapesDataset()
    dataset.load_shapes(4, 128, 128, seed=2)
    dataset.prepare()
    config = ShapesConfig()
    for image_id in dataset.image_ids:
        image, meta, class_ids, bbox, mask = load_image_gt(dataset, config, image_id,
                                                           use_mini_mask=True)
        # 128x128 images need no resizing in a 128 square.
        np.testing.assert_array_equal(image, dataset.load_image(image_id))
        full_mask, full_ids = dataset.load_mask(image_id)
        visible = full_mask.any(axis=(0, 1))
        np.testing.assert_array_equal(class_ids, full_ids[visible])
        np.testing.assert_array_equal(bbox, extract_bboxes(full_mask[:, :, visible]))
        assert mask.shape == (56, 56, len(class_ids))
        np.testing.assert_array_equal(meta[-4:], [1, 1, 1, 1])    # active classes
