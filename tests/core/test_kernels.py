"""The compiled loops of core.kernels against plain NumPy written here."""
import numpy as np
import pytest

from mrcnn.core.images import mold_image, mold_image_float32
from mrcnn.core.kernels import bilinear_resize, channel_lookup


def test_bilinear_resize_by_hand_with_the_border_reading_zero():
    # 2x2 -> 4x4: output centres sample input coordinates -0.25, 0.25, 0.75, 1.25 per axis;
    # -0.25 mixes 0.75 of row 0 with 0.25 of the zero row outside.
    image = np.array([[4.0, 8.0], [12.0, 16.0]])
    axis = [(0, 0.75, None, 0.0), (0, 0.75, 1, 0.25), (0, 0.25, 1, 0.75), (1, 0.75, None, 0.0)]
    expected = np.zeros((4, 4))
    for i, (r0, wr0, r1, wr1) in enumerate(axis):
        for j, (c0, wc0, c1, wc1) in enumerate(axis):
            for r, wr in ((r0, wr0), (r1, wr1)):
                for c, wc in ((c0, wc0), (c1, wc1)):
                    if r is not None and c is not None:
                        expected[i, j] += image[r, c] * wr * wc
    got = bilinear_resize(image, (4, 4))
    assert got.shape == (4, 4)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got[1, 1] == pytest.approx(0.75 * 0.75 * 4 + 0.75 * 0.25 * 8 + 0.25 * 0.75 * 12
                                      + 0.25 * 0.25 * 16)


def test_bilinear_resize_keeps_channels_apart():
    rng = np.random.default_rng(3)
    image = rng.random((9, 13, 3)) + np.array([1.0, 100.0, 10000.0])
    got = bilinear_resize(image, (20, 7))
    for c in range(3):
        np.testing.assert_array_equal(got[..., c], bilinear_resize(image[..., c], (20, 7)))
    inner = got[1:-1]                               # the first and last rows read the border
    assert inner[..., 0].max() < 2 and 100 < inner[..., 1].min()
    assert inner[..., 1].max() < 101 and 10000 < inner[..., 2].min()


def test_channel_lookup_is_a_per_channel_table():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (5, 6, 3)).astype(np.uint8)
    table = rng.random((256, 3)).astype(np.float32)
    expected = np.empty(image.shape, np.float32)
    for i in range(5):
        for j in range(6):
            for c in range(3):
                expected[i, j, c] = table[image[i, j, c], c]
    np.testing.assert_array_equal(channel_lookup(image, table), expected)
    out = np.full((5, 6, 3), -1, np.float32)
    assert channel_lookup(image, table, out) is out
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("mean_pixel, channels, dtype", [
    ([123.7, 116.8, 103.9], 3, np.uint8),     # Matterport's float64 means: every value rounds
    ([10, 200, 33, 7], 4, np.uint8),          # four channels, integer means
    (np.float32(127.5), 3, np.uint8),         # one mean for all channels
    ([123.7, 116.8, 103.9], 3, np.float32),   # not uint8: the general path
])
def test_mold_image_float32_is_mold_image_cast(mean_pixel, channels, dtype):
    class Cfg:
        MEAN_PIXEL = mean_pixel
    rng = np.random.default_rng(channels)
    image = (rng.random((31, 17, channels)) * 255.99).astype(dtype)
    image[0, :3, 0] = [0, 255, 128]
    expected = (image.astype(np.float32) - np.asarray(mean_pixel)).astype(np.float32)
    np.testing.assert_array_equal(mold_image_float32(image, Cfg()), expected)
    np.testing.assert_array_equal(mold_image(image, Cfg()).astype(np.float32), expected)
    out = np.zeros((31, 17, channels), np.float32)
    mold_image_float32(image, Cfg(), out=out)
    np.testing.assert_array_equal(out, expected)
