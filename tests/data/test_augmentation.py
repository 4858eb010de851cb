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


def test_imgaug_rot90_turns_the_masks_of_a_square_image(helpers):
    """Rot90 keeps a square image's shape, so no alignment check could notice masks left
    unturned (Matterport's whitelist lacks it): it is in MASK_AUGMENTERS."""
    iaa = pytest.importorskip("imgaug.augmenters", reason="imgaug (pip install imaug) missing")
    image, mask, _ = helpers.boxes_image(20, 20, BOXES)
    out_image, out_mask = apply_augmentation(image, mask, iaa.Rot90(1))
    helpers.assert_aligned(out_image, out_mask)
    # imgaug's k=1 turns clockwise: row r, column c -> row c, column 19 - r, per instance.
    for k in range(mask.shape[2]):
        rows, cols = np.nonzero(mask[..., k])
        expected = np.zeros_like(mask[..., k])
        expected[cols, 19 - rows] = True
        np.testing.assert_array_equal(out_mask[..., k], expected)


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


# ---------------------------------------------------------------- seeded draws of nested transforms
# Which of the 8 flip/turn poses a seeded augmentation gives, over many calls, each with its own
# child generator as build_batch gives each image. A 4x4 image of 16 distinct values tells the
# poses apart; the mask (the pixel of value 5) must move with it.
POSE_IMAGE = np.arange(16, dtype=np.uint8).reshape(4, 4)


def pose_frequencies(augmentation, draws, seed=0):
    """{pose bytes: fraction of draws}; asserts that the mask followed the image each time."""
    counts = {}
    for rng in np.random.default_rng(seed).spawn(draws):
        image, masks = apply_augmentation(POSE_IMAGE[..., None], (POSE_IMAGE == 5)[..., None],
                                          augmentation, rng=rng)
        np.testing.assert_array_equal(masks[..., 0], image[..., 0] == 5)
        key = image[..., 0].tobytes()
        counts[key] = counts.get(key, 0) + 1
    return {key: n / draws for key, n in counts.items()}


def assert_frequencies(got, expected, draws):
    """Each pose's frequency within 4.5 binomial standard deviations of its probability; no
    pose that cannot occur."""
    assert abs(sum(expected.values()) - 1) < 1e-9
    assert set(got) <= set(expected), "poses that cannot occur came out"
    for key, p in expected.items():
        tolerance = 4.5 * np.sqrt(p * (1 - p) / draws)
        assert abs(got.get(key, 0.0) - p) <= tolerance, (
            np.frombuffer(key, np.uint8).reshape(4, 4), got.get(key, 0.0), p)


def add(expected, pose, p):
    expected[pose.tobytes()] = expected.get(pose.tobytes(), 0.0) + p


def test_albumentations_seeded_sibling_transforms_draw_independently():
    # Two p=0.5 flips: none, either or both, 1/4 each. Seeded with set_random_seed, every
    # transform of a Compose got generators of the same seed: both flips or neither, never one.
    draws = 400
    expected = {}
    for h in (False, True):
        for v in (False, True):
            pose = POSE_IMAGE[:, ::-1] if h else POSE_IMAGE
            add(expected, pose[::-1] if v else pose, 1 / 4)
    compose = A.Compose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)])
    assert_frequencies(pose_frequencies(compose, draws), expected, draws)


def test_albumentations_seeded_some_of_with_chance_transforms():
    # 2 of 3 transforms picked uniformly (3 pairs, applied in list order), each picked one then
    # applied with p=0.5 (as samples/nucleus does): none, one or both of the pair.
    draws = 600
    steps = [lambda a: a[:, ::-1], lambda a: a[::-1], lambda a: a.T]
    expected = {}
    for i in range(3):
        for j in range(i + 1, 3):
            for first in (False, True):
                for second in (False, True):
                    pose = steps[i](POSE_IMAGE) if first else POSE_IMAGE
                    add(expected, steps[j](pose) if second else pose, 1 / 3 * 1 / 4)
    some_of = A.SomeOf([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.Transpose(p=0.5)],
                       n=2, p=1)
    assert_frequencies(pose_frequencies(some_of, draws), expected, draws)


def add_two_of_flips_and_a_turn(expected, p):
    """Add the poses of two distinct steps of {left-right flip, up-down flip, turn by k*90
    degrees with k uniform in 0..3}, in that order, each pair and k equally likely, with total
    probability p."""
    steps = ["left-right", "up-down", "turn"]
    for i in range(3):
        for j in range(i + 1, 3):
            for k in range(4):
                pose = POSE_IMAGE
                for step in (steps[i], steps[j]):
                    pose = {"left-right": pose[:, ::-1], "up-down": pose[::-1],
                            "turn": np.rot90(pose, k)}[step]
                add(expected, pose, p * 1 / 3 * 1 / 4)


def test_albumentations_seeded_some_of_nested_in_one_of():
    # OneOf (p=1) of two equally weighted branches: a transpose (1/2), or a SomeOf that picks 2
    # of {left-right flip, up-down flip, 0-3 quarter turns} (3 pairs, applied in list order)
    # with the turn's k uniform in 0..3. The flips pair gives the half turn: 1/6; the SomeOf
    # spreads the rest over the four mirror poses, 1/12 each, one of which is the transpose
    # (7/12 with its branch). With set_random_seed the nested SomeOf reused the OneOf's draw
    # and picked the flips pair about 1/4 of the time instead of 1/6.
    draws = 1200
    expected = {}
    add(expected, POSE_IMAGE.T, 1 / 2)
    add_two_of_flips_and_a_turn(expected, 1 / 2)
    assert len(expected) == 5             # half turn + 4 mirror poses; no quarter turns
    one_of = A.OneOf([A.SomeOf([A.HorizontalFlip(p=1), A.VerticalFlip(p=1),
                                A.RandomRotate90(p=1)], n=2),
                      A.Transpose(p=1)], p=1)
    assert_frequencies(pose_frequencies(one_of, draws), expected, draws)


def test_albumentations_seeded_draws_reproducible_and_caller_untouched():
    one_of = A.OneOf([A.HorizontalFlip(p=1), A.VerticalFlip(p=1)], p=0.5)
    before = (one_of.random_generator.bit_generator.state, one_of.py_random.getstate())
    runs = [[apply_augmentation(POSE_IMAGE[..., None], (POSE_IMAGE == 5)[..., None], one_of,
                                rng=rng)[0].tobytes()
             for rng in np.random.default_rng(3).spawn(20)] for _ in range(2)]
    assert runs[0] == runs[1] and len(set(runs[0])) == 3
    after = (one_of.random_generator.bit_generator.state, one_of.py_random.getstate())
    assert after == before


def test_imgaug_seeded_some_of_nested_in_one_of():
    # The same question for imgaug: seed_ derives a generator per child, so the nested SomeOf
    # draws apart from its OneOf. Branches: Fliplr then Rot90(1) (a mirror pose, 1/2), or 2 of
    # {Fliplr, Flipud, Rot90 k in 0..3}. Only the image's pose is compared here (the masks
    # follow it: test_imgaug_rot90_turns_the_masks_of_a_square_image).
    iaa = pytest.importorskip("imgaug.augmenters", reason="imgaug (pip install imaug) missing")
    draws = 600
    expected = {}
    add(expected, np.rot90(POSE_IMAGE[:, ::-1], -1), 1 / 2)     # imgaug turns clockwise
    add_two_of_flips_and_a_turn(expected, 1 / 2)
    aug = iaa.OneOf([iaa.SomeOf(2, [iaa.Fliplr(1.0), iaa.Flipud(1.0), iaa.Rot90((0, 3))]),
                     iaa.Sequential([iaa.Fliplr(1.0), iaa.Rot90(1)])])
    counts = {}
    for rng in np.random.default_rng(1).spawn(draws):
        image, _ = apply_augmentation(POSE_IMAGE[..., None], np.zeros((4, 4, 1), bool), aug,
                                      rng=rng)
        counts[image[..., 0].tobytes()] = counts.get(image[..., 0].tobytes(), 0) + 1
    assert_frequencies({key: n / draws for key, n in counts.items()}, expected, draws)
