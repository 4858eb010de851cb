"""VGG Image Annotator (VIA) exports as a Dataset.

    dataset = ViaDataset()
    dataset.load_via("balloon/train/via_region_data.json", class_names=["balloon"])
    dataset.prepare()

Formats (all JSON, told apart by their content):
  VIA 1.x        {"<filename><size>": {"filename", "size", "regions": {"0": region, ...},
                 "file_attributes", ...}, ...}, as in Matterport's balloon sample.
  VIA 2.x        the same with "regions" as a list; a saved VIA 2 project holds it under
                 "_via_img_metadata".
  region         {"shape_attributes": {"name": ..., ...}, "region_attributes": {...}}. Shapes:
                 polygon (all_points_x, all_points_y), rect (x, y, width, height),
                 circle (cx, cy, r), ellipse (cx, cy, rx, ry[, theta]); polyline and point have
                 no area and are skipped with a counted warning.

Glossary:
  class_key      the region_attributes key holding the class name ("class_id", "label", ...);
                 "a.b" looks up region_attributes["a"]["b"] in nested attributes. A checkbox
                 attribute ({"dog": true, "cat": false}) gives the one option that is checked.
                 Without class_key every region is of one class.
  classes        source "via", ids 1..K in class_names order, else in sorted name order.
  image id       image_info[i]["id"] is the image's file name.
Each region is one instance. Coordinates follow mrcnn.datasets.rasterize (pixel centres at
integers, as Matterport's balloon sample drew them); shapes are clipped to the image, whose size
is read from the image file.
"""
import collections
import os

from mrcnn.datasets.base import DatasetError
from mrcnn.datasets.rasterize import (ImageFileDataset, ShapeError, check_class_names, disk,
                                      ellipse, mask_area, polygon, read_json, rectangle)

__all__ = ["ViaDataset", "DEFAULT_CLASS_NAME"]

SOURCE = "via"
#: The class of every region when neither class_key nor class_names names one.
DEFAULT_CLASS_NAME = "object"
#: Shapes without area: skipped with a counted warning.
LINE_SHAPES = ("polyline", "point")


class ViaDataset(ImageFileDataset):
    """VIA 1.x / 2.x annotations (source "via"). image_info entries: "id" (file name), "path",
    "width", "height", "annotation" (the json), "instances" ([(class_id, shapes)], see
    mrcnn.datasets.rasterize)."""

    def load_via(self, json_path, image_dir=None, class_key=None, class_names=None,
                 keep_unannotated=False, exif_orientation=False):
        """Load a VIA json export and register its classes and images.

        json_path: the VIA 1.x / 2.x export (e.g. via_region_data.json) or VIA 2 project file.
        image_dir: folder of the images; default: the json's folder.
        class_key: region_attributes key of the class name (dotted for nested attributes).
            Regions without it (or with an empty value) are skipped and reported, counted and
            named. None: all regions are of one class, named class_names[0] when given, else
            "object".
        class_names: the classes to load, in id order (a leading "BG" is dropped); regions of
            other classes are skipped with a counted warning. Default: the class names found,
            sorted. Pass it so that train and val number classes alike.
        keep_unannotated: also load images without any region (as background). By default they
            are left out, as in Matterport's balloon sample (VIA lists every image it was shown).
        exif_orientation: turn camera images upright by their EXIF tag. Off by default: VIA 1
            and older browsers showed images as stored; set it when the annotator's browser
            turned the images (today's browsers do).

        Raises DatasetError for malformed json (naming file and position), a layout that is not
        VIA 1.x / 2.x, and, all at once, missing or unreadable images. Regions that cannot become
        instances (polylines, polygons with fewer than 3 points, zero-area regions, regions
        without a class) are skipped with one counted warning and recorded in ``skipped``.
        """
        json_path = os.fspath(json_path)
        image_dir = os.path.dirname(json_path) if image_dir is None else os.fspath(image_dir)
        doing = "load_via({})".format(json_path)
        if class_names is not None:
            class_names = check_class_names(class_names)
        if class_key is None and class_names is not None and len(class_names) > 1:
            raise ValueError("{}: class_names lists {} classes but class_key is None, so "
                             "regions cannot be told apart; name the region attribute that "
                             "holds the class with class_key".format(doing, len(class_names)))
        if class_key is not None and (not isinstance(class_key, str) or not class_key):
            raise TypeError("class_key must be a non-empty str, got {!r}".format(class_key))
        single = (class_names or [DEFAULT_CLASS_NAME])[0] if class_key is None else None

        entries = _entries(read_json(json_path, "VIA file"), json_path)

        records = []
        for key, entry in entries:
            regions = entry["regions"]
            regions = list(regions.values()) if isinstance(regions, dict) else regions
            if not regions and not keep_unannotated:
                self._skip(json_path, "image {}".format(entry["filename"]),
                           "image without regions (keep_unannotated=False)", warn=False)
                continue
            shapes = []
            for index, region in enumerate(regions):
                parsed = self._region(region, index, entry["filename"], json_path,
                                      class_key, single)
                if parsed is not None:
                    shapes.append(parsed)
            records.append({"filename": entry["filename"],
                            "path": os.path.join(image_dir, entry["filename"]),
                            "shapes": shapes})
        names_seen = collections.Counter(r["filename"] for r in records)
        repeated = sorted(name for name, n in names_seen.items() if n > 1)
        if repeated:
            raise DatasetError("{}: the file names {} appear more than once".format(
                doing, repeated))

        sizes = self._check_images([(json_path, r["path"]) for r in records], doing,
                                   exif_orientation)

        if class_names is not None:
            names = class_names
        elif single is not None:
            names = [single]
        else:
            names = sorted({label for r in records for label, _, _ in r["shapes"]})
        class_id_of = {name: i for i, name in enumerate(names, start=1)}
        self._add_classes(SOURCE, names, doing)

        for r, (height, width) in zip(records, sizes):
            instances = []
            for label, index, shape in r["shapes"]:
                what = "image {} region {}".format(r["filename"], index)
                if label not in class_id_of:
                    self._skip(json_path, "{} (class {!r})".format(what, label),
                               "class not in class_names")
                elif mask_area([shape], height, width) == 0:
                    self._skip(json_path, what, "zero-area region (no pixel inside the image)")
                else:
                    instances.append((class_id_of[label], [shape]))
            self.add_image(SOURCE, image_id=r["filename"], path=r["path"], width=width,
                           height=height, annotation=json_path,
                           exif_orientation=exif_orientation, instances=instances)
        self._warn_skipped(doing)

    def _region(self, region, index, filename, json_path, class_key, single):
        """(class name, region index, shape) of a region, or None (recorded as skipped)."""
        what = "image {} region {}".format(filename, index)
        if not isinstance(region, dict) or not isinstance(region.get("shape_attributes"), dict):
            self._skip(json_path, what, "region without shape_attributes")
            return None
        attributes = region.get("region_attributes") or {}
        if class_key is None:
            label = single
        else:
            label, problem = _class_of(attributes, class_key)
            if problem:
                self._skip(json_path, what, problem.format(key=class_key))
                return None
        shape = region["shape_attributes"]
        name = shape.get("name")
        if name in LINE_SHAPES:
            self._skip(json_path, what, "{} region (not an area)".format(name))
            return None
        try:
            if name == "polygon":
                drawn = polygon(_list(shape, "all_points_x"), _list(shape, "all_points_y"))
            elif name == "rect":
                x, y, w, h = (_number(shape, k) for k in ("x", "y", "width", "height"))
                drawn = rectangle(x, y, x + w, y + h)
            elif name == "circle":
                drawn = disk(*(_number(shape, k) for k in ("cx", "cy", "r")))
            elif name == "ellipse":
                drawn = ellipse(*(_number(shape, k) for k in ("cx", "cy", "rx", "ry")),
                                theta=shape.get("theta", 0.0))
            else:
                raise ShapeError("unknown shape name {!r}".format(name))
        except ShapeError as e:
            self._skip(json_path, what, "{} ({} region)".format(e, name))
            return None
        return label, index, drawn


def _entries(content, json_path):
    """[(key, file entry)] of a VIA 1.x / 2.x export or VIA 2 project; DatasetError otherwise."""
    def fail(message):
        return DatasetError("VIA file {}: {}".format(json_path, message))

    if isinstance(content, dict) and "_via_img_metadata" in content:
        content = content["_via_img_metadata"]
    elif isinstance(content, dict) and {"project", "file", "metadata"} <= set(content):
        raise fail("this is a VIA 3 project, which is not supported; export the annotations "
                   "from VIA as COCO json and load them with CocoDataset")
    if not isinstance(content, dict):
        raise fail("expected a JSON object of images, got a {}".format(type(content).__name__))
    entries = []
    for key, entry in content.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str) \
                or not isinstance(entry.get("regions", []), (list, dict)):
            raise fail("entry {!r} is not a VIA image entry (with 'filename' and a 'regions' "
                       "list or dict)".format(key))
        entries.append((key, dict(entry, regions=entry.get("regions", []))))
    return entries


def _class_of(attributes, class_key):
    """(class name, None), or (None, reason) for a region without a usable class."""
    value = attributes.get(class_key, _MISSING) if isinstance(attributes, dict) else _MISSING
    if value is _MISSING and "." in class_key:
        value = attributes
        for part in class_key.split("."):
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
    if isinstance(value, dict):                         # checkbox: {"option": true, ...}
        checked = [k for k, v in value.items() if v]
        if len(checked) > 1:
            return None, "region with several '{key}' options checked"
        value = checked[0] if checked else _MISSING
    if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None, "region without a '{key}' class"
    if isinstance(value, (list, tuple)):
        return None, "region whose '{key}' is a list"
    return str(value).strip(), None


_MISSING = object()


def _list(shape, key):
    value = shape.get(key)
    if not isinstance(value, list):
        raise ShapeError("no {} list".format(key))
    return value


def _number(shape, key):
    value = shape.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ShapeError("no number {}".format(key))
    return value
