"""Shapes drawn into masks: the shape tuples the annotation-file loaders parse their formats into,
drawn with scikit-image (COCO segmentations are decoded by pycocotools instead).

Glossary:
  (x, y)       annotation tools' coordinates: x is the column, y the row, in pixels. A pixel's
               centre sits at integer (x, y) (scikit-image's convention, the one Matterport's
               balloon sample used with skimage.draw.polygon), so a polygon covers the pixels whose
               centres lie inside it or on its outline; a disk or ellipse the pixels whose centres
               lie strictly inside. Vertices outside the image are allowed: shapes are clipped.
  shape        a picklable tuple describing one drawn region:
                 ("polygon", xs, ys)                    vertices; the polygon closes itself.
                                                       Rectangles are 4-vertex polygons.
                 ("disk", cx, cy, r)
                 ("ellipse", cx, cy, rx, ry, theta)     theta: rotation in radians, clockwise on
                                                       screen (y points down), as VIA draws it.
                 ("bitmap", x, y, png_base64)           labelme 5 "mask": a PNG whose top-left
                                                       pixel lands on column x, row y.
  instance     (class_id, [shape, ...]): one object; its mask is the union of its shapes.
               class_id is the internal class id (1 .. num_classes - 1).
  mask         bool [height, width] for one shape; bool [height, width, instances] for an image.
"""
import base64
import binascii
import io
import math

import numpy as np
import PIL.Image
import skimage.draw

from mrcnn.core.masks import crop_from_pixels

__all__ = ["ShapeError", "polygon", "rectangle", "disk", "ellipse", "bitmap",
           "circle_from_points", "points_array", "draw_shape", "instances_mask", "mask_area"]


class ShapeError(ValueError):
    """A shape that cannot be drawn. Its message is the reason recorded in Dataset.skipped."""


def points_array(points, min_points=1):
    """float64 [N, 2] (x, y) points from a list of [x, y] pairs, or ShapeError.

    min_points: fewer points than this give ShapeError "fewer than <min_points> points".
    """
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ShapeError("points are not a list of [x, y] numbers") from None
    if array.ndim != 2 or array.shape[1] != 2:
        if array.size == 0:
            array = array.reshape(0, 2)
        else:
            raise ShapeError("points are not a list of [x, y] numbers")
    if not np.isfinite(array).all():
        raise ShapeError("points are not finite numbers")
    if len(array) < min_points:
        raise ShapeError("fewer than {} points".format(min_points))
    return array


def polygon(xs, ys):
    """("polygon", xs, ys) from vertex coordinates; ShapeError for fewer than 3 vertices or
    coordinate lists of different lengths."""
    xs, ys = list(xs), list(ys)
    if len(xs) != len(ys):
        raise ShapeError("x and y coordinate lists differ in length")
    points = points_array(list(zip(xs, ys)), min_points=0)
    if len(points) < 3:
        raise ShapeError("polygon with fewer than 3 points")
    return ("polygon", tuple(points[:, 0].tolist()), tuple(points[:, 1].tolist()))


def rectangle(x1, y1, x2, y2):
    """The polygon of the rectangle with corners (x1, y1) and (x2, y2), in any order. With
    integer corners it covers columns min(x1, x2) .. max(x1, x2) inclusive (and the same rows)."""
    left, right = sorted((float(x1), float(x2)))
    top, bottom = sorted((float(y1), float(y2)))
    return polygon([left, right, right, left], [top, top, bottom, bottom])


def disk(cx, cy, r):
    """("disk", cx, cy, r); ShapeError for a negative or non-finite radius."""
    values = points_array([[cx, cy], [r, 0]])
    if values[1, 0] < 0:
        raise ShapeError("negative radius")
    return ("disk", values[0, 0], values[0, 1], values[1, 0])


def ellipse(cx, cy, rx, ry, theta=0.0):
    """("ellipse", cx, cy, rx, ry, theta); theta rotates clockwise on screen (radians)."""
    values = points_array([[cx, cy], [rx, ry], [theta, 0]])
    if (values[1] < 0).any():
        raise ShapeError("negative radius")
    return ("ellipse",) + tuple(values[0]) + tuple(values[1]) + (values[2, 0],)


def bitmap(x, y, png_base64):
    """("bitmap", column, row, png_base64) with the PNG checked to decode; the top-left corner is
    truncated to int as labelme does."""
    x, y = points_array([[x, y]])[0]
    _decode_bitmap(png_base64)
    return ("bitmap", int(x), int(y), png_base64)


def _decode_bitmap(png_base64):
    """bool [h, w] from a base64 PNG (nonzero pixels are True), or ShapeError."""
    if not isinstance(png_base64, str) or not png_base64:
        raise ShapeError("mask shape without base64 'mask' data")
    try:
        data = base64.b64decode(png_base64, validate=False)
        array = np.asarray(PIL.Image.open(io.BytesIO(data)))
    except (binascii.Error, OSError, ValueError):
        raise ShapeError("mask data is not a base64 image") from None
    if array.ndim == 3:
        array = array[..., 0]
    return array.astype(bool)


def shape_pixels(shape, height, width):
    """(rows, cols) int arrays of the pixels one shape covers, clipped to the image."""
    kind = shape[0]
    if kind == "polygon":
        return skimage.draw.polygon(np.asarray(shape[2]), np.asarray(shape[1]),
                                    shape=(height, width))
    if kind == "disk":
        _, cx, cy, r = shape
        return skimage.draw.disk((cy, cx), r, shape=(height, width))
    if kind == "ellipse":
        _, cx, cy, rx, ry, theta = shape
        if rx <= 0 or ry <= 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        # skimage turns counter-clockwise in (row, col) terms; VIA's theta turns clockwise.
        return skimage.draw.ellipse(cy, cx, ry, rx, shape=(height, width), rotation=-theta)
    if kind == "bitmap":
        _, x, y, png = shape
        patch = _decode_bitmap(png)
        top, left = max(y, 0), max(x, 0)
        bottom, right = min(y + patch.shape[0], height), min(x + patch.shape[1], width)
        if bottom <= top or right <= left:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        rows, cols = np.nonzero(patch[top - y:bottom - y, left - x:right - x])
        return rows + top, cols + left
    raise ValueError("unknown shape kind {!r}".format(kind))


def draw_shape(shape, height, width):
    """bool [height, width] mask of one shape, clipped to the image."""
    mask = np.zeros((height, width), dtype=bool)
    mask[shape_pixels(shape, height, width)] = True
    return mask


def instances_mask(instances, height, width):
    """(mask bool [height, width, N], class_ids int32 [N]) from N instances (class_id, shapes).

    Each shape's pixels are set in its instance's channel directly (no full-size mask per
    shape: for a photo with 100 instances that alone took most of load_mask's time)."""
    mask = np.zeros((height, width, len(instances)), dtype=bool)
    for i, (_, shapes) in enumerate(instances):
        for shape in shapes:
            rows, cols = shape_pixels(shape, height, width)
            mask[rows, cols, i] = True
    class_ids = np.array([class_id for class_id, _ in instances], dtype=np.int32)
    return mask, class_ids


def instance_crops(instances, height, width):
    """(crops, class_ids int32 [N]) of the instances of instances_mask, as mask crops (see
    mrcnn.core.masks): the same pixels, without the [height, width, N] array."""
    crops = []
    for _, shapes in instances:
        pixels = [shape_pixels(shape, height, width) for shape in shapes]
        rows = np.concatenate([np.zeros(0, np.intp)] + [r for r, _ in pixels])
        cols = np.concatenate([np.zeros(0, np.intp)] + [c for _, c in pixels])
        crops.append(crop_from_pixels(rows, cols))
    class_ids = np.array([class_id for class_id, _ in instances], dtype=np.int32)
    return crops, class_ids


def mask_area(instance_shapes, height, width):
    """Number of pixels the union of the shapes covers."""
    mask = np.zeros((height, width), dtype=bool)
    for shape in instance_shapes:
        mask |= draw_shape(shape, height, width)
    return int(mask.sum())


def circle_from_points(points):
    """("disk", ...) from labelme's two circle points: the centre and a point on the rim."""
    points = points_array(points)
    if len(points) != 2:
        raise ShapeError("circle without exactly 2 points (centre, rim)")
    (cx, cy), (px, py) = points
    return disk(cx, cy, math.hypot(px - cx, py - cy))
