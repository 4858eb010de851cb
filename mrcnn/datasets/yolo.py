"""YOLO segmentation labels (what Ultralytics and Roboflow export) as a Dataset.

    dataset = YoloSegDataset()
    dataset.load_yolo("coco8-seg/data.yaml", split="val")
    dataset.prepare()

Format:
  data.yaml     ``path`` (the dataset root: absolute, or relative to the yaml's folder; default
                the yaml's folder), ``train`` / ``val`` / ``test`` (each a folder of images, a
                .txt listing image paths, or a list of those, relative to the root; Roboflow's
                "../train/images" is also tried without its "../", as Ultralytics does),
                ``names`` (a list, or a dict {0: name, 1: name, ...}), optional ``nc``.
  label file    the image's path with the last "/images/" turned into "/labels/" and the
                extension into ".txt"; one instance per line:
                  ``class x1 y1 x2 y2 x3 y3 ...``  a polygon (3 or more vertices)
                  ``class xc yc w h``              a box: the rectangle it covers
                class is the 0-based index into names; coordinates are normalized (x / width,
                y / height). An image without a label file, or with an empty one, is background.

Glossary:
  classes        source "yolo", ids 1..K: YOLO class c is class id c + 1, named names[c].
  polygon pixels a vertex (x, y) lands on column x * width, row y * height, on the pixel grid of
                 mrcnn.datasets.rasterize (pixel centres at integers, as Ultralytics' own
                 rasterization draws its label polygons); coordinates are rounded to 1/100 pixel
                 first, so vertices written with the usual 6 decimals land on the pixels meant.
  box pixels     a box spans the image-plane interval [xc - w/2, xc + w/2] * width in pixel-edge
                 coordinates (0 is the left edge of the image), and covers the pixels whose
                 centres lie inside: a box of w = 10 / width covers 10 columns.
  image id       image_info[i]["id"]: the image's path relative to the dataset root, with "/".
Vertices up to 1 % outside [0, 1] are clipped to the image; further out is an error (pixel
coordinates in a file meant to be normalized).
"""
import collections
import glob
import math
import os

import numpy as np
import yaml

from mrcnn.datasets.annotation_files import check_class_names
from mrcnn.datasets.base import DatasetError, few
from mrcnn.datasets.image_files import ImageFileDataset
from mrcnn.datasets.image_io import is_image_file
from mrcnn.datasets.rasterize import ShapeError, mask_area, polygon, rectangle

__all__ = ["YoloSegDataset", "read_data_yaml", "label_path"]

SOURCE = "yolo"
#: How far (as a share of the image side) normalized coordinates may lie outside [0, 1].
COORDINATE_SLACK = 0.01
#: Coordinates are rounded to this many decimals of a pixel before drawing.
PIXEL_DECIMALS = 2


class YoloSegDataset(ImageFileDataset):
    """Ultralytics / Roboflow YOLO segmentation labels (source "yolo"). image_info entries: "id",
    "path", "width", "height", "annotation" (the label file, or None), "instances"
    ([(class_id, shapes)], see mrcnn.datasets.rasterize)."""

    def load_yolo(self, data_yaml, split="train", exif_orientation=True):
        """Load one split of a YOLO segmentation dataset and register its classes and images.

        data_yaml: the dataset's data.yaml.
        split: the data.yaml key of the images to load: "train", "val", "test", ...
        exif_orientation: turn camera images upright by their EXIF tag, as Ultralytics reads
            them (its labels refer to the upright image).

        Raises DatasetError naming the file (and line) for: a data.yaml that does not parse or
        lacks the split or names, image folders or lists that do not exist, missing or
        unreadable images (all listed at once), label lines that are not numbers, class
        indices outside names, coordinates that are not normalized. Lines that cannot become
        instances (an odd number of coordinates, fewer than 3 vertices, a box or polygon that
        covers no pixel) are skipped with one counted warning and recorded in ``skipped``.
        """
        data_yaml = os.fspath(data_yaml)
        doing = "load_yolo({}, {!r})".format(data_yaml, split)
        data, root, names = read_data_yaml(data_yaml)
        if not data.get(split):
            raise DatasetError("{}: {} has no {!r} images; its keys: {}".format(
                doing, data_yaml, split, ", ".join(map(str, data))))
        images = _split_images(data[split], root, data_yaml, split)
        if not images:
            raise DatasetError("{}: the {!r} entry of {} names no image".format(
                doing, split, data_yaml))
        repeated = sorted(p for p, n in collections.Counter(images).items() if n > 1)
        if repeated:
            raise DatasetError("{}: images listed more than once: {}".format(doing, few(repeated)))
        sizes = self._check_images([(data_yaml, p) for p in images], doing, exif_orientation)

        self._add_classes(SOURCE, names, doing)
        for path, (height, width) in zip(images, sizes):
            annotation = label_path(path)
            instances = []
            if os.path.isfile(annotation):
                instances = self._read_labels(annotation, len(names), height, width)
            else:
                annotation = None
            image_id = os.path.relpath(path, root).replace(os.sep, "/")
            self.add_image(SOURCE, image_id=image_id, path=path, width=width, height=height,
                           annotation=annotation, exif_orientation=exif_orientation,
                           instances=instances)
        self._warn_skipped(doing)

    def _read_labels(self, path, num_classes, height, width):
        """[(class_id, [shape])] of a label file; DatasetError for lines that are not numbers or
        hold a class outside names or unnormalized coordinates."""
        try:
            with open(path, encoding="utf-8-sig") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError("cannot read YOLO label file {}: {}".format(path, e)) from None
        instances = []
        for number, line in enumerate(lines, start=1):
            tokens = line.split()
            if not tokens:
                continue
            what = "line {}".format(number)

            def fail(reason, number=number, line=line):
                return DatasetError("YOLO label file {} line {}: {}: {!r}".format(
                    path, number, reason, line.strip()[:80]))

            try:
                values = [float(t) for t in tokens]
            except ValueError:
                raise fail("not a list of numbers") from None
            class_index = values[0]
            if class_index != int(class_index) or not 0 <= class_index < num_classes:
                raise fail("class {} is not an index into the {} names of data.yaml".format(
                    tokens[0], num_classes))
            coordinates = values[1:]
            if any(not -COORDINATE_SLACK <= c <= 1 + COORDINATE_SLACK for c in coordinates):
                raise fail("coordinates outside 0..1; YOLO coordinates are normalized "
                           "(x / image width, y / image height)")
            try:
                shape = _shape(coordinates, height, width)
            except ShapeError as e:
                self._skip(path, what, str(e))
                continue
            if not _covers_pixels(shape, height, width, box=len(coordinates) == 4):
                self._skip(path, what, "zero-area {} (no pixel inside the image)".format(
                    "box" if len(coordinates) == 4 else "polygon"))
                continue
            instances.append((int(class_index) + 1, [shape]))
        return instances


def _shape(coordinates, height, width):
    """The rasterize shape of a label line's coordinates, or ShapeError."""
    count = len(coordinates)
    if count == 4:
        xc, yc, w, h = coordinates
        if w <= 0 or h <= 0:
            raise ShapeError("box without area")
        # Edge coordinates to the pixel-centre grid: pixel c spans [c, c + 1], centre c + 0.5.
        x1, x2 = (xc - w / 2) * width - 0.5, (xc + w / 2) * width - 0.5
        y1, y2 = (yc - h / 2) * height - 0.5, (yc + h / 2) * height - 0.5
        return rectangle(*(round(v, PIXEL_DECIMALS) for v in (x1, y1, x2, y2)))
    if count % 2:
        raise ShapeError("odd number of coordinates (neither a box nor a polygon)")
    if count < 6:
        raise ShapeError("polygon with fewer than 3 points")
    xs = [round(x * width, PIXEL_DECIMALS) for x in coordinates[0::2]]
    ys = [round(y * height, PIXEL_DECIMALS) for y in coordinates[1::2]]
    return polygon(xs, ys)


def _covers_pixels(shape, height, width, box):
    """Whether a polygon covers a pixel centre of the image, without drawing it where its
    outline settles that: none when its bounding box holds no pixel centre of the image; some
    for a box (axis-aligned) with one, and for a polygon inside the image whose area is at
    least its perimeter (a convex one then holds a disk of radius >= area / perimeter >= 1,
    and every disk of radius 0.71 holds a pixel centre). Other polygons are drawn
    (mrcnn.datasets.rasterize.mask_area): drawing every polygon at load time costs milliseconds
    each, minutes for a large YOLO set."""
    xs, ys = np.asarray(shape[1]), np.asarray(shape[2])
    if max(math.ceil(xs.min()), 0) > min(math.floor(xs.max()), width - 1) \
            or max(math.ceil(ys.min()), 0) > min(math.floor(ys.max()), height - 1):
        return False
    if box:
        return True
    inside = xs.min() >= 0 and ys.min() >= 0 and xs.max() <= width - 1 \
        and ys.max() <= height - 1
    area = 0.5 * abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))
    perimeter = np.hypot(np.diff(xs, append=xs[:1]), np.diff(ys, append=ys[:1])).sum()
    if inside and area >= perimeter > 0:
        return True
    return mask_area([shape], height, width) > 0


def label_path(image_path):
    """The label file of an image, as Ultralytics finds it: the last "/images/" of the path
    turned into "/labels/", the extension into ".txt"."""
    image_path = os.fspath(image_path)
    sep = os.sep
    marker = "{}images{}".format(sep, sep)
    head, found, tail = image_path.rpartition(marker)
    if found:
        image_path = head + "{}labels{}".format(sep, sep) + tail
    return os.path.splitext(image_path)[0] + ".txt"


def read_data_yaml(data_yaml):
    """(data dict, root folder, class names) of a data.yaml; DatasetError naming the file."""
    try:
        with open(data_yaml, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise DatasetError("cannot read YOLO data file {}: {}".format(
            data_yaml, e.strerror or e)) from None
    except yaml.YAMLError as e:
        raise DatasetError("YOLO data file {} is not valid YAML: {}".format(data_yaml, e)) \
            from None
    if not isinstance(data, dict):
        raise DatasetError("YOLO data file {}: expected a mapping with path, train, val and "
                           "names, got {}".format(data_yaml, type(data).__name__))
    names = data.get("names")
    if isinstance(names, dict):
        try:
            indexed = {int(k): v for k, v in names.items()}
        except (TypeError, ValueError):
            raise DatasetError("YOLO data file {}: names keys must be class indices 0, 1, ..., "
                               "got {}".format(data_yaml, list(names))) from None
        if sorted(indexed) != list(range(len(indexed))):
            raise DatasetError("YOLO data file {}: names keys must be 0..{} without gaps, got "
                               "{}".format(data_yaml, len(indexed) - 1, sorted(indexed)))
        names = [indexed[i] for i in range(len(indexed))]
    if not isinstance(names, list) or not names:
        raise DatasetError("YOLO data file {}: 'names' must be a list or a dict {{0: name, ...}} "
                           "of the classes".format(data_yaml))
    names = [str(n) if isinstance(n, (int, float)) and not isinstance(n, bool) else n
             for n in names]
    if names[0] == "BG":
        raise DatasetError("YOLO data file {}: class 0 is named 'BG', the name of the "
                           "background here; rename it".format(data_yaml))
    try:
        names = check_class_names(names, argument="names in {}".format(data_yaml))
    except (TypeError, ValueError) as e:
        raise DatasetError(str(e)) from None
    nc = data.get("nc")
    if nc is not None and nc != len(names):
        raise DatasetError("YOLO data file {}: nc is {} but names lists {} classes".format(
            data_yaml, nc, len(names)))
    base = os.path.dirname(os.path.abspath(data_yaml))
    root = data.get("path")
    root = base if not root else os.path.join(base, os.path.expanduser(str(root)))
    return data, os.path.normpath(root), names


def _split_images(entry, root, data_yaml, split):
    """Sorted-per-entry image paths of a split entry: folders (searched recursively), .txt
    lists (paths relative to the list's folder) or image files; DatasetError for paths that do
    not exist."""
    entries = entry if isinstance(entry, list) else [entry]
    images = []
    for item in entries:
        item = str(item)
        path = os.path.normpath(os.path.join(root, item))
        if not os.path.exists(path) and item.startswith("../"):
            path = os.path.normpath(os.path.join(root, item[3:]))    # Roboflow's exports
        if os.path.isdir(path):
            found = glob.glob(os.path.join(glob.escape(path), "**", "*"), recursive=True)
            images += sorted(p for p in found if is_image_file(p) and os.path.isfile(p))
        elif os.path.isfile(path) and path.lower().endswith(".txt"):
            images += _list_file(path)
        elif os.path.isfile(path) and is_image_file(path):
            images.append(path)
        else:
            raise DatasetError("YOLO data file {}: {} {!r} is {} (looked for {})".format(
                data_yaml, split, item, "not an image folder, .txt list or image"
                if os.path.exists(path) else "not found", path))
    return images


def _list_file(path):
    """Image paths of a .txt image list (one per line, relative to the list's folder)."""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    base = os.path.dirname(path)
    return [os.path.normpath(os.path.join(base, line)) for line in lines
            if line and not line.startswith("#")]
