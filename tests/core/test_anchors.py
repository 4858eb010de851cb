"""Tests for mrcnn.core.anchors; counts and coordinates are worked out by hand."""
from types import SimpleNamespace

import numpy as np
import pytest

from mrcnn.core.anchors import (
    compute_backbone_shapes,
    generate_anchors,
    generate_pyramid_anchors,
    get_anchors,
)

R = np.sqrt(2.0)


def test_generate_anchors_first_cell_and_order():
    anchors = generate_anchors(8, [0.5, 1, 2], [2, 3], 4, 1)
    # 2 x 3 cells x 3 ratios
    assert anchors.shape == (18, 4)
    # Cell (0, 0), centre (0, 0). ratio 0.5: h = 8 / sqrt(0.5) = 8 * sqrt2, w = 8 * sqrt(0.5)
    # = 4 * sqrt2; ratio 1: 8 x 8; ratio 2: h = 4 * sqrt2, w = 8 * sqrt2.
    np.testing.assert_allclose(anchors[:3], [[-4 * R, -2 * R, 4 * R, 2 * R],
                                             [-4, -4, 4, 4],
                                             [-2 * R, -4 * R, 2 * R, 4 * R]])
    # Cells row by row: centres (0,0), (0,4), (0,8), (4,0), (4,4), (4,8); ratio inside a cell.
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    expected = np.repeat([[0, 0], [0, 4], [0, 8], [4, 0], [4, 4], [4, 8]], 3, axis=0)
    np.testing.assert_allclose(centres, expected, atol=1e-12)
    np.testing.assert_allclose(anchors[3], [-4 * R, 4 - 2 * R, 4 * R, 4 + 2 * R])


def test_generate_anchors_anchor_stride_2():
    anchors = generate_anchors(16, [1], [3, 5], 4, 2)
    # cells 0, 2 in y (ceil(3 / 2) = 2) and 0, 2, 4 in x (ceil(5 / 2) = 3): 6 anchors,
    # centres at cell * feature_stride: y in {0, 8}, x in {0, 8, 16}
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    np.testing.assert_allclose(centres, [[0, 0], [0, 8], [0, 16], [8, 0], [8, 8], [8, 16]])
    np.testing.assert_allclose(anchors[0], [-8, -8, 8, 8])


def test_generate_pyramid_anchors_counts_and_level_order():
    args = ((8, 16), [1], [[4, 4], [2, 2]], [4, 8])
    anchors = generate_pyramid_anchors(*args, 1)
    # level 0: 4 x 4 cells, level 1: 2 x 2 cells -> 16 + 4
    assert anchors.shape == (20, 4)
    np.testing.assert_allclose(anchors[0], [-4, -4, 4, 4])       # scale 8 first
    np.testing.assert_allclose(anchors[16], [-8, -8, 8, 8])      # then scale 16
    np.testing.assert_allclose(anchors[19], [0, 0, 16, 16])      # cell (1, 1) * 8, side 16
    # stride 2: ceil(4/2)^2 + ceil(2/2)^2 = 4 + 1
    assert generate_pyramid_anchors(*args, 2).shape == (5, 4)


def test_generate_pyramid_anchors_level_count_mismatch():
    with pytest.raises(ValueError, match="pyramid level"):
        generate_pyramid_anchors((8, 16, 32), [1], [[4, 4], [2, 2]], [4, 8], 1)


def _config(**overrides):
    values = dict(BACKBONE="resnet50", BACKBONE_STRIDES=[4, 8, 16, 32, 64],
                  COMPUTE_BACKBONE_SHAPE=None, RPN_ANCHOR_SCALES=(8, 16, 32, 64, 128),
                  RPN_ANCHOR_RATIOS=[0.5, 1, 2], RPN_ANCHOR_STRIDE=1)
    values.update(overrides)
    return SimpleNamespace(**values)


def test_compute_backbone_shapes_resnet():
    shapes = compute_backbone_shapes(_config(), (100, 130, 3))
    # ceil(100 / s), ceil(130 / s) for s = 4, 8, 16, 32, 64
    np.testing.assert_array_equal(shapes, [[25, 33], [13, 17], [7, 9], [4, 5], [2, 3]])
    np.testing.assert_array_equal(compute_backbone_shapes(_config(BACKBONE="resnet101"),
                                                          (128, 128)),
                                  [[32, 32], [16, 16], [8, 8], [4, 4], [2, 2]])


def test_compute_backbone_shapes_callable_backbone():
    config = _config(BACKBONE=lambda *a: None,
                     COMPUTE_BACKBONE_SHAPE=lambda shape: [[shape[0] // 2, shape[1] // 2]])
    np.testing.assert_array_equal(compute_backbone_shapes(config, (64, 32, 3)), [[32, 16]])
    with pytest.raises(ValueError, match="COMPUTE_BACKBONE_SHAPE"):
        compute_backbone_shapes(_config(BACKBONE=lambda *a: None), (64, 64, 3))


def test_compute_backbone_shapes_unknown_name():
    with pytest.raises(ValueError, match="resnet50, resnet101"):
        compute_backbone_shapes(_config(BACKBONE="resnet152"), (64, 64, 3))


def test_get_anchors_counts_stride_1_and_2():
    # 64 x 64 image: feature maps 16, 8, 4, 2, 1 per side
    # stride 1: (256 + 64 + 16 + 4 + 1) cells x 3 ratios = 1023
    assert get_anchors(_config(), (64, 64, 3)).shape == (1023, 4)
    # stride 2: cells per side 8, 4, 2, 1, 1 -> (64 + 16 + 4 + 1 + 1) x 3 = 258
    assert get_anchors(_config(RPN_ANCHOR_STRIDE=2), (64, 64, 3)).shape == (258, 4)


def test_get_anchors_normalized_first_anchor():
    anchors = get_anchors(_config(), (64, 64, 3))
    assert anchors.dtype == np.float32
    # pixel anchor (-4*sqrt2, -2*sqrt2, 4*sqrt2, 2*sqrt2); norm: (y1, x1, y2 - 1, x2 - 1) / 63
    expected = np.array([-4 * R, -2 * R, 4 * R - 1, 2 * R - 1]) / 63
    np.testing.assert_allclose(anchors[0], expected, rtol=1e-6)


def test_get_anchors_cache_follows_config_values():
    config = _config()
    first = get_anchors(config, (64, 64, 3))
    assert get_anchors(_config(), (64, 64)) is first        # same values, same image size
    assert not first.flags.writeable                          # shared, so read-only
    config.RPN_ANCHOR_STRIDE = 2                              # configs are mutable
    assert get_anchors(config, (64, 64, 3)).shape == (258, 4)
    config.RPN_ANCHOR_RATIOS = [1]
    assert get_anchors(config, (64, 64, 3)).shape == (86, 4)
    assert get_anchors(_config(), (128, 64, 3)).shape[0] > first.shape[0]


def test_anchor_index_finds_every_anchor_that_meets_a_box_and_few_others():
    from mrcnn.core.anchors import AnchorIndex, get_pixel_anchors
    from tiny import tiny_config
    config = tiny_config(IMAGE_MIN_DIM=256, IMAGE_MAX_DIM=256)
    anchors = np.array(get_pixel_anchors(config, (256, 256, 3)))
    index = AnchorIndex(anchors)
    assert index.grids is not None and len(index.grids) == 5 * 3   # one grid per level, ratio
    rng = np.random.default_rng(0)
    for _ in range(30):
        y1, x1 = rng.uniform(-20, 250, 2)
        box = (y1, x1, y1 + rng.uniform(1, 60), x1 + rng.uniform(1, 60))
        meets = [i for i, a in enumerate(anchors)
                 if min(a[2], box[2]) > max(a[0], box[0]) and min(a[3], box[3]) > max(a[1], box[1])]
        found = index.overlapping(box)
        assert set(meets) <= set(found.tolist())
        assert np.all(np.diff(found) > 0)
        assert len(found) <= len(meets) + 0.1 * len(anchors)     # not every anchor


def test_anchor_index_of_anchors_without_a_grid_is_every_anchor():
    from mrcnn.core.anchors import AnchorIndex
    anchors = np.array([[0, 0, 10, 10], [3, 5, 13, 15], [40, 41, 50, 51.0]])
    np.testing.assert_array_equal(AnchorIndex(anchors).overlapping((0, 0, 2, 2)), [0, 1, 2])
