"""A folder of labelme annotations, or of per-image shape lists, as a Dataset.

    dataset = LabelmeDataset()
    dataset.load_labelme("signs/", class_names=["stop", "yield"])
    dataset.prepare()

Two file formats, told apart by their content:
  labelme        what labelme saves next to each image: a JSON object with "shapes" (each with
                 "label", "points", "shape_type", "group_id" and, for shape_type "mask", a base64
                 PNG "mask" of the region between its two corner points), "imagePath" (relative
                 to the json), "imageData" (the image, base64, optional), "imageHeight",
                 "imageWidth".
  shape list     the road-sign guide's format: a .json (or .txt) file per image holding
                 [{"category": "59", "type": "polygon", "points": [[x, y], ...]}, ...], matched
                 to the image with the same file stem in the same folder.

Glossary:
  label          a shape's "label" (labelme) or "category" (shape list), as a str.
  class name     what a label becomes: category_map[label] when a category_map is given, else
                 the label itself. Classes are source "labelme", ids 1..K in class-name order.
  instance       the shapes of one object: labelme shapes with the same (label, group_id) are
                 merged into one instance; a shape without group_id is an instance by itself.
  "__ignore__"   labelme's label for regions that are not objects: never an instance.
  image id       image_info[i]["id"] is the annotation file's stem.
Shape coordinates follow mrcnn.datasets.rasterize: (x, y) = (column, row), pixel centres at
integers; rectangles cover their corner pixels, circles the pixels closer to the centre than the
rim point, polygons are clipped to the image.
"""
import collections
import os

from mrcnn.datasets.annotation_files import check_class_names, embedded_image, read_json
from mrcnn.datasets.base import DatasetError, few, missing_files_message, subset_entries
from mrcnn.datasets.image_files import ImageFileDataset
from mrcnn.datasets.image_io import image_size, is_image_file
from mrcnn.datasets.rasterize import (
    ShapeError,
    bitmap,
    circle_from_points,
    mask_area,
    points_array,
    polygon,
    rectangle,
)

__all__ = ["LabelmeDataset", "IGNORE_LABEL", "BACKGROUND_LABEL"]

SOURCE = "labelme"
#: labelme's label for regions that are not instances.
IGNORE_LABEL = "__ignore__"
#: labelme's background entry in labels.txt (the background is class 0 here).
BACKGROUND_LABEL = "_background_"
#: Shape types that have no area: skipped with a counted warning.
LINE_TYPES = ("line", "linestrip", "point", "points")
#: .txt files in a folder that are never shape lists.
NOT_SHAPE_LISTS = ("labels.txt", "train.txt", "val.txt", "test.txt")


class LabelmeDataset(ImageFileDataset):
    """labelme folders and per-image shape lists (source "labelme"). image_info entries: "id"
    (annotation file stem), "path" (the image, or the json that embeds it), "width", "height",
    "annotation" (the annotation file), "instances" ([(class_id, shapes)], see rasterize)."""

    def load_labelme(self, folder, class_names=None, category_map=None, subset=None,
                     exif_orientation=True):
        """Load the annotation files of a folder and register their classes and images.

        folder: a folder of annotation files (labelme .json, or shape-list .json/.txt files next
            to same-stem images), or a list of such files.
        class_names: the classes to load, in id order (a leading "BG" is dropped). Shapes of
            other classes are skipped with a counted warning (a class subset). Without it the
            classes come from the folder's labels.txt (labelme's convention: one label per line;
            "__ignore__" and "_background_" lines left out), else from the values of
            category_map, else from the labels found, sorted. Pass class_names (or keep a
            labels.txt) so that train and val folders number classes alike.
        category_map: {label: class name}, e.g. {"59": "stop"}: applied to every label (several
            labels may share a class). Labels missing from it, or from labels.txt, are an error.
        subset: only the files whose stems are listed: a list of names/stems, or the path of a
            .txt with one per line (as written by train_val_split).
        exif_orientation: turn camera images upright by their EXIF tag, as labelme shows them
            when annotating (so the shapes fit).

        The image of a labelme file is its "imageData" when present (it wins over a wrong
        imagePath), else imagePath, else an image with the json's stem beside it.
        Raises DatasetError for malformed json (naming file and position), unknown labels,
        images whose size differs from imageHeight/imageWidth, and, all at once, missing or
        unreadable images. Shapes that cannot become instances (line/linestrip/point shapes,
        polygons with fewer than 3 points, zero-area instances, ...) are skipped with one counted
        warning naming file and shape index, and recorded in ``skipped`` (see summary()).
        """
        doing = "load_labelme({})".format(folder if isinstance(folder, (str, os.PathLike))
                                          else "{} files".format(len(folder)))
        category_map = _check_category_map(category_map)
        if class_names is not None:
            class_names = check_class_names(class_names)
        files, labels_dir = self._annotation_files(folder, doing)
        if subset is not None:
            files = _select(files, subset, doing)

        records = []
        for path, image_path in files:
            record = self._read_file(path, image_path, category_map)
            if record is not None:
                records.append(record)
        self._check_sizes(records, doing, exif_orientation)

        # The classes, and whether a label outside them is an error or a subset's skip.
        labels_txt = os.path.join(labels_dir, "labels.txt") if labels_dir else None
        closed_by = None
        if class_names is not None:
            names = class_names
        elif labels_txt and os.path.isfile(labels_txt):
            names, closed_by = _read_labels_txt(labels_txt), labels_txt
        elif category_map is not None:
            names, closed_by = sorted(set(category_map.values())), "category_map"
        else:
            names = sorted({s["class_name"] for r in records for s in r["shapes"]})
        class_id_of = {name: i for i, name in enumerate(names, start=1)}

        unknown = [(r["annotation"], s) for r in records for s in r["shapes"]
                   if s["class_name"] not in class_id_of]
        if unknown and class_names is None:
            lines = ["{} shape {}: label {!r}".format(file, s["index"], s["label"])
                     for file, s in unknown]
            raise DatasetError("{}: {} shape(s) with a label that {} does not list (it has: {}):"
                               " {}".format(doing, len(unknown), closed_by, few(names),
                                            few(lines, sep="; ")))
        for file, s in unknown:
            self._skip(file, "shape {} (label {!r})".format(s["index"], s["label"]),
                       "label not in class_names")

        existing = {info["id"] for info in self.image_info if info["source"] == SOURCE}
        stems = collections.Counter(r["stem"] for r in records)
        repeated = sorted({s for s, n in stems.items() if n > 1} | (set(stems) & existing))
        if repeated:
            raise DatasetError("{}: more than one annotation file for the image stem(s) {}"
                               .format(doing, few(repeated)))

        self._add_classes(SOURCE, names, doing)
        for r in records:
            instances = self._instances(r, class_id_of)
            self.add_image(SOURCE, image_id=r["stem"], path=r["image_path"] or r["annotation"],
                           width=r["width"], height=r["height"], annotation=r["annotation"],
                           image_data_file=r["annotation"] if r["embedded"] else None,
                           exif_orientation=exif_orientation, instances=instances)
        self._warn_skipped(doing)

    # ---------------------------------------------------------------- finding files
    def _annotation_files(self, folder, doing):
        """[(annotation file, image path or None)] sorted by file name, and the folder where a
        labels.txt would be. Shape-list files get the same-stem image of their folder."""
        if isinstance(folder, (str, os.PathLike)):
            folder = os.fspath(folder)
            if not os.path.isdir(folder):
                raise DatasetError("{}: {} is not a folder".format(doing, folder))
            names = sorted(os.listdir(folder))
            paths = [os.path.join(folder, n) for n in names
                     if n.lower().endswith((".json", ".txt"))
                     and n.lower() not in NOT_SHAPE_LISTS]
            labels_dir = folder
        else:
            paths = [os.fspath(p) for p in folder]
            missing = [p for p in paths if not os.path.isfile(p)]
            if missing:
                raise DatasetError("{}: {}".format(doing, missing_files_message(
                    missing, "annotation file", total=len(paths))))
            labels_dir = os.path.dirname(paths[0]) if paths else None
        images_by_dir = {}
        result = []
        for path in paths:
            directory, name = os.path.split(path)
            if directory not in images_by_dir:
                images_by_dir[directory] = _images_by_stem(directory or ".")
            stem = os.path.splitext(name)[0]
            candidates = images_by_dir[directory].get(stem, [])
            if name.lower().endswith(".txt") and not candidates:
                continue                              # a .txt without an image: not a shape list
            result.append((path, candidates))
        if not result:
            raise DatasetError("{}: no labelme .json or per-image shape-list files found"
                               .format(doing))
        return result, labels_dir

    # ---------------------------------------------------------------- reading one file
    def _read_file(self, path, image_candidates, category_map):
        """A record dict of one annotation file, or None for a JSON file that is neither format
        (recorded as skipped)."""
        content = read_json(path, "annotation file", literal_fallback=path.endswith(".txt"))
        stem = os.path.splitext(os.path.basename(path))[0]
        record = {"annotation": path, "stem": stem, "embedded": False, "image_path": None,
                  "size_in_file": None}
        if isinstance(content, dict) and isinstance(content.get("shapes"), list):
            raw = [(s.get("label") if isinstance(s, dict) else None, s)
                   for s in content["shapes"]]
            self._labelme_image(record, content, image_candidates)
            kind = "labelme"
        elif isinstance(content, list):
            raw = [(s.get("category") if isinstance(s, dict) else None, s) for s in content]
            if len(image_candidates) != 1:
                record["problem"] = ("no image with the stem {!r} beside it".format(stem)
                                     if not image_candidates else
                                     "several images with its stem: {}".format(
                                         [os.path.basename(c) for c in image_candidates]))
            else:
                record["image_path"] = image_candidates[0]
            kind = "list"
        else:
            self._skip(path, "file", "JSON that is neither a labelme file (no 'shapes' list) "
                                     "nor a shape list")
            return None

        record["shapes"] = []
        for index, (label, shape) in enumerate(raw):
            what = "shape {}".format(index)
            if not isinstance(shape, dict):
                self._skip(path, what, "shape that is not a JSON object")
                continue
            if isinstance(label, (int, float)) and not isinstance(label, bool):
                label = str(label)
            if not isinstance(label, str) or not label:
                self._skip(path, what, "shape without a label")
                continue
            if label == IGNORE_LABEL:
                self._skip(path, what, "__ignore__ region (not an instance)", warn=False)
                continue
            shape_type = shape.get("shape_type" if kind == "labelme" else "type") or "polygon"
            if shape_type in LINE_TYPES:
                self._skip(path, what, "{} shape (not an area)".format(shape_type))
                continue
            try:
                drawn = _to_shape(shape_type, shape)
            except ShapeError as e:
                self._skip(path, what, "{} ({} shape)".format(e, shape_type))
                continue
            class_name = label if category_map is None else category_map.get(label)
            group = shape.get("group_id") if kind == "labelme" else None
            record["shapes"].append({"index": index, "label": label, "class_name": class_name,
                                     "group": group, "shape": drawn})
        return record

    def _labelme_image(self, record, content, candidates):
        """Fill the record's image source and annotated size from a labelme file."""
        path = record["annotation"]
        if isinstance(content.get("imageData"), str) and content["imageData"]:
            record["embedded"] = True
        else:
            directory = os.path.dirname(path)
            image_path = content.get("imagePath")
            tried = []
            if isinstance(image_path, str) and image_path:
                image_path = image_path.replace("\\", "/")
                tried = [os.path.normpath(os.path.join(directory, image_path)),
                         os.path.join(directory, os.path.basename(image_path))]
            tried += candidates
            found = [p for p in tried if os.path.isfile(p)]
            if found:
                record["image_path"] = found[0]
            else:
                record["problem"] = "imagePath {!r} not found and no imageData".format(
                    content.get("imagePath"))
        height, width = content.get("imageHeight"), content.get("imageWidth")
        if isinstance(height, int) and isinstance(width, int):
            record["size_in_file"] = (height, width)

    def _check_sizes(self, records, doing, exif_orientation):
        """Read every image's size from its header; one DatasetError listing missing,
        unreadable and wrongly sized images."""
        problems = []
        for r in records:
            r["height"] = r["width"] = None
            if "problem" in r:
                problems.append("{}: {}".format(r["annotation"], r["problem"]))
                continue
            try:
                source = embedded_image(r["annotation"]) if r["embedded"] else r["image_path"]
                size = image_size(source, exif_orientation)
            except Exception as e:
                problems.append("{}: image {} unreadable: {}".format(
                    r["annotation"], r["image_path"] or "in imageData", e))
                continue
            if r["size_in_file"] and r["size_in_file"] != size:
                problems.append("{}: imageHeight x imageWidth is {}x{} but the image {} is {}x{}"
                                .format(r["annotation"], *r["size_in_file"],
                                        r["image_path"] or "in imageData", *size))
                continue
            r["height"], r["width"] = size
        if problems:
            raise DatasetError("{}: {} image(s) missing, unreadable or of the wrong size: {}"
                               .format(doing, len(problems), few(problems, sep="; ")))

    def _instances(self, record, class_id_of):
        """[(class_id, shapes)] of a record: shapes merged by (label, group_id); instances that
        cover no pixel are skipped."""
        groups = {}
        for s in record["shapes"]:
            if s["class_name"] not in class_id_of:
                continue
            key = (s["label"], s["group"]) if s["group"] is not None else ("", s["index"], None)
            groups.setdefault(key, []).append(s)
        instances = []
        for members in groups.values():
            shapes = [s["shape"] for s in members]
            if mask_area(shapes, record["height"], record["width"]) == 0:
                self._skip(record["annotation"],
                           "shape(s) {}".format(", ".join(str(s["index"]) for s in members)),
                           "zero-area instance (no pixel inside the image)")
                continue
            instances.append((class_id_of[members[0]["class_name"]], shapes))
        return instances


def _to_shape(shape_type, shape):
    """The rasterize shape tuple of a labelme / shape-list shape, or ShapeError."""
    points = shape.get("points")
    if shape_type == "polygon":
        points = points_array(points if points is not None else [], min_points=0)
        return polygon(points[:, 0], points[:, 1])
    if shape_type in ("rectangle", "rect"):
        points = points_array(points if points is not None else [], min_points=0)
        if len(points) == 2:
            (x1, y1), (x2, y2) = points
            return rectangle(x1, y1, x2, y2)
        if len(points) >= 3:                          # 4 corners, as some labelme forks save
            return polygon(points[:, 0], points[:, 1])
        raise ShapeError("rectangle without 2 corner points")
    if shape_type == "circle":
        return circle_from_points(points if points is not None else [])
    if shape_type == "mask":
        points = points_array(points if points is not None else [], min_points=1)
        x, y = points.min(axis=0)
        return bitmap(x, y, shape.get("mask"))
    raise ShapeError("unknown shape_type")


def _images_by_stem(directory):
    """{stem: [image paths]} of the images in a folder."""
    result = {}
    for name in sorted(os.listdir(directory)):
        if is_image_file(name):
            result.setdefault(os.path.splitext(name)[0], []).append(
                os.path.join(directory, name))
    return result


def _select(files, subset, doing):
    """The files whose stems are in subset (a list or a .txt path); DatasetError for entries that
    match no file."""
    entries = subset_entries(subset, doing)
    wanted = {os.path.splitext(os.path.basename(e))[0] if os.path.splitext(e)[1].lower() in
              (".json", ".txt") or is_image_file(e) else os.path.basename(e) for e in entries}
    by_stem = {os.path.splitext(os.path.basename(path))[0]: (path, images)
               for path, images in files}
    unmatched = sorted(wanted - set(by_stem))
    if unmatched:
        raise DatasetError("{}: subset names {} match no annotation file".format(
            doing, few(unmatched)))
    return [entry for stem, entry in by_stem.items() if stem in wanted]


def _read_labels_txt(path):
    """Class names from a labelme labels.txt: one per line; blank, "__ignore__" and
    "_background_" lines left out."""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    names = [n for n in lines if n and n not in (IGNORE_LABEL, BACKGROUND_LABEL)]
    return check_class_names(names, argument=path)


def _check_category_map(category_map):
    """category_map with str keys, or TypeError naming the argument."""
    if category_map is None:
        return None
    if not isinstance(category_map, dict):
        raise TypeError("category_map must be a dict {{label: class name}}, got {!r}".format(
            category_map))
    bad = [v for v in category_map.values() if not isinstance(v, str) or not v]
    if bad:
        raise TypeError("category_map values must be non-empty class names (str), got {!r}"
                        .format(bad[0]))
    return {str(k): v for k, v in category_map.items()}
