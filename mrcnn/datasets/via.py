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
  group_key      the region_attributes key (dotted as class_key) whose value ties regions of
                 one image together: regions with the same non-empty value are one instance,
                 the union of their shapes (VIA has no groups of its own). Pre-label projects
                 (mrcnn.datasets.prelabel.write_via) mark the parts of one detection with
                 GROUP_KEY.
  classes        source "via", ids 1..K in class_names order, else in sorted name order.
  image id       image_info[i]["id"] is the image's file name.
Each region is one instance, unless group_key joins it with others. Coordinates follow
mrcnn.datasets.rasterize (pixel centres at integers, as Matterport's balloon sample drew them);
shapes are clipped to the image, whose size is read from the image file.
"""
import collections
import logging
import os

from mrcnn.datasets.annotation_files import check_class_names, read_json
from mrcnn.datasets.base import DatasetError, few
from mrcnn.datasets.image_files import ImageFileDataset
from mrcnn.datasets.rasterize import ShapeError, disk, ellipse, mask_area, polygon, rectangle

__all__ = ["ViaDataset", "DEFAULT_CLASS_NAME", "GROUP_KEY"]

logger = logging.getLogger(__name__)

SOURCE = "via"
#: The region attribute that numbers instances in the pre-label projects write_via writes: the
#: parts of one detection share its value. Load them with load_via(..., group_key=GROUP_KEY).
GROUP_KEY = "instance"
#: The class of every region when neither class_key nor class_names names one.
DEFAULT_CLASS_NAME = "object"
#: Shapes without area: skipped with a counted warning.
LINE_SHAPES = ("polyline", "point")


class ViaDataset(ImageFileDataset):
    """VIA 1.x / 2.x annotations (source "via"). image_info entries: "id" (file name), "path",
    "width", "height", "annotation" (the json), "instances" ([(class_id, shapes)], see
    mrcnn.datasets.rasterize)."""

    def load_via(self, json_path, image_dir=None, class_key=None, class_names=None,
                 keep_unannotated=False, exif_orientation=False, group_key=None):
        """Load a VIA json export and register its classes and images.

        json_path: the VIA 1.x / 2.x export (e.g. via_region_data.json) or VIA 2 project file.
        image_dir: folder of the images; default: the json's folder.
        class_key: region_attributes key of the class name (dotted for nested attributes).
            Regions without it (or with an empty value) are skipped and reported, counted and
            named. None: all regions are of one class, named class_names[0] when given, else
            "object"; a warning names the region attributes the regions carry (a few of their
            values) and the class_key that would use them.
        class_names: the classes to load, in id order (a leading "BG" is dropped); regions of
            other classes are skipped with a counted warning. Default: the options of the
            class_key attribute where the file defines them (a VIA 2 project's
            "_via_attributes", in their order), then the other class names found, sorted.
            Pass it so that train and val number classes alike.
        keep_unannotated: also load images without any region (as background). By default they
            are left out, as in Matterport's balloon sample (VIA lists every image it was shown).
        exif_orientation: turn camera images upright by their EXIF tag. Off by default: VIA 1
            and older browsers showed images as stored; set it when the annotator's browser
            turned the images (today's browsers do).
        group_key: region_attributes key (dotted for nested attributes) whose value makes
            instances of several regions: the regions of one image with the same non-empty
            value are one instance (the union of their shapes), in the place of the first of
            them; regions without it (or with an empty value) stay one instance each. Use
            GROUP_KEY ("instance") for projects written by mrcnn.datasets.prelabel.write_via.
            None (the default): every region is an instance, as VIA files have always loaded
            here; a warning then tells of regions that share a GROUP_KEY value.

        Raises DatasetError for malformed json (naming file and position), a layout that is not
        VIA 1.x / 2.x, regions of one group with different classes (naming file, image and
        regions), and, all at once, missing or unreadable images. Regions that cannot become
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
        if group_key is not None and (not isinstance(group_key, str) or not group_key):
            raise TypeError("group_key must be a non-empty str, got {!r}".format(group_key))
        if group_key is not None and group_key == class_key:
            raise ValueError("{}: group_key and class_key are both {!r}: grouping by the class "
                             "would make all regions of a class one instance".format(
                                 doing, group_key))
        single = (class_names or [DEFAULT_CLASS_NAME])[0] if class_key is None else None

        content = read_json(json_path, "VIA file")
        entries = _entries(content, json_path)
        if class_key is None:
            _warn_unchosen_attributes(entries, doing, single, group_key)

        records, ungrouped = [], []
        for _key, entry in entries:
            regions = entry["regions"]
            regions = list(regions.values()) if isinstance(regions, dict) else regions
            if not regions and not keep_unannotated:
                self._skip(json_path, "image {}".format(entry["filename"]),
                           "image without regions (keep_unannotated=False)", warn=False)
                continue
            parsed = []
            for index, region in enumerate(regions):
                item = self._region(region, index, entry["filename"], json_path,
                                    class_key, single, group_key)
                if item is not None:
                    parsed.append(item)
            if group_key is None and _shares_group(regions):
                ungrouped.append(entry["filename"])
            records.append({"filename": entry["filename"],
                            "path": os.path.join(image_dir, entry["filename"]),
                            "instances": _grouped(parsed, entry["filename"], doing,
                                                  group_key)})
        names_seen = collections.Counter(r["filename"] for r in records)
        repeated = sorted(name for name, n in names_seen.items() if n > 1)
        if repeated:
            raise DatasetError("{}: the file names {} appear more than once".format(
                doing, few(repeated)))

        sizes = self._check_images([(json_path, r["path"]) for r in records], doing,
                                   exif_orientation)

        if class_names is not None:
            names = class_names
        elif single is not None:
            names = [single]
        else:
            found = {item["label"] for r in records for item in r["instances"]}
            options = _attribute_options(content, class_key)
            names = options + sorted(found - set(options))
        class_id_of = {name: i for i, name in enumerate(names, start=1)}
        self._add_classes(SOURCE, names, doing)

        for r, (height, width) in zip(records, sizes):
            instances = []
            for item in r["instances"]:
                indexes = item["indexes"]
                what = "image {} region{} {}".format(r["filename"], "s" if len(indexes) > 1
                                                     else "", ", ".join(map(str, indexes)))
                if item["label"] not in class_id_of:
                    self._skip(json_path, "{} (class {!r})".format(what, item["label"]),
                               "class not in class_names")
                elif mask_area(item["shapes"], height, width) == 0:
                    self._skip(json_path, what, "zero-area region (no pixel inside the image)")
                else:
                    instances.append((class_id_of[item["label"]], item["shapes"]))
            self.add_image(SOURCE, image_id=r["filename"], path=r["path"], width=width,
                           height=height, annotation=json_path,
                           exif_orientation=exif_orientation, instances=instances)
        self._warn_skipped(doing)
        if ungrouped:
            logger.warning(
                "%s: regions share a '%s' value in %d image(s) (%s), as in the pre-label "
                "projects write_via writes, where they are the parts of one detection; each "
                "region was loaded as an instance of its own: pass group_key=%r to load them "
                "as one.", doing, GROUP_KEY, len(ungrouped),
                ", ".join(ungrouped[:3]) + (", ..." if len(ungrouped) > 3 else ""), GROUP_KEY)

    def _region(self, region, index, filename, json_path, class_key, single, group_key):
        """(class name, region index, shape, group value or None) of a region, or None
        (recorded as skipped)."""
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
        group = None
        if group_key is not None:
            group, problem = _attribute(attributes, group_key)
            if problem:
                self._skip(json_path, what, problem.format(key=group_key))
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
        return label, index, drawn, group


def _warn_unchosen_attributes(entries, doing, single, group_key):
    """Log a warning when regions loaded as the one class ``single`` carry region attributes
    with values (those of group_key and GROUP_KEY left out): the attributes, a few values of
    each, and the class_key to pass."""
    values, left_out = {}, {GROUP_KEY, (group_key or "").partition(".")[0]}
    for _, entry in entries:
        regions = entry["regions"]
        for region in regions.values() if isinstance(regions, dict) else regions:
            attributes = region.get("region_attributes") if isinstance(region, dict) else None
            for key in attributes if isinstance(attributes, dict) else ():
                value, _ = _attribute(attributes, key)
                if value is not None and key not in left_out:
                    values.setdefault(key, set()).add(value)
    if not values:
        return
    best = max(values, key=lambda key: len(values[key]))       # the first of the most varied
    described = ["'{}' ({} value{}: {})".format(key, len(found), "" if len(found) == 1 else "s",
                                                few(sorted(found)))
                 for key, found in values.items()]
    logger.warning("%s: every region was loaded as the one class %r, but the regions carry the "
                   "region attribute(s) %s; to take the classes from one, pass class_key=%r "
                   "(command line: add :class_key=%s to the via: spec).", doing, single,
                   ", ".join(described), best, best)


def _attribute_options(content, key):
    """The option names a VIA 2 project defines for the region attribute ``key`` (dropdown,
    radio or checkbox; in their order), or []."""
    definitions = content.get("_via_attributes") if isinstance(content, dict) else None
    region = definitions.get("region") if isinstance(definitions, dict) else None
    definition = region.get(key) if isinstance(region, dict) else None
    options = definition.get("options") if isinstance(definition, dict) else None
    if not isinstance(options, dict):
        return []
    return list(dict.fromkeys(str(name).strip() for name in options if str(name).strip()))


def _grouped(parsed, filename, doing, group_key):
    """The instances of one image's parsed regions: dicts "label", "indexes" (region indexes)
    and "shapes", one per region without a group value and one per group value (in the place
    of its first region). DatasetError for a group whose regions have different classes."""
    instances, by_group = [], {}
    for label, index, shape, group in parsed:
        if group is not None and group in by_group:
            instance = by_group[group]
            if instance["label"] != label:
                raise DatasetError(
                    "{}: image {}: regions {} and {} share the {!r} value {!r} but are of "
                    "different classes ({!r}, {!r}); the regions of one instance must have "
                    "one class: give one of them another {!r} value or none".format(
                        doing, filename, instance["indexes"][0], index, group_key, group,
                        instance["label"], label, group_key))
            instance["indexes"].append(index)
            instance["shapes"].append(shape)
            continue
        instance = {"label": label, "indexes": [index], "shapes": [shape]}
        instances.append(instance)
        if group is not None:
            by_group[group] = instance
    return instances


def _shares_group(regions):
    """Whether two regions of an image have the same non-empty GROUP_KEY value."""
    values = []
    for region in regions:
        if isinstance(region, dict):
            value, _ = _attribute(region.get("region_attributes") or {}, GROUP_KEY)
            if value is not None:
                values.append(value)
    return len(values) != len(set(values))


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
    value, problem = _attribute(attributes, class_key)
    if value is None and problem is None:
        return None, "region without a '{key}' class"
    return value, problem


def _attribute(attributes, key):
    """(value as a stripped str, None) of region_attributes[key] ("a.b": nested; a checkbox
    gives its one checked option); (None, None) when it is missing, null or blank; (None,
    reason) when it is unusable (a list, several options checked)."""
    value = attributes.get(key, _MISSING) if isinstance(attributes, dict) else _MISSING
    if value is _MISSING and "." in key:
        value = attributes
        for part in key.split("."):
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
    if isinstance(value, dict):                         # checkbox: {"option": true, ...}
        checked = [k for k, v in value.items() if v]
        if len(checked) > 1:
            return None, "region with several '{key}' options checked"
        value = checked[0] if checked else _MISSING
    if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None, None
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
