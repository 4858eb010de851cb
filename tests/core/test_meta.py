"""Tests for mrcnn.core.meta; expected values are written out by hand."""
import numpy as np
import pytest

from mrcnn.core.meta import compose_image_meta, image_meta_size, parse_image_meta


def test_image_meta_size():
    # 1 (id) + 3 (original shape) + 3 (image shape) + 4 (window) + 1 (scale) + classes
    assert image_meta_size(81) == 93
    assert image_meta_size(1) == 13


def test_compose_image_meta_layout():
    meta = compose_image_meta(7, (100, 120, 3), (128, 128, 3), (11, 0, 117, 128), 1.0667,
                              [1, 1, 0, 1])
    assert meta.shape == (16,) and meta.dtype == np.float64     # 12 + 4 classes
    np.testing.assert_allclose(meta, [7, 100, 120, 3, 128, 128, 3, 11, 0, 117, 128, 1.0667,
                                      1, 1, 0, 1])


def test_compose_parse_round_trip_batch():
    metas = np.stack([
        compose_image_meta(0, (40, 60, 3), (64, 64, 3), (10, 0, 53, 64), 64 / 60, [1, 0, 1]),
        compose_image_meta(5, (64, 64, 3), (64, 64, 3), (0, 0, 64, 64), 1, np.array([1, 1, 1])),
    ])
    parsed = parse_image_meta(metas)
    assert set(parsed) == {"image_id", "original_image_shape", "image_shape", "window",
                           "scale", "active_class_ids"}
    np.testing.assert_array_equal(parsed["image_id"], [0, 5])
    np.testing.assert_array_equal(parsed["original_image_shape"], [[40, 60, 3], [64, 64, 3]])
    np.testing.assert_array_equal(parsed["image_shape"], [[64, 64, 3], [64, 64, 3]])
    np.testing.assert_array_equal(parsed["window"], [[10, 0, 53, 64], [0, 0, 64, 64]])
    np.testing.assert_allclose(parsed["scale"], [64 / 60, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(parsed["active_class_ids"], [[1, 0, 1], [1, 1, 1]])
    for key, value in parsed.items():
        expected = np.float32 if key == "scale" else np.int32
        assert value.dtype == expected, key


def test_parse_image_meta_of_float32_network_input():
    meta = compose_image_meta(3, (10, 20, 3), (32, 32, 3), (11, 6, 21, 26), 1, [1, 1])
    parsed = parse_image_meta(meta.astype(np.float32)[None])
    np.testing.assert_array_equal(parsed["window"], [[11, 6, 21, 26]])
    assert parsed["active_class_ids"].shape == (1, 2)


def test_compose_image_meta_rejects_bad_shapes():
    with pytest.raises(ValueError, match="original_image_shape"):
        compose_image_meta(0, (10, 20), (32, 32, 3), (0, 0, 10, 20), 1, [1])
    with pytest.raises(ValueError, match="image_shape"):
        compose_image_meta(0, (10, 20, 3), (32, 32), (0, 0, 10, 20), 1, [1])
    with pytest.raises(ValueError, match="window"):
        compose_image_meta(0, (10, 20, 3), (32, 32, 3), (0, 0, 10), 1, [1])


def test_parse_image_meta_needs_batch_dimension():
    meta = compose_image_meta(0, (10, 20, 3), (32, 32, 3), (0, 0, 10, 20), 1, [1])
    with pytest.raises(ValueError, match=r"meta\[None\]"):
        parse_image_meta(meta)
