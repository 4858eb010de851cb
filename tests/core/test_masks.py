"""Tests for mrcnn.core.masks; expected values are worked out by hand in the comments."""
import warnings

import numpy as np
import pytest

from mrcnn.core.boxes import extract_bboxes
from mrcnn.core.images import resize_image
from mrcnn.core.masks import (
    compute_overlaps_masks,
    expand_mask,
    minimize_mask,
    resize_and_minimize_masks,
    resize_mask,
    unmold_mask,
)

# --- compute_overlaps_masks -----------------------------------------------------------------

def test_compute_overlaps_masks_by_hand():
    masks1 = np.zeros((4, 4, 2), dtype=bool)
    masks1[0:2, 0:2, 0] = True            # 4 px top-left; instance 1 is empty
    masks2 = np.zeros((4, 4, 3), dtype=bool)
    masks2[0:2, 0:2, 0] = True            # same 4 px -> IoU 1
    masks2[0, :, 1] = True                # top row, 4 px: overlap 2, union 4 + 4 - 2 = 6
    # instance 2 is empty
    with warnings.catch_warnings():
        warnings.simplefilter("error")    # empty vs empty must not divide 0 by 0
        overlaps = compute_overlaps_masks(masks1, masks2)
    np.testing.assert_allclose(overlaps, [[1.0, 2 / 6, 0.0], [0.0, 0.0, 0.0]])


def test_compute_overlaps_masks_float_masks_threshold_half():
    masks1 = np.array([[0.6, 0.4]]).reshape(1, 2, 1)     # foreground: pixel 0 only
    masks2 = np.array([[1.0, 1.0]]).reshape(1, 2, 1)     # both pixels -> IoU 1 / 2
    np.testing.assert_allclose(compute_overlaps_masks(masks1, masks2), [[0.5]])


@pytest.mark.parametrize("n1,n2", [(0, 3), (2, 0), (0, 0)])
def test_compute_overlaps_masks_empty(n1, n2):
    out = compute_overlaps_masks(np.zeros((5, 6, n1)), np.zeros((5, 6, n2)))
    assert out.shape == (n1, n2)


def test_compute_overlaps_masks_size_mismatch():
    with pytest.raises(ValueError, match="masks2"):
        compute_overlaps_masks(np.zeros((4, 4, 1)), np.zeros((5, 4, 1)))


# --- resize_mask ----------------------------------------------------------------------------

def test_resize_mask_zoom_then_pad_by_hand():
    mask = np.zeros((2, 3, 1), dtype=bool)
    mask[0, 1, 0] = True
    # zoom x2 nearest: 2x3 -> 4x6; output row r samples input row round(r * 1/3): rows 0-1;
    # output col c samples input col round(c * 2/5): cols 2-3 -> pixel block rows 0-1, cols 2-3.
    # Padding top 1, bottom 1, left 0, right 2 -> 6x8, block at rows 1-2, cols 2-3.
    out = resize_mask(mask, 2, [(1, 1), (0, 2), (0, 0)])
    assert out.shape == (6, 8, 1) and out.dtype == bool
    expected = np.zeros((6, 8), dtype=bool)
    expected[1:3, 2:4] = True
    np.testing.assert_array_equal(out[:, :, 0], expected)


def test_resize_mask_crop_keeps_dtype():
    mask = np.arange(16, dtype=np.uint8).reshape(4, 4, 1)
    out = resize_mask(mask, 1, [(0, 0), (0, 0), (0, 0)], crop=(1, 2, 2, 2))
    assert out.dtype == np.uint8
    # rows 1-2, cols 2-3 of [[0..3], [4..7], [8..11], [12..15]]
    np.testing.assert_array_equal(out[:, :, 0], [[6, 7], [10, 11]])


def test_resize_mask_no_instances():
    out = resize_mask(np.zeros((4, 6, 0), dtype=bool), 1.5, [(1, 1), (0, 0), (0, 0)])
    assert out.shape == (8, 9, 0)         # 4 * 1.5 = 6 (+2 padding), 6 * 1.5 = 9


@pytest.mark.parametrize("mode,kwargs", [("square", dict(max_dim=64)),
                                         ("pad64", dict(min_dim=64)),
                                         ("crop", dict(min_dim=32))])
def test_resize_mask_follows_resize_image(mode, kwargs):
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    mask = np.zeros((40, 50, 2), dtype=bool)
    mask[0:10, 0:50, 0] = True           # touches top, left and right borders
    mask[30:40, 20:30, 1] = True         # touches the bottom border
    image[mask.any(axis=2)] = 255
    out, window, scale, padding, crop = resize_image(image, mode=mode,
                                                     rng=np.random.default_rng(1), **kwargs)
    resized = resize_mask(mask, scale, padding, crop)
    assert resized.shape[:2] == out.shape[:2]
    # The resized masks cover the bright pixels of the resized image.
    bright = out[:, :, 0] > 127
    np.testing.assert_array_equal(resized.any(axis=2)[bright], True)


def test_resize_mask_rejects_2d():
    with pytest.raises(ValueError, match="mask"):
        resize_mask(np.zeros((4, 4)), 1, [(0, 0), (0, 0), (0, 0)])


# --- minimize_mask / expand_mask ------------------------------------------------------------

def test_minimize_mask_by_hand_and_expand_round_trip():
    mask = np.zeros((6, 10, 1), dtype=bool)
    mask[1:5, 1:5, 0] = True               # left half of the box rows 1-4, cols 1-8
    mask[1, 8, 0] = True                   # one pixel so the box reaches col 8
    bbox = np.array([[1, 1, 5, 9]])        # 4 x 8 box
    # Bilinear 4x8 -> 2x4 samples the box content at x = 0.5, 2.5, 4.5, 6.5 (between columns
    # 0-1, 2-3, 4-5, 6-7) and y = 0.5, 2.5: the left half is 1, the right half is 0 except
    # x = 6.5, y = 0.5 which averages 0, 1 (col 7 row 0) with 0, 0 -> 0.25 -> rounds to 0.
    mini = minimize_mask(bbox, mask, (2, 4))
    assert mini.shape == (2, 4, 1) and mini.dtype == bool
    np.testing.assert_array_equal(mini[:, :, 0], [[1, 1, 0, 0], [1, 1, 0, 0]])
    # Back to 4x8: col c samples mini col (c + 0.5) / 2 - 0.5; c = 3 -> 1.25 -> 0.75 -> 1,
    # c = 4 -> 1.75 -> 0.25 -> 0: the left half comes back exactly (the lone pixel is lost).
    full = expand_mask(bbox, mini, (6, 10, 3))
    assert full.shape == (6, 10, 1) and full.dtype == bool
    expected = mask.copy()
    expected[1, 8, 0] = False
    np.testing.assert_array_equal(full, expected)


def test_minimize_expand_round_trip_on_border_masks():
    mask = np.zeros((16, 16, 2), dtype=np.uint8)     # uint8 masks are cast to bool
    mask[0:8, 8:16, 0] = 1                 # top-right corner block
    mask[4:16, 0:16, 1] = 1                # touches bottom, left and right
    bbox = extract_bboxes(mask)
    np.testing.assert_array_equal(bbox, [[0, 8, 8, 16], [4, 0, 16, 16]])
    mini = minimize_mask(bbox, mask, (4, 4))
    assert mini.all()                      # the boxes are full rectangles
    np.testing.assert_array_equal(expand_mask(bbox, mini, (16, 16)), mask.astype(bool))


def test_minimize_mask_zero_area_box_names_instance():
    mask = np.zeros((8, 8, 2), dtype=bool)
    mask[1:3, 1:3, 0] = True
    bbox = np.array([[1, 1, 3, 3], [4, 4, 4, 6]])   # instance 1: zero height
    with pytest.raises(ValueError, match="instance 1"):
        minimize_mask(bbox, mask, (4, 4))


def test_minimize_mask_bbox_count_mismatch():
    with pytest.raises(ValueError, match="bbox"):
        minimize_mask(np.zeros((1, 4), dtype=int), np.zeros((8, 8, 2), dtype=bool), (4, 4))


def test_minimize_and_expand_no_instances():
    assert minimize_mask(np.zeros((0, 4), int), np.zeros((8, 8, 0), bool), (4, 4)).shape \
        == (4, 4, 0)
    assert expand_mask(np.zeros((0, 4), int), np.zeros((4, 4, 0), bool), (8, 8)).shape \
        == (8, 8, 0)


def test_expand_mask_zero_area_box_stays_empty():
    mini = np.ones((4, 4, 2), dtype=bool)
    bbox = np.array([[0, 0, 2, 2], [3, 3, 3, 7]])
    full = expand_mask(bbox, mini, (8, 8))
    assert full[:, :, 0].sum() == 4        # 2x2 box filled
    assert not full[:, :, 1].any()


# --- unmold_mask ----------------------------------------------------------------------------

def test_unmold_mask_fills_box_by_threshold():
    high = np.full((28, 28), 0.9, dtype=np.float32)
    full = unmold_mask(high, (2, 3, 6, 8), (10, 10, 3))
    assert full.shape == (10, 10) and full.dtype == bool
    expected = np.zeros((10, 10), dtype=bool)
    expected[2:6, 3:8] = True              # 4 x 5 = 20 pixels
    np.testing.assert_array_equal(full, expected)
    assert not unmold_mask(np.full((28, 28), 0.2), (2, 3, 6, 8), (10, 10)).any()


def test_unmold_mask_half_and_threshold_is_inclusive():
    mask = np.array([[1.0, 0.5, 0.49, 0.0]] * 4)        # same size as the box: no resampling
    full = unmold_mask(mask, (0, 0, 4, 4), (4, 4))       # box = whole image (all borders)
    np.testing.assert_array_equal(full[0], [True, True, False, False])   # 0.5 >= 0.5
    assert full.sum() == 8


def test_unmold_mask_zero_size_box_is_empty():
    for box in [(3, 3, 3, 8), (3, 3, 8, 3), (5, 5, 2, 2)]:
        full = unmold_mask(np.ones((28, 28)), box, (10, 10))
        assert full.shape == (10, 10) and not full.any()


def test_unmold_mask_box_partly_outside_image():
    full = unmold_mask(np.ones((6, 6)), (-2, -2, 4, 4), (10, 10))
    expected = np.zeros((10, 10), dtype=bool)
    expected[0:4, 0:4] = True              # only the part inside the image
    np.testing.assert_array_equal(full, expected)


def test_unmold_mask_rejects_3d_mask():
    with pytest.raises(ValueError, match="mask"):
        unmold_mask(np.ones((28, 28, 1)), (0, 0, 4, 4), (8, 8))


@pytest.mark.parametrize("shape, scale", [((768, 576, 3), 1024 / 768), ((60, 45, 2), 0.5),
                                          ((33, 17, 4), 2.7), ((100, 80, 1), 1.0),
                                          ((5, 7, 0), 3.3), ((64, 96, 2), 0.37)])
def test_resize_mask_equals_scipy_zoom_of_the_whole_array(shape, scale):
    # Matterport resized masks with one scipy.ndimage.zoom(order=0) of the [H, W, N] array;
    # resize_mask must give those pixels exactly, whatever way it computes them.
    import scipy.ndimage
    rng = np.random.default_rng(shape[0] * 7 + shape[2])
    mask = rng.random(shape) > 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = scipy.ndimage.zoom(mask, zoom=[scale, scale, 1], order=0)
    padding = [(3, 1), (0, 2), (0, 0)]
    got = resize_mask(mask, scale, padding)
    assert got.dtype == bool
    assert np.array_equal(got, np.pad(expected, padding))


def reference_mini_masks(mask, scale, padding, crop, mini_shape):
    """resize_mask, the drop of emptied instances, extract_bboxes and minimize_mask, as
    load_image_gt's general path composes them."""
    resized = resize_mask(mask, scale, padding, crop)
    keep = np.any(resized, axis=(0, 1))
    resized = resized[:, :, keep]
    bbox = extract_bboxes(resized)
    return keep, bbox, minimize_mask(bbox, resized, mini_shape), resized.shape[:2]


def blob_masks(rng, height, width, count):
    """Instances of several sizes with holes and ragged edges, a one-pixel one, one at each
    border and an empty one."""
    masks = np.zeros((height, width, count), bool)
    for i in range(count - 1):
        y, x = rng.integers(0, height), rng.integers(0, width)
        h, w = rng.integers(1, height // 2 + 2), rng.integers(1, width // 2 + 2)
        masks[y:y + h, x:x + w, i] = rng.random((min(h, height - y), min(w, width - x))) < 0.8
    masks[0, :5, 0] = True                      # on the top border
    masks[-1, -1, 1] = True                     # one pixel at the corner
    masks[:, :, -1] = False                     # empty
    return masks


@pytest.mark.parametrize("mode, kwargs, shape", [
    ("square", {"min_dim": 100, "max_dim": 128}, (90, 61)),     # up, padded
    ("square", {"min_dim": 20, "max_dim": 32}, (90, 61)),       # down: thin parts vanish
    ("scale_pad64", {"min_dim": 64, "max_dim": 160}, (70, 120)),
    ("pad64", {"min_dim": 64, "max_dim": 64}, (70, 100)),
    ("crop", {"min_dim": 48, "max_dim": 48}, (90, 61)),
    ("none", {"min_dim": 64, "max_dim": 64}, (64, 128)),
])
def test_resize_and_minimize_masks_equals_the_reference(mode, kwargs, shape):
    rng = np.random.default_rng(len(mode) + shape[0])
    for _ in range(4):
        masks = blob_masks(rng, shape[0], shape[1], 9)
        image = np.zeros(shape + (3,), np.uint8)
        _, _, scale, padding, crop = resize_image(image, mode=mode, rng=rng, **kwargs)
        got = resize_and_minimize_masks(masks, scale, padding, crop, (14, 10))
        expected = reference_mini_masks(masks, scale, padding, crop, (14, 10))
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
        np.testing.assert_array_equal(got[2], expected[2])
        assert got[3] == expected[3]
        assert got[1].dtype == np.int32 and got[2].dtype == bool


def test_resize_and_minimize_masks_without_instances():
    keep, bbox, mini, shape = resize_and_minimize_masks(np.zeros((30, 40, 0), bool), 2.0,
                                                        [(0, 0), (10, 10), (0, 0)], None, (8, 8))
    assert keep.shape == (0,) and bbox.shape == (0, 4) and mini.shape == (8, 8, 0)
    assert shape == (60, 100)
