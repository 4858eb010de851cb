"""Tests for mrcnn.core.images; expected values are worked out by hand in the comments."""
import random
from types import SimpleNamespace

import numpy as np
import pytest

from mrcnn.core.images import mold_image, resize, resize_image, unmold_image

NO_PADDING = [(0, 0), (0, 0), (0, 0)]


def _image(h, w, c=3, value=100):
    return np.full((h, w, c), value, dtype=np.uint8)


# --- resize ---------------------------------------------------------------------------------

def test_resize_bool_mask_is_interpolated_as_float():
    mask = np.zeros((4, 4), dtype=bool)
    mask[:, :2] = True
    out = resize(mask, (2, 2))
    # 4 -> 2 samples between columns 0-1 (both 1) and 2-3 (both 0)
    np.testing.assert_allclose(out, [[1, 0], [1, 0]])


def test_resize_no_anti_aliasing_by_default():
    image = np.zeros((4, 4))
    image[::2, ::2] = 1.0                  # a checkerboard of period 2 in both directions
    # Sampling at 0.5, 2.5 averages 2x2 blocks holding exactly one 1 -> 0.25 everywhere;
    # with anti-aliasing (scikit-image's default) a Gaussian blur would change the values.
    np.testing.assert_allclose(resize(image, (2, 2)), np.full((2, 2), 0.25))


# --- resize_image: none ---------------------------------------------------------------------

def test_resize_image_none_returns_input():
    image = _image(30, 50)
    out, window, scale, padding, crop = resize_image(image, 64, 128, mode="none")
    assert out is image
    assert window == (0, 0, 30, 50) and scale == 1 and padding == NO_PADDING and crop is None


# --- resize_image: square -------------------------------------------------------------------

def test_resize_image_square_scaled_down_by_max_dim():
    image = _image(40, 60)
    out, window, scale, padding, crop = resize_image(image, min_dim=50, max_dim=64)
    # min_dim: scale = 50 / 40 = 1.25, but round(60 * 1.25) = 75 > 64 -> scale = 64 / 60;
    # new size round(40 * 64 / 60) = round(42.67) = 43 x 64; top pad (64 - 43) // 2 = 10,
    # bottom 64 - 43 - 10 = 11.
    assert scale == pytest.approx(64 / 60)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert window == (10, 0, 53, 64)
    assert padding == [(10, 11), (0, 0), (0, 0)] and crop is None
    assert (out[10:53] == 100).all() and not out[:10].any() and not out[53:].any()


def test_resize_image_square_pads_small_image_without_scaling():
    image = _image(20, 30, c=4)            # four channels
    out, window, scale, padding, crop = resize_image(image, max_dim=64, mode="square")
    # scale 1; top (64 - 20) // 2 = 22, bottom 22; left (64 - 30) // 2 = 17, right 17
    assert scale == 1 and out.shape == (64, 64, 4)
    assert window == (22, 17, 42, 47)
    assert padding == [(22, 22), (17, 17), (0, 0)]
    np.testing.assert_array_equal(out[22:42, 17:47], image)


def test_resize_image_square_min_scale_and_grayscale_2d():
    image = np.full((40, 40), 7, dtype=np.uint8)
    out, window, scale, padding, _ = resize_image(image, max_dim=128, min_scale=2)
    # scale 2 -> 80 x 80; padding (128 - 80) / 2 = 24 on each side
    assert scale == 2 and out.shape == (128, 128)
    assert window == (24, 24, 104, 104) and padding == [(24, 24), (24, 24), (0, 0)]
    assert (out[24:104, 24:104] == 7).all() and out.sum() == 7 * 80 * 80


def test_resize_image_square_needs_max_dim():
    with pytest.raises(ValueError, match="max_dim"):
        resize_image(_image(8, 8), min_dim=8, mode="square")


def test_resize_image_float_image_keeps_dtype():
    image = np.full((10, 20, 3), 0.5, dtype=np.float32)
    out, window, scale, _, _ = resize_image(image, max_dim=10)
    # scale = 10 / 20 = 0.5 -> 5 x 10, padded to 10 x 10 (top 2, bottom 3)
    assert out.dtype == np.float32 and out.shape == (10, 10, 3) and window == (2, 0, 7, 10)
    np.testing.assert_allclose(out[2:7], 0.5)


# --- resize_image: pad64 --------------------------------------------------------------------

def test_resize_image_pad64_by_hand_one_channel():
    image = _image(70, 100, c=1)
    out, window, scale, padding, crop = resize_image(image, min_dim=64, mode="pad64")
    # scale max(1, 64 / 70) = 1; 70 -> 128: pad 58 = 29 + 29; 100 -> 128: pad 28 = 14 + 14
    assert scale == 1 and out.shape == (128, 128, 1) and crop is None
    assert padding == [(29, 29), (14, 14), (0, 0)]
    assert window == (29, 14, 99, 114)


def test_resize_image_pad64_exact_multiple_and_upscale():
    out, window, _, padding, _ = resize_image(_image(64, 128), min_dim=64, mode="pad64")
    assert out.shape == (64, 128, 3) and padding == NO_PADDING and window == (0, 0, 64, 128)
    out, window, scale, padding, _ = resize_image(_image(32, 48), min_dim=64, mode="pad64")
    # scale 64 / 32 = 2 -> 64 x 96; 96 -> 128: pad 32 = 16 + 16
    assert scale == 2 and out.shape == (64, 128, 3)
    assert padding == [(0, 0), (16, 16), (0, 0)] and window == (0, 16, 64, 112)


def test_resize_image_pad64_odd_padding_puts_extra_after():
    out, window, _, padding, _ = resize_image(_image(63, 1), mode="pad64")
    # 63 -> 64: pad 1 = 0 + 1; 1 -> 64: pad 63 = 31 + 32 (min_dim may be omitted)
    assert padding == [(0, 1), (31, 32), (0, 0)] and window == (0, 31, 63, 32)


def test_resize_image_pad64_min_dim_not_multiple():
    with pytest.raises(ValueError, match="multiple of 64"):
        resize_image(_image(70, 70), min_dim=100, mode="pad64")


# --- resize_image: crop ---------------------------------------------------------------------

def test_resize_image_crop_with_generator():
    image = np.arange(100 * 80 * 3, dtype=np.int64).reshape(100, 80, 3)
    out, window, scale, padding, crop = resize_image(image, min_dim=64, mode="crop",
                                                     rng=np.random.default_rng(3))
    y, x, h, w = crop
    # scale max(1, 64 / 80) = 1; y in [0, 100 - 64], x in [0, 80 - 64]
    assert scale == 1 and (h, w) == (64, 64) and 0 <= y <= 36 and 0 <= x <= 16
    assert window == (0, 0, 64, 64) and padding == NO_PADDING
    np.testing.assert_array_equal(out, image[y:y + 64, x:x + 64])
    again = resize_image(image, min_dim=64, mode="crop", rng=np.random.default_rng(3))
    assert again[4] == crop


def test_resize_image_crop_default_uses_python_random_like_matterport():
    random.seed(7)
    crop = resize_image(_image(100, 80), min_dim=64, mode="crop")[4]
    random.seed(7)
    assert crop == (random.randint(0, 36), random.randint(0, 16), 64, 64)


def test_resize_image_crop_scales_up_first():
    out, _, scale, _, crop = resize_image(_image(40, 50), min_dim=64, mode="crop",
                                          rng=np.random.default_rng(0))
    # scale 64 / 40 = 1.6 -> 64 x 80: the crop must start at row 0
    assert scale == 1.6 and out.shape == (64, 64, 3) and crop[0] == 0 and 0 <= crop[1] <= 16


def test_resize_image_crop_needs_min_dim():
    with pytest.raises(ValueError, match="min_dim"):
        resize_image(_image(8, 8), mode="crop")


# --- resize_image: bad input ----------------------------------------------------------------

def test_resize_image_unknown_mode_lists_valid_modes():
    with pytest.raises(ValueError, match="none, square, pad64, crop"):
        resize_image(_image(8, 8), 8, 8, mode="squares")


def test_resize_image_rejects_empty_and_4d():
    with pytest.raises(ValueError, match="empty"):
        resize_image(np.zeros((0, 5, 3), np.uint8), max_dim=8)
    with pytest.raises(ValueError, match="image"):
        resize_image(np.zeros((1, 5, 5, 3), np.uint8), max_dim=8)


# --- mold / unmold --------------------------------------------------------------------------

CONFIG = SimpleNamespace(MEAN_PIXEL=np.array([123.7, 116.8, 103.9]))


def test_mold_image_subtracts_mean_pixel():
    image = np.array([[[200, 100, 50]]], dtype=np.uint8)
    # 200 - 123.7 = 76.3; 100 - 116.8 = -16.8; 50 - 103.9 = -53.9
    np.testing.assert_allclose(mold_image(image, CONFIG), [[[76.3, -16.8, -53.9]]], atol=1e-5)


def test_mold_unmold_round_trip_all_levels():
    images = np.stack([np.arange(256, dtype=np.uint8)] * 3, axis=-1)[None]   # [1, 256, 3]
    back = unmold_image(mold_image(images, CONFIG), CONFIG)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, images)


def test_unmold_image_clips_instead_of_wrapping():
    normalized = np.array([[[-200.0, 300.0, 0.5]]])
    # -200 + 123.7 < 0 -> 0; 300 + 116.8 > 255 -> 255; 0.5 + 103.9 = 104.4 -> 104
    np.testing.assert_array_equal(unmold_image(normalized, CONFIG), [[[0, 255, 104]]])


def test_mold_image_channel_mismatch():
    with pytest.raises(ValueError, match="MEAN_PIXEL"):
        mold_image(_image(4, 4, c=4), CONFIG)


# --- resize_image: scale_pad64 --------------------------------------------------------------

def test_resize_image_scale_pad64_landscape_photo():
    image = _image(1080, 1920)
    out, window, scale, padding, crop = resize_image(image, min_dim=800, max_dim=1024,
                                                     mode="scale_pad64")
    # min_dim: 800 / 1080 < 1 -> no upscaling; 1920 > 1024 -> scale = 1024 / 1920;
    # round(1080 * 0.5333) = 576, already a multiple of 64: no padding, 1024x576 not 1024x1024.
    assert scale == pytest.approx(1024 / 1920)
    assert out.shape == (576, 1024, 3)
    assert window == (0, 0, 576, 1024) and padding == NO_PADDING and crop is None


def test_resize_image_scale_pad64_pads_each_side_to_64():
    image = _image(50, 70)
    out, window, scale, padding, crop = resize_image(image, min_dim=100, max_dim=256,
                                                     mode="scale_pad64")
    # scale = 100 / 50 = 2 -> 100 x 140 (long side 140 <= 256); pad 100 -> 128 (14 top, 14
    # bottom) and 140 -> 192 (26 left, 26 right).
    assert scale == 2
    assert out.shape == (128, 192, 3)
    assert window == (14, 26, 114, 166)
    assert padding == [(14, 14), (26, 26), (0, 0)]
    assert not out[:14].any() and not out[:, :26].any() and (out[14:114, 26:166] == 100).all()


@pytest.mark.parametrize("shape, mode, min_dim, max_dim, expected", [
    ((1080, 1920), "scale_pad64", 800, 1024, (576, 1024)),
    ((1920, 1080), "scale_pad64", 800, 1024, (1024, 576)),
    ((50, 70), "scale_pad64", 100, 256, (128, 192)),
    ((1080, 1920), "scale_pad64", 100, 256, (192, 256)),   # 256/1920 -> 144x256 -> 192x256
    ((50, 70), "square", 100, 256, (256, 256)),
    ((50, 70), "pad64", 128, 256, (128, 192)),      # 128 / 50 = 2.56 -> 128x179; max_dim ignored
    ((300, 700), "pad64", None, 256, (320, 704)),   # no scaling, pad to multiples of 64
    ((64, 128), "none", 100, 256, (64, 128)),
    ((300, 700), "crop", 100, 256, (100, 100)),
])
def test_resized_shape_matches_resize_image(shape, mode, min_dim, max_dim, expected):
    from mrcnn.core.images import resized_shape
    assert resized_shape(*shape, min_dim=min_dim, max_dim=max_dim, mode=mode) == expected
    out = resize_image(_image(*shape), min_dim=min_dim, max_dim=max_dim, mode=mode,
                       rng=np.random.default_rng(0))[0]
    assert out.shape[:2] == expected


def test_check_multiple_of_64_names_the_image_and_the_fix():
    from mrcnn.core.images import check_multiple_of_64
    check_multiple_of_64((128, 192, 3), "image 3")
    with pytest.raises(ValueError, match=r"image 3 \(a.jpg\) is 100x192 .*multiples of 64.*"
                                         r"scale_pad64.*128x192"):
        check_multiple_of_64((100, 192, 3), "image 3 (a.jpg)")


@pytest.mark.parametrize("shape, out, dtype, order, preserve_range", [
    ((37, 53, 3), (64, 91), np.uint8, 1, True),      # upscale, photo-like
    ((120, 90, 3), (48, 36), np.uint8, 1, False),    # downscale, float output in [0, 1]
    ((29, 31, 4), (29, 62, 4), np.float32, 1, True), # trailing channels given, 4 channels
    ((40, 30, 2), (77, 59), np.float64, 0, True),    # nearest neighbour
    ((40, 30, 3), (77, 59, 3), bool, 1, False),      # bool interpolated as float
    ((10, 27, 3), (207, 491), np.float32, 1, False), # border rows mix in cval 0 below channel
                                                     # 0's minimum: clipped as one image
    ((576, 768, 3), (768, 1024), np.uint8, 1, True), # a kudzu photo to 1024 (the pipeline)
    ((1, 1, 3), (5, 7), np.uint8, 1, True),          # one pixel: every output reads the border
    ((33, 21), (56, 56), bool, 1, False),            # a mini-mask: 2-D bool box content
    ((64, 48), (17, 130), np.int16, 1, False),       # 2-D, integer scaled to [-1, 1]
    ((23, 19, 2), (40, 11), np.float16, 1, True),    # float16 computed as float32
])
def test_resize_gives_the_pixels_of_one_scikit_image_call(shape, out, dtype, order,
                                                          preserve_range):
    # resize() may resample channel by channel for speed; the pixels must be those of one
    # skimage.transform.resize call on the whole [H, W, C] array, bit for bit.
    import skimage.transform
    rng = np.random.default_rng(sum(shape) + order)
    if dtype is bool:
        image = rng.random(shape) > 0.5
        reference_input = image.astype(np.float64)
    else:
        image = (rng.random(shape) * 255).astype(dtype)
        image[..., 0] = image[..., 0] // 2 + 100      # channel ranges differ
        reference_input = image
    expected = skimage.transform.resize(reference_input, out, order=order, mode="constant",
                                        cval=0, clip=True, preserve_range=preserve_range,
                                        anti_aliasing=False)
    got = resize(image, out, order=order, preserve_range=preserve_range)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)
