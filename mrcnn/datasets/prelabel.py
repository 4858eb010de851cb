"""Detections written back as annotation files that labelme, VIA and COCO tools open (pre-labels):
the model labels the next images, a person corrects them, the loaders of this package read the
corrected files for the next round of training.

    from mrcnn.datasets.prelabel import write_labelme
    detections = [(path, model.detect([image])[0]) for path, image in images]
    report = write_labelme(detections, class_names=dataset)    # <image>.json beside each image
    print(report)                                              # what was written and skipped

Glossary:
  detections   a list of (image path, result) pairs; result as MaskRCNN.detect() gives it for
               one image: "class_ids" int [N] (internal ids 1..K), "scores" float [N], "masks"
               bool [H, W, N] with H, W the image's size ("rois" [N, (y1, x1, y2, x2)] is not
               needed: boxes are taken from the masks the files hold).
  class names  the names of class ids 1..K: a list (a leading "BG" is dropped) or a prepared
               Dataset (its class_names).
  polygon      float [M, 2] (x, y) vertices in the convention of mrcnn.datasets.rasterize (the
               centre of pixel (row r, column c) is x = c, y = r; a polygon covers the pixels
               whose centres it holds). Contours are traced at the 0.5 level between pixel
               centres, so an unsimplified polygon covers exactly the pixels it was traced from;
               ``tolerance`` (pixels) then lets skimage.measure.approximate_polygon drop
               vertices that lie closer than that to the simplified outline. COCO polygons
               are shifted by +0.5 (COCO puts pixel edges at integers).
  part         a 4-connected component of an instance's mask (skimage.measure.label
               connectivity 1, matching find_contours' fully_connected="low"), traced as one
               polygon. Holes are filled: labelme, VIA and COCO polygons have none (COCO RLE
               keeps them). Parts smaller than ``min_part_area`` pixels are dropped; an instance
               left without parts is not written.
  overwrite    an existing annotation file (human work) is never replaced unless
               overwrite=True; it is listed in WriteReport.skipped instead.

One instance becomes: labelme, one polygon shape per part, the parts of a multi-part instance
sharing a group_id (LabelmeDataset merges them back into one instance); VIA, one polygon region
per part, the parts of one detection sharing the value of the region attribute GROUP_KEY
("instance"; VIA has no groups: ViaDataset.load_via(..., group_key=GROUP_KEY) merges them back
into one instance); COCO, one annotation whose segmentation is the RLE of the mask (or one
polygon per part).
"""
import json
import os

import numpy as np
import skimage.measure
from pycocotools import mask as mask_utils

from mrcnn.datasets.annotation_files import check_class_names
from mrcnn.datasets.via import GROUP_KEY
from mrcnn.evaluation.coco_format import encode_masks
from mrcnn.files import atomic_path

__all__ = ["WriteReport", "mask_polygons", "write_labelme", "write_via", "write_coco", "WRITERS",
           "labelme_path", "project_path", "LABELME_VERSION", "VIA_FILE_NAME", "COCO_FILE_NAME",
           "VIA_CLASS_KEY", "DEFAULT_TOLERANCE", "DEFAULT_MIN_PART_AREA"]

#: The labelme version written into the files (labelme warns about files of another major).
LABELME_VERSION = "5.5.0"
#: File names of the one-file formats when no path is given.
VIA_FILE_NAME = "via_project.json"
COCO_FILE_NAME = "coco_instances.json"
#: The region attribute that holds the class name in written VIA projects (load them with
#: ViaDataset.load_via(..., class_key=VIA_CLASS_KEY, group_key=GROUP_KEY)).
VIA_CLASS_KEY = "label"
#: Simplification tolerance in pixels: vertices within this distance of the simplified outline
#: are dropped. Measured on the ground truth of three real sets (rice leaf, kudzu, COCO excerpt),
#: instances of 300 px and more: 1 px gives mask IoU 0.965 on average (lowest 0.915) with 9-27
#: vertices per polygon; 0.5 px gives 0.996 but 38-91 vertices (pixel steps are 0.5 px off a
#: straight outline); 0 keeps every step and reproduces the mask exactly.
DEFAULT_TOLERANCE = 1.0
#: Parts of an instance below this many pixels are dropped (specks of thresholded masks).
DEFAULT_MIN_PART_AREA = 10
#: The VIA 2 project format version written.
VIA_FORMAT_VERSION = "2.0.10"


class WriteReport:
    """What a writer did. Attributes:
        format      "labelme", "via" or "coco".
        written     paths of the files written.
        skipped     [(path, why)] of files left alone (existing files without overwrite).
        instances   instances in the files written; ``polygons`` the polygons they became
                    (0 for COCO RLE).
        below_score detections left out for a score under min_score.
        too_small   detections left out because no part had min_part_area pixels.
        image_dir   COCO: the folder the images' file_name are relative to (else None).
    """

    def __init__(self, format):
        self.format = format
        self.written, self.skipped = [], []
        self.instances = self.polygons = self.below_score = self.too_small = 0
        self.image_dir = None

    def __str__(self):
        parts = ["{}: wrote {} file(s) holding {} instance(s) as {}".format(
            self.format, len(self.written), self.instances,
            "{} polygon(s)".format(self.polygons) if self.polygons or not self.instances
            else "RLE masks")]
        if self.image_dir and self.written:
            parts[0] += " with file_name relative to {}".format(self.image_dir)
        if self.skipped:
            parts.append("skipped {} existing file(s), kept as they are (--overwrite / "
                         "overwrite=True replaces them): {}".format(
                             len(self.skipped), ", ".join(p for p, _ in self.skipped)))
        if self.below_score:
            parts.append("left out {} detection(s) below min_score".format(self.below_score))
        if self.too_small:
            parts.append("left out {} detection(s) with no part of min_part_area pixels"
                         .format(self.too_small))
        return "; ".join(parts)


# ------------------------------------------------------------------------------ polygons
def mask_polygons(mask, tolerance=DEFAULT_TOLERANCE, min_part_area=DEFAULT_MIN_PART_AREA):
    """The polygons of one instance mask: one float64 [M, 2] (x, y) array per part (see the
    glossary), in raster order of the parts, without a repeated closing vertex, M >= 3.

    mask: bool [H, W]. tolerance: pixels (0: no simplification). min_part_area: parts with
    fewer pixels are left out.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError("mask must have shape [height, width], got {}".format(mask.shape))
    if not tolerance >= 0:
        raise ValueError("tolerance must be >= 0 pixels, got {!r}".format(tolerance))
    polygons = []
    for part, top, left in _parts(mask, min_part_area):
        # Padding closes the contours of parts that touch the image border.
        padded = np.pad(part, 1).astype(np.float64)
        contours = skimage.measure.find_contours(padded, 0.5, fully_connected="low")
        outline = max(contours, key=lambda c: abs(_signed_area(c)))     # holes are inner ones
        simplified = skimage.measure.approximate_polygon(outline, tolerance) if tolerance \
            else outline
        # A thin part can collapse under simplification: keep its exact outline then.
        if len(simplified) < 4 or abs(_signed_area(simplified)) < 0.5 * abs(
                _signed_area(outline)):
            simplified = outline
        rows = simplified[:-1, 0] + (top - 1)
        cols = simplified[:-1, 1] + (left - 1)
        polygons.append(np.stack([cols, rows], axis=1))
    return polygons


def _parts(mask, min_part_area):
    """[(part bool [h, w], top row, left column)]: the 4-connected parts of mask with at least
    min_part_area pixels, cropped to their boxes, in raster order."""
    rows, cols = np.any(mask, axis=1), np.any(mask, axis=0)
    if not rows.any():
        return []
    top, bottom = np.flatnonzero(rows)[[0, -1]]
    left, right = np.flatnonzero(cols)[[0, -1]]
    labels = skimage.measure.label(mask[top:bottom + 1, left:right + 1], connectivity=1)
    return [(region.image, top + region.bbox[0], left + region.bbox[1])
            for region in skimage.measure.regionprops(labels) if region.area >= min_part_area]


def _signed_area(contour):
    """Shoelace area of a closed [M, 2] contour (first point repeated last)."""
    y, x = contour[:, 0], contour[:, 1]
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


# ------------------------------------------------------------------------------ paths
def labelme_path(image_path, out_dir=None):
    """Where write_labelme puts the file of an image: <stem>.json in out_dir, else beside the
    image."""
    image_path = os.fspath(image_path)
    folder = os.fspath(out_dir) if out_dir is not None else os.path.dirname(image_path)
    return os.path.join(folder, os.path.splitext(os.path.basename(image_path))[0] + ".json")


def project_path(format, image_paths, out_dir=None):
    """Where write_via / write_coco put their one file when given no path: VIA_FILE_NAME or
    COCO_FILE_NAME in out_dir, else in the deepest folder that holds all the images."""
    name = {"via": VIA_FILE_NAME, "coco": COCO_FILE_NAME}[format]
    if out_dir is not None:
        return os.path.join(os.fspath(out_dir), name)
    return os.path.join(_common_folder(image_paths), name)


def _common_folder(image_paths):
    """The deepest folder that holds all the images (the current folder for none)."""
    folders = [os.path.dirname(os.path.abspath(os.fspath(p))) for p in image_paths]
    return os.path.commonpath(folders) if folders else os.getcwd()


def _relative(path, folder):
    """path relative to folder with "/" separators (absolute when there is no relative path,
    e.g. another drive on Windows)."""
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    except ValueError:
        return os.path.abspath(path)
    return relative.replace(os.sep, "/")


# ------------------------------------------------------------------------------ input
def _class_names(class_names):
    """Names of class ids 1..K from a list or a prepared Dataset; ValueError when None."""
    if class_names is None:
        raise ValueError("class names are needed to write annotations: pass class_names (the "
                         "names of class ids 1, 2, ... as a list, or a prepared Dataset)")
    if hasattr(class_names, "class_info") and hasattr(class_names, "class_names"):
        class_names = class_names.class_names
    return check_class_names(class_names)


def _results(detections, names):
    """Yields (image path, masks bool [H, W, N], class_ids [N], scores [N]) per item of
    detections after checking it; ValueError naming the image otherwise."""
    for k, item in enumerate(detections):
        try:
            path, result = item
        except (TypeError, ValueError):
            raise TypeError("detections[{}] is not an (image path, detect() result) pair"
                            .format(k)) from None
        path = os.fspath(path)
        try:
            masks = np.asarray(result["masks"], dtype=bool)
            class_ids = np.asarray(result["class_ids"]).reshape(-1)
            scores = np.asarray(result["scores"], dtype=np.float64).reshape(-1)
        except (KeyError, TypeError) as e:
            raise ValueError("detections for {}: the result needs 'masks', 'class_ids' and "
                             "'scores' as detect() gives them ({} missing)".format(path, e)) \
                from None
        if masks.ndim != 3 or not masks.shape[2] == len(class_ids) == len(scores):
            raise ValueError("detections for {}: masks of shape {} do not match {} class_ids "
                             "and {} scores (masks must be [height, width, N])".format(
                                 path, masks.shape, len(class_ids), len(scores)))
        unknown = sorted({int(i) for i in class_ids if not 1 <= i <= len(names)})
        if unknown:
            raise ValueError("detections for {}: class id(s) {} have no name; the {} class "
                             "names {} are for ids 1..{}".format(path, unknown, len(names),
                                                                 names, len(names)))
        yield path, masks, class_ids, scores


def _instances(masks, class_ids, scores, names, min_score, tolerance, min_part_area, report,
               rle=False):
    """The instances of one image's detections that are kept: dicts "class_name", "score",
    "polygons" [float [M, 2]] and, with rle, "rle" (the COCO RLE of the mask without its
    dropped parts)."""
    instances = []
    for i in range(len(class_ids)):
        if min_score is not None and scores[i] < min_score:
            report.below_score += 1
            continue
        polygons = mask_polygons(masks[..., i], tolerance, min_part_area)
        if not polygons:
            report.too_small += 1
            continue
        instance = {"class_name": names[int(class_ids[i]) - 1], "score": float(scores[i]),
                    "polygons": polygons}
        if rle:
            kept = np.zeros(masks.shape[:2], dtype=bool)
            for part, top, left in _parts(masks[..., i], min_part_area):
                kept[top:top + part.shape[0], left:left + part.shape[1]] |= part
            instance["rle"] = encode_masks(kept[..., None])[0]
        instances.append(instance)
    return instances


def _images(detections, names, min_score, tolerance, min_part_area, report, rle=False):
    """[(image path, height, width, [instance])] of all detections (see _instances). Only
    polygons and RLEs are kept, not masks, so a generator of detections over many images
    (the command line's) is held compactly."""
    return [(path, masks.shape[0], masks.shape[1],
             _instances(masks, class_ids, scores, names, min_score, tolerance, min_part_area,
                        report, rle))
            for path, masks, class_ids, scores in _results(detections, names)]


def _write_json(path, content, report, overwrite, instances, polygons):
    """Write content to path unless it exists and overwrite is False (then recorded as
    skipped); the file's instances and polygons are counted in the report when written."""
    if os.path.exists(path) and not overwrite:
        report.skipped.append((path, "exists"))
        return
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, ensure_ascii=False)     # as labelme writes
    report.written.append(path)
    report.instances += instances
    report.polygons += polygons


def _score_text(score):
    return "mrcnn score {:.3f}".format(score)


# ------------------------------------------------------------------------------ writers
def write_labelme(detections, class_names, out_dir=None, tolerance=DEFAULT_TOLERANCE,
                  min_score=None, min_part_area=DEFAULT_MIN_PART_AREA, overwrite=False):
    """Write one labelme file <image stem>.json per image, beside the image or in out_dir.

    Each part of an instance is a "polygon" shape with the class name as "label"; the parts of
    an instance of several parts share a "group_id" (1, 2, ... within the file; null for
    single-part instances); "description" holds the score ("mrcnn score 0.934") so that a
    person can tell the model's shapes and sort them by confidence. "imagePath" is relative to
    the json, "imageData" null. Images without detections get a file without shapes.
    detections, class_names: see the module glossary. min_score: leave out detections with
    lower scores. Returns a WriteReport; an existing json is skipped unless overwrite.
    Raises ValueError when two images would write the same file (one stem, one folder).
    """
    names = _class_names(class_names)
    report = WriteReport("labelme")
    sources = {}
    for path, masks, class_ids, scores in _results(detections, names):
        target = labelme_path(path, out_dir)
        if target in sources:
            raise ValueError("write_labelme: the images {} and {} would both write {}".format(
                sources[target], path, target))
        sources[target] = path
        if os.path.exists(target) and not overwrite:
            report.skipped.append((target, "exists"))           # not even traced
            continue
        height, width = masks.shape[:2]
        instances = _instances(masks, class_ids, scores, names, min_score, tolerance,
                               min_part_area, report)
        shapes, group = [], 0
        for instance in instances:
            group_id = None
            if len(instance["polygons"]) > 1:
                group += 1
                group_id = group
            for polygon in instance["polygons"]:
                shapes.append({"label": instance["class_name"],
                               "points": [[float(x), float(y)] for x, y in polygon],
                               "group_id": group_id,
                               "description": _score_text(instance["score"]),
                               "shape_type": "polygon", "flags": {}, "mask": None})
        content = {"version": LABELME_VERSION, "flags": {}, "shapes": shapes,
                   "imagePath": _relative(path, os.path.dirname(os.path.abspath(target))),
                   "imageData": None, "imageHeight": int(height), "imageWidth": int(width)}
        _write_json(target, content, report, overwrite, len(instances), len(shapes))
    return report


def write_via(detections, class_names, path=None, class_key=VIA_CLASS_KEY,
              tolerance=DEFAULT_TOLERANCE, min_score=None, min_part_area=DEFAULT_MIN_PART_AREA,
              overwrite=False):
    """Write a VIA 2.x project json (default: project_path("via", images)).

    Each part of an instance is a polygon region (all_points_x, all_points_y) whose
    region_attributes hold the class name under ``class_key``, the score ("score": "0.934")
    and the instance's number in its image under GROUP_KEY ("instance": "1", shared by the
    parts of one detection); the project's attribute definitions make the class a dropdown in
    VIA. "filename" is the image path relative to the json, "size" its file size in bytes.
    Load it with ViaDataset().load_via(path, class_key=class_key, group_key=GROUP_KEY), which
    makes the regions of one detection one instance again. Returns a WriteReport; an existing
    file is skipped unless overwrite.
    """
    if not isinstance(class_key, str) or not class_key or class_key in ("score", GROUP_KEY):
        raise ValueError("class_key must be a non-empty str other than 'score' and "
                         "{!r}, got {!r}".format(GROUP_KEY, class_key))
    names = _class_names(class_names)
    report = WriteReport("via")
    images = _images(detections, names, min_score, tolerance, min_part_area, report)
    path = os.fspath(path) if path is not None else project_path(
        "via", [p for p, _, _, _ in images])
    folder = os.path.dirname(os.path.abspath(path))
    metadata, instance_count = {}, 0
    for image_path, _, _, instances in images:
        regions = []
        for number, instance in enumerate(instances, start=1):
            for polygon in instance["polygons"]:
                regions.append({
                    "shape_attributes": {"name": "polygon",
                                         "all_points_x": [float(x) for x in polygon[:, 0]],
                                         "all_points_y": [float(y) for y in polygon[:, 1]]},
                    "region_attributes": {class_key: instance["class_name"],
                                          "score": "{:.3f}".format(instance["score"]),
                                          GROUP_KEY: str(number)}})
        instance_count += len(instances)
        filename = _relative(image_path, folder)
        size = os.path.getsize(image_path) if os.path.isfile(image_path) else -1
        key = "{}{}".format(filename, size)
        if key in metadata:
            raise ValueError("write_via: the image {} is listed twice".format(image_path))
        metadata[key] = {"filename": filename, "size": size, "regions": regions,
                         "file_attributes": {}}
    content = {
        "_via_settings": {
            "ui": {"annotation_editor_height": 25, "annotation_editor_fontsize": 0.8,
                   "leftsidebar_width": 18,
                   "image_grid": {"img_height": 80, "rshape_fill": "none",
                                  "rshape_fill_opacity": 0.3, "rshape_stroke": "yellow",
                                  "rshape_stroke_width": 2, "show_region_shape": True,
                                  "show_image_policy": "all"},
                   "image": {"region_label": class_key, "region_color": class_key,
                             "region_label_font": "10px Sans",
                             "on_image_annotation_editor_placement": "NEAR_REGION"}},
            "core": {"buffer_size": 18, "filepath": {}, "default_filepath": ""},
            "project": {"name": os.path.splitext(os.path.basename(path))[0]}},
        "_via_img_metadata": metadata,
        "_via_attributes": {
            "region": {class_key: {"type": "dropdown", "description": "class",
                                   "options": {name: name for name in names},
                                   "default_options": {}},
                       "score": {"type": "text", "description": "Mask R-CNN score",
                                 "default_value": ""},
                       GROUP_KEY: {"type": "text",
                                   "description": "the parts of one detection share it",
                                   "default_value": ""}},
            "file": {}},
        "_via_data_format_version": VIA_FORMAT_VERSION,
        "_via_image_id_list": list(metadata),
    }
    _write_json(path, content, report, overwrite, instance_count,
                sum(len(m["regions"]) for m in metadata.values()))
    return report


def write_coco(detections, class_names, path=None, image_dir=None, segmentation="rle",
               tolerance=DEFAULT_TOLERANCE, min_score=None, min_part_area=DEFAULT_MIN_PART_AREA,
               overwrite=False):
    """Write a COCO instances json (default: project_path("coco", images)).

    "images": ids 1..n in the order of detections, "file_name" relative to image_dir (default:
    the deepest folder that holds all the images, so file names are bare when they share one;
    report.image_dir says which: load with CocoDataset().load_coco(path, report.image_dir)),
    "height", "width";
    "categories": ids 1..K named after class_names; "annotations": one per instance with
    "segmentation" the compressed RLE of its mask (segmentation="rle": exact, holes kept) or
    one flat [x1, y1, x2, y2, ...] polygon per part (segmentation="polygon", in COCO's
    pixel-edge coordinates), "area" and "bbox" [x, y, width, height] of that segmentation,
    "iscrowd" 0 and "score". Parts below min_part_area are left out of the RLE too.
    Returns a WriteReport; an existing file is skipped unless overwrite.
    """
    if segmentation not in ("rle", "polygon"):
        raise ValueError("segmentation must be 'rle' or 'polygon', got {!r}".format(
            segmentation))
    names = _class_names(class_names)
    report = WriteReport("coco")
    images = _images(detections, names, min_score, tolerance, min_part_area, report,
                     rle=segmentation == "rle")
    path = os.fspath(path) if path is not None else project_path(
        "coco", [p for p, _, _, _ in images])
    report.image_dir = os.path.abspath(image_dir) if image_dir is not None else \
        _common_folder([p for p, _, _, _ in images])
    category_of = {name: i for i, name in enumerate(names, start=1)}
    content = {"info": {"description": "Mask R-CNN pre-labels"}, "licenses": [],
               "images": [], "annotations": [],
               "categories": [{"id": i, "name": name, "supercategory": ""}
                              for i, name in enumerate(names, start=1)]}
    polygon_count = 0
    for image_id, (image_path, height, width, instances) in enumerate(images, start=1):
        content["images"].append({"id": image_id,
                                  "file_name": _relative(image_path, report.image_dir),
                                  "height": int(height), "width": int(width)})
        for instance in instances:
            if segmentation == "rle":
                segm = instance["rle"]
                rle = dict(segm, counts=segm["counts"].encode("ascii"))
            else:
                segm = [[float(v) for v in (polygon + 0.5).ravel()]
                        for polygon in instance["polygons"]]
                rle = mask_utils.merge(mask_utils.frPyObjects(segm, int(height), int(width)))
                polygon_count += len(segm)
            content["annotations"].append({
                "id": len(content["annotations"]) + 1, "image_id": image_id,
                "category_id": category_of[instance["class_name"]], "segmentation": segm,
                "area": float(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": 0, "score": instance["score"]})
    _write_json(path, content, report, overwrite, len(content["annotations"]), polygon_count)
    return report


#: The writers by the command line's --write name.
WRITERS = {"labelme": write_labelme, "via": write_via, "coco": write_coco}
