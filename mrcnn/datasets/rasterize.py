"""What the annotation-file loaders share: shapes drawn into masks, image files read into arrays,
JSON files read with clear errors, and the record of skipped annotations.

The labelme and VIA loaders parse their formats into the shape tuples below, which are drawn
with scikit-image (COCO segmentations are decoded by pycocotools instead). All three loaders
derive from :class:`ImageFileDataset`, which reads images with :func:`read_image` and draws the
masks of the instances stored in image_info.

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
  skip record  (file, what, why) in Dataset.skipped: an annotation a loader did not turn into an
               instance. ``why`` is a short reason shared by all records of the same kind (so
               summary() can count them); ``what`` names the shape/region/annotation.
"""
import ast
import base64
import binascii
import io
import json
import logging
import math
import os

import numpy as np
import PIL.Image
import skimage.color
import skimage.draw
import skimage.io
import skimage.util

from mrcnn.datasets.base import Dataset, DatasetError, few, missing_files_message
from mrcnn.datasets.image_io import (
    EXIF_ORIENTATION_TAG,
    IMAGE_EXTENSIONS,
    image_size,
    is_image_file,
    read_image,
)

__all__ = ["ShapeError", "ImageFileDataset", "polygon", "rectangle", "disk", "ellipse", "bitmap",
           "circle_from_points", "points_array", "draw_shape", "instances_mask", "mask_area",
           "read_image", "image_size", "is_image_file", "read_json", "embedded_image",
           "check_class_names", "IMAGE_EXTENSIONS", "EXIF_ORIENTATION_TAG"]

logger = logging.getLogger(__name__)

#: File name endings (lower case) that the loaders take for images.
class ShapeError(ValueError):
    """A shape that cannot be drawn. Its message is the reason recorded in Dataset.skipped."""


# ------------------------------------------------------------------------------ shapes
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


def draw_shape(shape, height, width):
    """bool [height, width] mask of one shape, clipped to the image."""
    mask = np.zeros((height, width), dtype=bool)
    kind = shape[0]
    if kind == "polygon":
        rr, cc = skimage.draw.polygon(np.asarray(shape[2]), np.asarray(shape[1]),
                                      shape=(height, width))
    elif kind == "disk":
        _, cx, cy, r = shape
        rr, cc = skimage.draw.disk((cy, cx), r, shape=(height, width))
    elif kind == "ellipse":
        _, cx, cy, rx, ry, theta = shape
        if rx <= 0 or ry <= 0:
            return mask
        # skimage turns counter-clockwise in (row, col) terms; VIA's theta turns clockwise.
        rr, cc = skimage.draw.ellipse(cy, cx, ry, rx, shape=(height, width), rotation=-theta)
    elif kind == "bitmap":
        _, x, y, png = shape
        patch = _decode_bitmap(png)
        top, left = max(y, 0), max(x, 0)
        bottom, right = min(y + patch.shape[0], height), min(x + patch.shape[1], width)
        if bottom > top and right > left:
            mask[top:bottom, left:right] = patch[top - y:bottom - y, left - x:right - x]
        return mask
    else:
        raise ValueError("unknown shape kind {!r}".format(kind))
    mask[rr, cc] = True
    return mask


def instances_mask(instances, height, width):
    """(mask bool [height, width, N], class_ids int32 [N]) from N instances (class_id, shapes)."""
    mask = np.zeros((height, width, len(instances)), dtype=bool)
    for i, (_, shapes) in enumerate(instances):
        for shape in shapes:
            mask[..., i] |= draw_shape(shape, height, width)
    class_ids = np.array([class_id for class_id, _ in instances], dtype=np.int32)
    return mask, class_ids


# ------------------------------------------------------------------------------ images
# ------------------------------------------------------------------------------ files
def read_json(path, what="annotation file", literal_fallback=False):
    """The parsed JSON of a file, or DatasetError naming the file and where the JSON breaks.

    literal_fallback: also accept a Python literal (single-quoted strings), as some hand-written
    per-image .txt files hold.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
    except OSError as e:
        raise DatasetError("cannot read {} {}: {}".format(what, path, e.strerror or e)) from None
    except UnicodeDecodeError as e:
        raise DatasetError("{} {} is not UTF-8 text: {}".format(what, path, e)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if literal_fallback:
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                pass
        raise DatasetError("{} {} is not valid JSON: {} at line {} column {} (char {})".format(
            what, path, e.msg, e.lineno, e.colno, e.pos)) from None


def check_class_names(class_names, argument="class_names"):
    """class_names as a list of unique non-empty str, leading "BG" dropped; TypeError/ValueError
    naming the argument otherwise."""
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise TypeError("{} must be a list of str, got {!r}".format(argument, class_names))
    names = list(class_names)
    if names and names[0] == "BG":
        names = names[1:]
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise TypeError("{} must hold non-empty str, got {!r}".format(argument, bad[0]))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError("{} lists {} more than once".format(argument, duplicates))
    if not names:
        raise ValueError("{} is empty".format(argument))
    return names


# ------------------------------------------------------------------------------ dataset
class ImageFileDataset(Dataset):
    """Base of the file loaders: images from files (or bytes embedded in annotation files), masks
    drawn from the instances stored in image_info, skipped annotations recorded and warned about.

    channel_count: channels of the images load_image returns (Config.IMAGE_CHANNEL_COUNT); 3 gives
    RGB as Matterport did. See read_image for 1 and 4.

    image_info entries it reads (besides "path"): "height", "width" (the size annotations refer
    to; a mismatching image is a DatasetError), "instances" (list of (class_id, shapes)),
    "exif_orientation" (bool), "image_data_file" (a JSON file whose "imageData" holds the
    base64 encoded image, read instead of "path" when present; see embedded_image).
    """

    def __init__(self, class_map=None, channel_count=3):
        super().__init__(class_map)
        if isinstance(channel_count, bool) or not isinstance(channel_count, int) \
                or channel_count < 1:
            raise ValueError("channel_count must be a positive int, got {!r}".format(
                channel_count))
        self.channel_count = channel_count
        self._unwarned = []           # skip records not yet in a warning (see _warn_skipped)

    def load_image(self, image_id):
        """uint8 [height, width, channel_count] (RGB by default); see read_image.

        Raises DatasetError naming the image id and path when the file is missing, does not
        decode, or its size differs from the one the annotations were made on.
        """
        info = self._info(self.image_info, image_id, "image")
        path = info["path"]
        try:
            source = embedded_image(info["image_data_file"]) if info.get("image_data_file") \
                else path
            if source is None:
                raise ValueError("it has no path")
            image = read_image(source, self.channel_count, info.get("exif_orientation", False))
        except Exception as e:
            raise DatasetError("cannot load image {} (path {!r}): {}".format(
                image_id, path, e)) from e
        expected = (info.get("height"), info.get("width"))
        if None not in expected and image.shape[:2] != tuple(expected):
            raise DatasetError(
                "image {} (path {!r}) is {}x{} (height x width) but its annotations are for "
                "{}x{}".format(image_id, path, image.shape[0], image.shape[1], *expected))
        return image

    def load_mask(self, image_id):
        """(mask bool [height, width, instances], class_ids int32 [instances]) drawn from the
        image's "instances"; images without instances give [height, width, 0] and [0]."""
        info = self._info(self.image_info, image_id, "image")
        if "instances" not in info:
            return super().load_mask(image_id)
        return instances_mask(info["instances"], info["height"], info["width"])

    def image_reference(self, image_id):
        """The image's path (or the annotation file that embeds it)."""
        info = self._info(self.image_info, image_id, "image")
        return info.get("path") or ""

    def _instance_class_ids(self, image_id):
        info = self._info(self.image_info, image_id, "image")
        if "instances" not in info:
            return super()._instance_class_ids(image_id)
        return [class_id for class_id, _ in info["instances"]]

    def _add_classes(self, source, names, doing):
        """Register names as the source's classes 1..K; DatasetError if an earlier load of the
        same source registered other classes (loading several files into one dataset needs
        the same class_names each time)."""
        registered = [info["name"] for info in self.class_info if info["source"] == source]
        if registered and registered != list(names):
            raise DatasetError(
                "{}: the dataset already holds the {} classes {} from an earlier load, and these "
                "files give {}; pass the same class_names to every load into one dataset"
                .format(doing, source, registered, list(names)))
        for i, name in enumerate(names, start=1):
            self.add_class(source, i, name)

    # -------------------------------------------------------------- skipped annotations
    def _skip(self, file, what, why, warn=True):
        """Record an annotation that does not become an instance; warn=False for deliberate ones
        (an "__ignore__" region) that the end-of-load warning leaves out."""
        record = (os.fspath(file), what, why)
        self.skipped.append(record)
        if warn:
            self._unwarned.append(record)

    def _warn_skipped(self, doing):
        """Log one warning counting the records _skip(warn=True) made since the last call."""
        records, self._unwarned = self._unwarned, []
        if not records:
            return
        by_why = {}
        for file, what, why in records:
            by_why.setdefault(why, []).append("{} {}".format(os.path.basename(file), what))
        parts = []
        for why, where in by_why.items():
            examples = ", ".join(where[:3]) + (", ..." if len(where) > 3 else "")
            parts.append("{} x {} ({})".format(len(where), why, examples))
        logger.warning("%s: skipped %d annotation(s): %s. dataset.summary() lists them all.",
                       doing, len(records), "; ".join(parts))

    def _check_images(self, entries, doing, exif_orientation):
        """Sizes of the images of ``entries`` [(annotation file, image path)], read from their
        headers; one DatasetError counting the missing and unreadable images (a few named)."""
        sizes, missing, unreadable = [], [], []
        for annotation_file, path in entries:
            sizes.append(None)
            if path is None or not os.path.isfile(path):
                missing.append(os.fspath(path) if path is not None else "(no path)")
                continue
            try:
                sizes[-1] = image_size(path, exif_orientation)
            except Exception as e:
                unreadable.append("{} (named in {}): {}".format(path, annotation_file, e))
        problems = [missing_files_message(missing, total=len(entries))] if missing else []
        if unreadable:
            problems.append("{} image(s) unreadable: {}".format(len(unreadable),
                                                                 few(unreadable, sep="; ")))
        if problems:
            raise DatasetError("{}: {}".format(doing, "; ".join(problems)))
        return sizes


def embedded_image(json_path):
    """The encoded image bytes in a labelme JSON file's base64 "imageData"; ValueError if absent
    or not base64."""
    content = read_json(json_path) if json_path else None
    data = content.get("imageData") if isinstance(content, dict) else None
    if not isinstance(data, str) or not data:
        raise ValueError("{} has no imageData".format(json_path))
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raise ValueError("the imageData of {} is not base64".format(json_path)) from None


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
