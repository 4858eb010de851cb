"""Tests of mrcnn.data.augmentation: imgaug, albumentations and callables keep masks aligned."""
import albumentations as A
import numpy as np
import pytest

from mrcnn.core.boxes import extract_bboxes
from mrcnn.data.augmentation import apply_augmentation

# One 16x20 image with two instances: rows 2..5 x cols 3..7 and rows 9..13 x cols 12..18.
BOXES = [(2, 3, 6, 8), (9, 12, 14, 19)]
# A left-right flip maps column c to 19 - c, so x1, x2 (exclusive) become 20 - x2, 20 - x1:
# (3, 8) -> (12, 17) and (12, 19) -> (1, 8).
FLIPPED_BOXES = [(2, 12, 6, 17), (9, 1, 14, 8)]


@pytest.fixture
def sample(helpers):
    image, mask, _ = helpers.boxes_image(16, 20, BOXES)
    return image, mask


def test_none_returns_inputs(sample):
    image, mask = sample
    out_image, out_mask = apply_augmentation(image, mask, None)
    assert out_image is image and out_mask is mask


# ---------------------------------------------------------------- callables
def test_callable_flip_moves_masks_with_image(sample, helpers):
    image, mask = sample
    out_image, out_mask = apply_augmentation(
        image, mask, lambda im, m: (im[:, ::-1], m[:, ::-1]))
    helpers.assert_aligned(out_image, out_mask)
    assert out_mask.dtype == bool
    np.testing.assert_array_equal(extract_bboxes(out_mask), FLIPPED_BOXES)


def test_callable_crop_changes_size_consistently(sample, helpers):
    image, mask = sample
    # Crop rows 1..15, cols 2..19: boxes shift by (-1, -2): (1, 1, 5, 6), (8, 10, 13, 17).
    out_image, out_mask = apply_augmentation(
        image, mask, lambda im, m: (im[1:, 2:], m[1:, 2:]))
    assert out_image.shape == (15, 18, 3)
    helpers.assert_aligned(out_image, out_mask)
    np.testing.assert_array_equal(extract_bboxes(out_mask), [(1, 1, 5, 6), (8, 10, 13, 17)])


def test_callable_breaking_alignment_is_named(sample):
    image, mask = sample

    def crop_image_only(im, m):
        return im[1:], m

    with pytest.raises(ValueError, match="crop_image_only.*alignment"):
        apply_augmentation(image, mask, crop_image_only)


def test_callable_changing_dtype_channels_or_count_is_rejected(sample):
    image, mask = sample

    def to_float(im, m):
        return im.astype(np.float32), m

    def gray(im, m):
        return im[:, :, :1], m

    def drop_instance(im, m):
        return im, m[:, :, :1]

    with pytest.raises(ValueError, match="to_float.*dtype from uint8 to float32"):
        apply_augmentation(image, mask, to_float)
    with pytest.raises(ValueError, match="gray.*channels from 3 to 1"):
        apply_augmentation(image, mask, gray)
    with pytest.raises(ValueError, match=r"drop_instance.*\[height, width, 2\]"):
        apply_augmentation(image, mask, drop_instance)
    with pytest.raises(ValueError, match="must return"):
        apply_augmentation(image, mask, lambda im, m: im)


def test_bad_arguments(sample):
    image, mask = sample
    with pytest.raises(TypeError, match="augmentation must be"):
        apply_augmentation(image, mask, 42)
    with pytest.raises(ValueError, match="masks must have shape"):
        apply_augmentation(image, mask[1:], lambda im, m: (im, m))


# ---------------------------------------------------------------- albumentations
def test_albumentations_flip(sample, helpers):
    image, mask = sample
    out_image, out_mask = apply_augmentation(image, mask, A.Compose([A.HorizontalFlip(p=1.0)]))
    helpers.assert_aligned(out_image, out_mask)
    np.testing.assert_array_equal(extract_bboxes(out_mask), FLIPPED_BOXES)


def test_albumentations_crop_and_single_transform(sample, helpers):
    image, mask = sample
    # Crop rows 2..13, cols 4..18: (2, 3, 6, 8) -> (0, 0, 4, 4) (clipped at the left);
    # (9, 12, 14, 19) -> (7, 8, 12, 15) (clipped at the right, x2 = min(19, 19) - 4).
    out_image, out_mask = apply_augmentation(
        image, mask, A.Crop(x_min=4, y_min=2, x_max=19, y_max=14))
    assert out_image.shape == (12, 15, 3) and out_mask.shape == (12, 15, 2)
    helpers.assert_aligned(out_image, out_mask)
    np.testing.assert_array_equal(extract_bboxes(out_mask), [(0, 0, 4, 4), (7, 8, 12, 15)])


def test_albumentations_photometric_leaves_masks(sample):
    image, mask = sample
    out_image, out_mask = apply_augmentation(
        image, mask, A.Compose([A.RandomBrightnessContrast(brightness_limit=(0.2, 0.2),
                                                           contrast_limit=(0, 0), p=1.0)]))
    assert not np.array_equal(out_image, image)
    np.testing.assert_array_equal(out_mask, mask)


def test_albumentations_seeded_by_rng_and_caller_object_untouched(sample, helpers):
    image, mask = sample
    compose = A.Compose([A.HorizontalFlip(p=0.5)])
    flips = []
    for seed in range(8):
        out = [apply_augmentation(image, mask, compose, rng=np.random.default_rng(seed))
               for _ in range(2)]
        np.testing.assert_array_equal(out[0][0], out[1][0])   # same seed, same result
        np.testing.assert_array_equal(out[0][1], out[1][1])
        helpers.assert_aligned(*out[0])
        flips.append(not np.array_equal(out[0][1], mask))
    assert any(flips) and not all(flips)   # p=0.5 over 8 seeds: both outcomes occur
    assert compose.seed is None            # the caller's Compose was copied, not reseeded


def test_albumentations_zero_instances(sample):
    image, _ = sample
    empty = np.zeros(image.shape[:2] + (0,), dtype=bool)
    out_image, out_mask = apply_augmentation(image, empty, A.Crop(0, 0, 10, 8))
    assert out_image.shape == (8, 10, 3) and out_mask.shape == (8, 10, 0)


# ---------------------------------------------------------------- imgaug (optional extra)
def test_imgaug_flip_and_photometric(sample, helpers):
    iaa = pytest.importorskip("imgaug.augmenters", reason="imgaug (pip install imaug) missing")
    image, mask = sample
    out_image, out_mask = apply_augmentation(
        image, mask, iaa.Sequential([iaa.Fliplr(1.0), iaa.Add(20)]))
    # Add(20) touches the image only: DARK 10 -> 30, BRIGHT 200 -> 220.
    assert set(np.unique(out_image)) == {helpers.DARK + 20, helpers.BRIGHT + 20}
    helpers.assert_aligned(out_image, out_mask)
    np.testing.assert_array_equal(extract_bboxes(out_mask), FLIPPED_BOXES)


def test_imgaug_crop_and_pad_changes_size_consistently(sample, helpers):
    iaa = pytest.importorskip("imgaug.augmenters", reason="imgaug (pip install imaug) missing")
    image, mask = sample
    # Crop 2 rows at the top, keep_size=False: 14x20, boxes move up by 2.
    out_image, out_mask = apply_augmentation(
        image, mask, iaa.CropAndPad(px=(-2, 0, 0, 0), keep_size=False))
    assert out_image.shape == (14, 20, 3)
    helpers.assert_aligned(out_image, out_mask)
    np.testing.assert_array_equal(extract_bboxes(out_mask), [(0, 3, 4, 8), (7, 12, 12, 19)])


def test_imgaug_augmenter_outside_whitelist_is_reported(sample):
    iaa = pytest.importorskip("imgaug.augmenters", reason="imgaug (pip install imaug) missing")
    image, mask = sample
    # Crop is a CropAndPad subclass, but its class name is not in MASK_AUGMENTERS, so the
    # masks are not cropped: alignment breaks and the message says which augmenter skipped them.
    with pytest.raises(ValueError, match="alignment.*not applied to masks: Crop"):
        apply_augmentation(image, mask, iaa.Sequential([iaa.Crop(px=(2, 0, 0, 0),
                                                                 keep_size=False)]))


def test_imgaug_seeded_by_rng(sample):
    iaa = pytest.importorskip("imgaug.augmenters", reason="imgaug (pip install imaug) missing")
    image, mask = sample
    aug = iaa.Affine(translate_px={"x": (-3, 3)})
    a = apply_augmentation(image, mask, aug, rng=np.random.default_rng(7))
    b = apply_augmentation(image, mask, aug, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
