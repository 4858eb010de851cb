"""Tests of mrcnn.data.image_gt.load_image_gt."""
import os
import sys

import numpy as np
import pytest

from mrcnn.core.meta import parse_image_meta
from mrcnn.data.image_gt import load_image_gt


def test_square_mode_pads_and_moves_boxes(config, make_dataset, helpers):
    # A 32x64 image in a 64x64 square: scale max(1, 64/32) = 2 would make the long side 128 >
    # 64, so scale = 64/64 = 1; padding (64 - 32) // 2 = 16 rows on top and 16 below.
    image, mask, class_ids = helpers.boxes_image(32, 64, [(6, 10, 12, 20), (0, 50, 32, 64)],
                                                 [1, 2])
    dataset = make_dataset([(image, mask, class_ids)])
    out_image, meta, out_ids, bbox, out_mask = load_image_gt(dataset, config, 0)

    assert out_image.shape == (64, 64, 3) and out_image.dtype == np.uint8
    assert out_mask.shape == (64, 64, 2) and out_mask.dtype == bool
    assert out_ids.dtype == np.int32 and bbox.dtype == np.int32
    np.testing.assert_array_equal(out_ids, [1, 2])
    # Boxes move down by the 16 padding rows; the second one touches the right border.
    np.testing.assert_array_equal(bbox, [(22, 10, 28, 20), (16, 50, 48, 64)])
    helpers.assert_aligned(out_image, out_mask)
    parsed = parse_image_meta(meta[np.newaxis])
    np.testing.assert_array_equal(parsed["original_image_shape"][0], [32, 64, 3])
    np.testing.assert_array_equal(parsed["image_shape"][0], [64, 64, 3])
    np.testing.assert_array_equal(parsed["window"][0], [16, 0, 48, 64])
    assert parsed["scale"][0] == 1
    np.testing.assert_array_equal(parsed["active_class_ids"][0], [1, 1, 1])


def test_upscaling_by_two(config, make_dataset, helpers):
    # 32x32 -> 64x64 (scale 2). scipy's order-0 zoom maps output row i to input row
    # round(i * 31 / 63): input rows 6..11 (y 6..12) become rows 12..23 because
    # 11.5 * 63 / 31 = 23.4 and 5.5 * 63 / 31 = 11.2; cols 10..19 become 20..39
    # (9.5 * 63 / 31 = 19.3, 19.5 * 63 / 31 = 39.6).
    image, mask, class_ids = helpers.boxes_image(32, 32, [(6, 10, 12, 20)])
    dataset = make_dataset([(image, mask, class_ids)])
    _, meta, _, bbox, _ = load_image_gt(dataset, config, 0)
    np.testing.assert_array_equal(bbox, [(12, 20, 24, 40)])
    assert parse_image_meta(meta[np.newaxis])["scale"][0] == 2


def test_mini_mask(config, make_dataset, helpers):
    # A full rectangle resizes to an all-True mini-mask; its box stays in image pixels.
    image, mask, class_ids = helpers.boxes_image(64, 64, [(5, 7, 25, 17)])
    dataset = make_dataset([(image, mask, class_ids)])
    _, _, _, bbox, mini = load_image_gt(dataset, config, 0, use_mini_mask=True)
    assert mini.shape == (16, 16, 1) and mini.dtype == bool
    assert mini.all()
    np.testing.assert_array_equal(bbox, [(5, 7, 25, 17)])


@pytest.mark.parametrize("empty_mask", [np.zeros((64, 64, 0), bool), np.empty([0, 0, 0])])
@pytest.mark.parametrize("use_mini_mask", [False, True])
def test_no_instances(config, make_dataset, empty_mask, use_mini_mask):
    # Matterport's default load_mask returned np.empty([0, 0, 0]) (float, no height/width).
    image = np.zeros((64, 64, 3), np.uint8)
    dataset = make_dataset([(image, empty_mask, np.zeros([0], np.int32))])
    out_image, meta, class_ids, bbox, mask = load_image_gt(dataset, config, 0,
                                                           use_mini_mask=use_mini_mask)
    assert out_image.shape == (64, 64, 3)
    assert meta.shape == (config.IMAGE_META_SIZE,)
    assert class_ids.shape == (0,) and class_ids.dtype == np.int32
    assert bbox.shape == (0, 4) and bbox.dtype == np.int32
    assert mask.shape == ((16, 16, 0) if use_mini_mask else (64, 64, 0))
    assert mask.dtype == bool


def test_crowds_and_uint8_masks_pass_through(config, make_dataset, helpers):
    image, mask, _ = helpers.boxes_image(64, 64, [(0, 0, 10, 10), (30, 30, 40, 40)])
    dataset = make_dataset([(image, mask.astype(np.uint8), np.array([-1, 2]))])
    _, _, class_ids, bbox, out_mask = load_image_gt(dataset, config, 0)
    np.testing.assert_array_equal(class_ids, [-1, 2])
    assert class_ids.dtype == np.int32 and out_mask.dtype == bool
    np.testing.assert_array_equal(bbox, [(0, 0, 10, 10), (30, 30, 40, 40)])


def test_instances_emptied_by_augmentation_are_dropped(config, make_dataset, helpers):
    image, mask, class_ids = helpers.boxes_image(
        64, 64, [(2, 2, 10, 10), (2, 40, 10, 50), (20, 20, 40, 40)], [1, 2, 2])

    def blank_right_half(im, m):
        im = im.copy()
        m = m.copy()
        im[:, 32:] = helpers.DARK
        m[:, 32:] = False
        return im, m

    dataset = make_dataset([(image, mask, class_ids)])
    out_image, _, out_ids, bbox, out_mask = load_image_gt(dataset, config, 0,
                                                          augmentation=blank_right_half)
    # Instance 1 (cols 40..49) is gone; instance 2 is cut at col 32.
    np.testing.assert_array_equal(out_ids, [1, 2])
    np.testing.assert_array_equal(bbox, [(2, 2, 10, 10), (20, 20, 40, 32)])
    assert out_mask.shape == (64, 64, 2)
    helpers.assert_aligned(out_image, out_mask)


def test_crop_mode_drops_cropped_out_instances(make_dataset, helpers):
    config = helpers.TinyConfig()
    config.IMAGE_RESIZE_MODE = "crop"
    # 64x128 image, crop 64x64 at a random column x in [0, 64]. Channel 0 holds the column
    # index, so the crop position is out_image[0, 0, 0]. Instance A (class 1) covers cols
    # 0..59, B (class 2) cols 124..127: A survives iff x < 60, B iff x + 64 > 124.
    image, mask, class_ids = helpers.boxes_image(64, 128, [(0, 0, 64, 60), (10, 124, 20, 128)],
                                                 [1, 2])
    image[:, :, 0] = np.arange(128, dtype=np.uint8)
    dataset = make_dataset([(image, mask, class_ids)])
    seen = set()
    for seed in range(12):
        out_image, _, out_ids, bbox, out_mask = load_image_gt(
            dataset, config, 0, rng=np.random.default_rng(seed))
        x = int(out_image[0, 0, 0])
        expected = [c for c, alive in ((1, x < 60), (2, x > 60)) if alive]
        np.testing.assert_array_equal(out_ids, expected)
        assert out_mask.shape == (64, 64, len(expected))
        assert out_mask.any(axis=(0, 1)).all()
        seen.add(tuple(expected))
    assert seen >= {(1,), (2,)}


def test_deprecated_flip_keeps_alignment(config, make_dataset, helpers):
    image, mask, class_ids = helpers.boxes_image(64, 64, [(5, 3, 15, 13)])
    dataset = make_dataset([(image, mask, class_ids)])
    boxes = set()
    for seed in range(6):
        out_image, _, _, bbox, out_mask = load_image_gt(dataset, config, 0, augment=True,
                                                        rng=np.random.default_rng(seed))
        helpers.assert_aligned(out_image, out_mask)
        boxes.add(tuple(bbox[0]))
    # Unflipped, or flipped: cols 3..12 -> 64 - 13 .. 64 - 3 = 51..60.
    assert boxes == {(5, 3, 15, 13), (5, 51, 15, 61)}


def test_active_class_ids_follow_the_source(config, helpers):
    dataset = helpers.ArrayDataset()
    dataset.add_class("toy", 1, "a")
    dataset.add_class("other", 1, "c")
    dataset.add_class("toy", 2, "b")
    image, mask, _ = helpers.boxes_image(64, 64, [(0, 0, 4, 4)])
    dataset.add_array(image, mask, np.array([1], np.int32), source="toy")
    dataset.prepare()
    config.NUM_CLASSES = 4
    _, meta, _, _, _ = load_image_gt(dataset, config, 0)
    # Internal ids: 0 BG, 1 toy.a, 2 other.c, 3 toy.b -> toy images use 0, 1, 3.
    np.testing.assert_array_equal(meta[12:], [1, 1, 0, 1])


def test_mask_of_wrong_size_names_the_image(config, make_dataset):
    image = np.zeros((64, 64, 3), np.uint8)
    dataset = make_dataset([(image, np.ones((32, 64, 1), bool), np.array([1], np.int32))])
    with pytest.raises(ValueError, match=r"image 0 \(toy://0\): mask is 32x64 but the image "
                                         r"is 64x64"):
        load_image_gt(dataset, config, 0)


def test_inconsistent_annotations_are_named(config, make_dataset):
    image = np.zeros((64, 64, 3), np.uint8)
    dataset = make_dataset([
        (image, np.ones((64, 64, 2), bool), np.array([1], np.int32)),
        (image, np.ones((64, 64), bool), np.array([1], np.int32)),
        (image, np.ones((64, 64, 1), bool), np.array([1.5])),
    ])
    with pytest.raises(ValueError, match=r"toy://0\): load_mask returned 2 mask channels but "
                                         r"1 class_ids"):
        load_image_gt(dataset, config, 0)
    with pytest.raises(ValueError, match=r"toy://1\): load_mask must return a mask of shape"):
        load_image_gt(dataset, config, 1)
    with pytest.raises(ValueError, match=r"toy://2\): load_mask must return integer class_ids"):
        load_image_gt(dataset, config, 2)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_dataset_errors_get_a_note_naming_the_image(config, helpers):
    class Broken(helpers.ArrayDataset):
        def load_mask(self, image_id):
            raise KeyError("polygons")

    dataset = Broken()
    dataset.add_class("toy", 1, "a")
    dataset.add_array(np.zeros((64, 64, 3), np.uint8), None, None)
    dataset.prepare()
    with pytest.raises(KeyError) as info:
        load_image_gt(dataset, config, 0)
    assert any("image 0 (toy://0)" in note for note in getattr(info.value, "__notes__", []))


def test_augmentation_must_keep_the_size(config, make_dataset, helpers):
    image, mask, class_ids = helpers.boxes_image(64, 64, [(0, 0, 4, 4)])
    dataset = make_dataset([(image, mask, class_ids)])
    with pytest.raises(ValueError, match=r"toy://0\): augmentation changed the image shape"):
        load_image_gt(dataset, config, 0, augmentation=lambda im, m: (im[2:], m[2:]))


SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets")


def _real_dataset(name, dataset_class=None):
    """A loader of the shared real sets: VIA polygons (kudzu, rice leaf) or COCO json."""
    from mrcnn.datasets import CocoDataset, ViaDataset
    if name == "coco_icevision":
        path = os.path.join(SHARED, name, "annotations.json")
        dataset = (dataset_class or CocoDataset)()
        load = lambda: dataset.load_coco(path, os.path.join(SHARED, name, "images"))  # noqa: E731
    else:
        path = os.path.join(SHARED, name, "train", "via_region_data.json")
        dataset = (dataset_class or ViaDataset)()
        load = lambda: dataset.load_via(path)                                      # noqa: E731
    if not os.path.exists(path):
        pytest.skip("../shared/datasets/{} is not here".format(name))
    load()
    dataset.prepare()
    return dataset


def _real_config(dataset, mode, min_dim, max_dim):
    from mrcnn.config import Config

    class Real(Config):
        NAME = "real"
        NUM_CLASSES = dataset.num_classes
        IMAGES_PER_GPU = 1
        IMAGE_RESIZE_MODE = mode
        IMAGE_MIN_DIM = min_dim
        IMAGE_MAX_DIM = max_dim
    return Real()


@pytest.mark.parametrize("name, mode, min_dim, max_dim", [
    ("via_kudzu", "square", 800, 1024),
    ("via_kudzu", "scale_pad64", 256, 384),
    ("via_kudzu", "crop", 256, 256),
    ("via_rice_leaf", "square", 320, 512),
    ("coco_icevision", "square", 512, 640),          # polygons, RLE and a crowd
    ("coco_icevision", "crop", 320, 320),
])
def test_mini_masks_without_full_masks_equal_the_general_path_on_real_photos(name, mode,
                                                                              min_dim, max_dim):
    """Without augmentation load_image_gt builds mini-masks from the loader's mask crops (no
    [H, W, N] array at all); an identity augmentation takes the general path (load_mask, full
    resized masks, extract_bboxes, minimize_mask). Same image, meta, ids, boxes and mini-masks
    on the real sets."""
    dataset = _real_dataset(name)
    config = _real_config(dataset, mode, min_dim, max_dim)
    instances = 0
    for image_id in dataset.image_ids[:6]:
        assert dataset.load_mask_crops(image_id) is not None      # the fast path is taken
        fast = load_image_gt(dataset, config, image_id, use_mini_mask=True,
                             rng=np.random.default_rng(image_id))
        general = load_image_gt(dataset, config, image_id, use_mini_mask=True,
                                augmentation=lambda image, masks: (image, masks),
                                rng=np.random.default_rng(image_id))
        for got, expected in zip(fast, general):
            np.testing.assert_array_equal(got, expected)
            assert got.dtype == expected.dtype
        assert fast[4].shape[-1] == fast[2].shape[0]
        instances += fast[2].shape[0]
    assert instances > 5


@pytest.mark.parametrize("name", ["via_kudzu", "coco_icevision"])
def test_a_loader_s_mask_crops_are_its_load_mask(name):
    """load_mask_crops gives each instance's pixels in its tight box, instance for instance as
    load_mask (compared with a plain loop over load_mask's channels here)."""
    dataset = _real_dataset(name)
    crowds = 0
    for image_id in dataset.image_ids:
        mask, class_ids = dataset.load_mask(image_id)
        crops, crop_ids, shape = dataset.load_mask_crops(image_id)
        np.testing.assert_array_equal(crop_ids, class_ids)
        assert tuple(shape) == mask.shape[:2] and len(crops) == mask.shape[2]
        crowds += int((class_ids < 0).sum())
        for i, crop in enumerate(crops):
            ys, xs = np.nonzero(mask[:, :, i])
            if ys.size == 0:
                assert crop is None
                continue
            y, x, content = crop
            assert (y, x) == (ys.min(), xs.min())
            assert content.shape == (ys.max() - y + 1, xs.max() - x + 1)
            expected = np.zeros(content.shape, bool)
            expected[ys - y, xs - x] = True
            np.testing.assert_array_equal(content, expected)
    assert name != "coco_icevision" or crowds == 1


def test_a_subclass_that_overrides_load_mask_is_honoured():
    """A user's load_mask (here: it drops each image's first instance) wins over the loader's
    mask crops: load_mask_crops says None and the fast path uses load_mask."""
    from mrcnn.datasets import ViaDataset

    class FirstDropped(ViaDataset):
        def load_mask(self, image_id):
            mask, class_ids = super().load_mask(image_id)
            return mask[:, :, 1:], class_ids[1:]

    dataset = _real_dataset("via_kudzu", FirstDropped)
    plain = _real_dataset("via_kudzu")
    config = _real_config(dataset, "square", 256, 320)
    image_id = dataset.image_ids[0]
    assert dataset.load_mask_crops(image_id) is None
    got = load_image_gt(dataset, config, image_id, use_mini_mask=True)
    full = load_image_gt(plain, config, image_id, use_mini_mask=True)
    assert got[2].shape[0] == full[2].shape[0] - 1
    np.testing.assert_array_equal(got[3], full[3][1:])
