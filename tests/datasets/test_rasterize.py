"""Tests for mrcnn/datasets/rasterize.py: shapes to masks, image reading, JSON errors."""
import base64
import io
import math

import numpy as np
import PIL.Image
import PIL.ImageOps
import pytest
import skimage.draw
import skimage.io

from mrcnn.datasets import DatasetError
from mrcnn.datasets.annotation_files import read_json
from mrcnn.datasets.image_io import EXIF_ORIENTATION_TAG, image_size, read_image
from mrcnn.datasets.rasterize import (
    ShapeError,
    bitmap,
    circle_from_points,
    disk,
    draw_shape,
    ellipse,
    instances_mask,
    mask_area,
    points_array,
    polygon,
    rectangle,
)


def png_base64(array):
    buffer = io.BytesIO()
    PIL.Image.fromarray(array).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# ------------------------------------------------------------------------------ shapes
def test_polygon_covers_centres_inside_and_on_the_outline():
    # Vertices x 2..6, y 1..4: rows 1..4 and columns 2..6 inclusive -> 4 * 5 = 20 pixels.
    mask = draw_shape(polygon([2, 6, 6, 2], [1, 1, 4, 4]), 8, 10)
    expected = np.zeros((8, 10), bool)
    expected[1:5, 2:7] = True
    np.testing.assert_array_equal(mask, expected)
    assert mask.sum() == 20


def test_polygon_outside_the_image_is_clipped():
    # x from -5 to 20 and y from 2 to 30 on an 8 x 10 image: rows 2..7, all 10 columns.
    mask = draw_shape(polygon([-5, 20, 20, -5], [2, 2, 30, 30]), 8, 10)
    expected = np.zeros((8, 10), bool)
    expected[2:, :] = True
    np.testing.assert_array_equal(mask, expected)
    # The same as drawing without clipping and dropping what falls outside.
    rr, cc = skimage.draw.polygon([2, 2, 30, 30], [-5, 20, 20, -5])
    inside = (rr >= 0) & (rr < 8) & (cc >= 0) & (cc < 10)
    unclipped = np.zeros((8, 10), bool)
    unclipped[rr[inside], cc[inside]] = True
    np.testing.assert_array_equal(mask, unclipped)


def test_rectangle_corners_in_any_order():
    a = draw_shape(rectangle(2, 1, 6, 4), 8, 10)
    b = draw_shape(rectangle(6, 4, 2, 1), 8, 10)
    c = draw_shape(rectangle(2, 4, 6, 1), 8, 10)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert a[1:5, 2:7].all() and a.sum() == 20


def test_disk_by_hand():
    # Centre (x 4, y 3), radius 2: pixel centres closer than 2 -> the 3 x 3 block around the
    # centre (corner distance sqrt(2) ~ 1.41); (x 4, y 1) is at distance 2 exactly: out.
    mask = draw_shape(disk(4, 3, 2), 8, 10)
    expected = np.zeros((8, 10), bool)
    expected[2:5, 3:6] = True
    np.testing.assert_array_equal(mask, expected)
    # labelme's circle: centre point then a rim point at distance 2.
    np.testing.assert_array_equal(draw_shape(circle_from_points([[4, 3], [4, 5]]), 8, 10),
                                  expected)


def test_ellipse_theta_turns_clockwise_on_screen():
    # rx 5 along x, ry 1.5, turned by +45 degrees clockwise on screen (y down): the long
    # axis runs from top-left to bottom-right. (x 9, y 9) is 3 * sqrt(2) ~ 4.24 < 5 along
    # it: inside; (x 9, y 3) is the same distance along the other diagonal: outside.
    mask = draw_shape(ellipse(6, 6, 5, 1.5, math.pi / 4), 13, 13)
    assert mask[9, 9] and mask[3, 3] and mask[6, 6]
    assert not mask[3, 9] and not mask[9, 3]
    # No rotation: long axis along x.
    flat = draw_shape(ellipse(6, 6, 5, 1.5), 13, 13)
    assert flat[6, 2] and flat[6, 10] and not flat[2, 6] and not flat[10, 6]


def test_bitmap_is_placed_at_its_corner_and_clipped():
    patch = np.array([[1, 0, 1], [1, 1, 0]], np.uint8) * 255
    # Top-left at column 8, row 1 of a 4 x 10 image: only columns 8, 9 fit.
    mask = draw_shape(bitmap(8.7, 1.2, png_base64(patch)), 4, 10)   # corner truncated: 8, 1
    expected = np.zeros((4, 10), bool)
    expected[1:3, 8:10] = patch[:, :2] > 0
    np.testing.assert_array_equal(mask, expected)
    # Partly left of the image: column -1 falls off.
    mask = draw_shape(bitmap(-1, 0, png_base64(patch)), 4, 10)
    expected = np.zeros((4, 10), bool)
    expected[0:2, 0:2] = patch[:, 1:] > 0
    np.testing.assert_array_equal(mask, expected)


def test_instances_mask_unions_shapes_and_keeps_class_ids():
    instances = [(2, [rectangle(0, 0, 1, 1), rectangle(5, 5, 6, 6)]), (1, [disk(3, 3, 1)])]
    mask, class_ids = instances_mask(instances, 8, 8)
    assert mask.shape == (8, 8, 2) and mask.dtype == bool
    np.testing.assert_array_equal(class_ids, [2, 1])
    assert class_ids.dtype == np.int32
    assert mask[..., 0].sum() == 4 + 4 and mask[0, 0, 0] and mask[6, 6, 0]
    assert mask[..., 1].sum() == 1 and mask[3, 3, 1]        # radius 1: only the centre
    empty_mask, empty_ids = instances_mask([], 8, 8)
    assert empty_mask.shape == (8, 8, 0) and empty_ids.shape == (0,)
    assert mask_area([polygon([20, 30, 30], [20, 20, 30])], 8, 8) == 0


@pytest.mark.parametrize("points, message", [
    ([[1, 2, 3], [4, 5, 6], [7, 8, 9]], r"not a list of \[x, y\] numbers"),
    ([[1, "a"], [3, 4], [5, 6]], r"not a list of \[x, y\] numbers"),
    ([[1, float("nan")], [3, 4], [5, 6]], "not finite"),
    ([[1, 2]], "fewer than 2 points"),
])
def test_bad_points(points, message):
    with pytest.raises(ShapeError, match=message):
        points_array(points, min_points=2)


@pytest.mark.parametrize("xs, ys", [([1, 3], [2, 4]), ([], [])])
def test_polygon_with_fewer_than_3_points(xs, ys):
    with pytest.raises(ShapeError, match="polygon with fewer than 3 points"):
        polygon(xs, ys)


def test_bad_shapes():
    with pytest.raises(ShapeError, match="differ in length"):
        polygon([1, 2, 3], [1, 2])
    with pytest.raises(ShapeError, match="negative radius"):
        disk(1, 1, -2)
    with pytest.raises(ShapeError, match="exactly 2 points"):
        circle_from_points([[1, 1]])
    with pytest.raises(ShapeError, match="without base64 'mask' data"):
        bitmap(0, 0, None)
    with pytest.raises(ShapeError, match="not a base64 image"):
        bitmap(0, 0, base64.b64encode(b"not a png").decode())


# ------------------------------------------------------------------------------ images
RGB = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]],
                [[10, 20, 30], [40, 50, 60], [70, 80, 90]]], dtype=np.uint8)


def test_read_image_layouts(tmp_path):
    gray = np.array([[0, 100, 255], [7, 8, 9]], np.uint8)
    skimage.io.imsave(tmp_path / "gray.png", gray, check_contrast=False)
    image = read_image(tmp_path / "gray.png")
    assert image.shape == (2, 3, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[..., 1], gray)

    rgba = np.concatenate([RGB, np.full((2, 3, 1), 128, np.uint8)], axis=2)
    skimage.io.imsave(tmp_path / "rgba.png", rgba, check_contrast=False)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), RGB)
    # channel_count 4 keeps the alpha channel.
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png", channel_count=4), rgba)

    # uint16 -> uint8 is value // 256: 0 -> 0, 256 -> 1, 32768 -> 128, 65535 -> 255.
    gray16 = np.array([[0, 256], [32768, 65535]], np.uint16)
    skimage.io.imsave(tmp_path / "gray16.png", gray16, check_contrast=False)
    np.testing.assert_array_equal(read_image(tmp_path / "gray16.png")[..., 0],
                                  [[0, 1], [128, 255]])

    # Grayscale from RGB: 0.2125 R + 0.7154 G + 0.0721 B, rounded:
    # red 255 -> 54.19 -> 54; green 255 -> 182.43 -> 182; blue 255 -> 18.39 -> 18;
    # (10, 20, 30) -> 2.125 + 14.308 + 2.163 = 18.596 -> 19.
    skimage.io.imsave(tmp_path / "rgb.png", RGB, check_contrast=False)
    one = read_image(tmp_path / "rgb.png", channel_count=1)
    assert one.shape == (2, 3, 1)
    np.testing.assert_array_equal(one[0, :, 0], [54, 182, 18])
    assert one[1, 0, 0] == 19
    # From bytes, as labelme's imageData.
    data = (tmp_path / "rgb.png").read_bytes()
    np.testing.assert_array_equal(read_image(data), RGB)
    assert image_size(data) == (2, 3)


def test_read_image_wrong_channel_count(tmp_path):
    skimage.io.imsave(tmp_path / "rgb.png", RGB, check_contrast=False)
    with pytest.raises(ValueError, match="the image has 3 channels but 4 are wanted"):
        read_image(tmp_path / "rgb.png", channel_count=4)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 9
    exif = PIL.Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = orientation
    path = tmp_path / "turned.png"
    PIL.Image.fromarray(pixels).save(path, exif=exif)
    with PIL.Image.open(path) as image:
        upright = np.asarray(PIL.ImageOps.exif_transpose(image))
    np.testing.assert_array_equal(read_image(path, exif_orientation=True), upright)
    np.testing.assert_array_equal(read_image(path), pixels)         # as stored
    assert image_size(path, exif_orientation=True) == upright.shape[:2]
    assert image_size(path) == (2, 3)


def test_read_json_errors_name_file_and_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"shapes": [\n  {"label": "a",}\n]}')
    with pytest.raises(DatasetError) as error:
        read_json(path)
    text = str(error.value)
    # Line 2 is '  {"label": "a",}': 2 spaces, "{" at column 3, '"label"' 4-10, ":" 11,
    # " " 12, '"a"' 13-15, "," 16, and the "}" where a property name is expected at 17.
    assert str(path) in text and "line 2 column 17" in text
    assert "Expecting property name" in text
    with pytest.raises(DatasetError, match="cannot read annotation file"):
        read_json(tmp_path / "missing.json")
    # A Python literal is accepted where asked (hand-written .txt shape lists).
    literal = tmp_path / "a.txt"
    literal.write_text("[{'category': '59', 'points': [[1, 2], [3, 4], [5, 6]]}]")
    assert read_json(literal, literal_fallback=True)[0]["category"] == "59"


def test_instances_mask_is_the_union_of_each_instances_drawn_shapes():
    patch = (np.arange(30).reshape(5, 6) % 4 == 0).astype(np.uint8) * 255
    instances = [
        (1, [polygon([2, 30, 25, 3], [1, 4, 20, 18]), disk(10, 12, 5)]),     # overlapping
        (3, [ellipse(25, 10, 8, 3, 0.6), bitmap(27, -2, png_base64(patch))]),  # off the edge
        (2, [rectangle(-5, 15, 40, 17)]),
        (1, [ellipse(5, 5, 0, 3, 0.0)]),                                     # nothing
    ]
    height, width = 22, 31
    mask, class_ids = instances_mask(instances, height, width)
    np.testing.assert_array_equal(class_ids, [1, 3, 2, 1])
    for i, (_, shapes) in enumerate(instances):
        expected = np.zeros((height, width), bool)
        for shape in shapes:
            expected |= draw_shape(shape, height, width)
        np.testing.assert_array_equal(mask[..., i], expected, err_msg=str(i))
    assert mask[..., 0].sum() > 0 and mask[..., 1].sum() > 0
    assert mask[..., 2].sum() == 3 * 31          # rows 15-17, every column
    assert not mask[..., 3].any()
