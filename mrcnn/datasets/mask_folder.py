"""Folders of mask images as a Dataset: one PNG per instance (Matterport's nucleus sample, the
Kaggle Data Science Bowl 2018 layout), or one label image per image whose pixel values are
instance ids (cellpose, most microscopy tools).

    dataset = MaskFolderDataset()
    dataset.load_masks("stage1_train/", class_names=["nucleus"])
    dataset.prepare()

Layouts, told apart by what FOLDER holds:
  per-image folders  FOLDER/<id>/images/<image>       one image per folder
                     FOLDER/<id>/masks/<file>.png     an instance mask: its nonzero pixels
                     FOLDER/<id>/masks/<class>/<file> the same, of the class <class>
                     A folder without masks/ holds an image without instances (a test set).
  masks folder       FOLDER/<name>.png, or FOLDER/images/<name>.png, with
                     FOLDER/masks/<name>.png           a label image: each distinct nonzero value
                                                       is one instance
                     FOLDER/masks/<class>/<name>.png   the same, of the class <class> (one label
                                                       image per class and image)
  suffix pairs       FOLDER/<name>.png with FOLDER/<name>_masks.png (cellpose) or
                     <name>_mask.png: a label image as above.
  Any image extension works for images and masks (.png, .tif, .bmp, ...); label images may be
  8, 16 or 32 bit, palette or grayscale (see mrcnn.datasets.label_image); instance masks may be
  0/1 or 0/255. In the two label-image layouts an image without a label file has no instances.

Glossary:
  mask file      an instance mask or a label image; each has one class.
  class          of a mask file: class_map[file] when a class map names it, else the name of the
                 sub-folder of masks/ it is in, else the one default class (class_names[0] when
                 one name is given, else "object"). Classes are source "masks", ids 1..K in
                 class_names order, else sorted by name.
  class_map      {key: class name}: a dict, or a YAML/JSON file of one; a key is a mask file's
                 stem or its path relative to FOLDER (with "/").
  image id       image_info[i]["id"]: the <id> folder name, or the image's stem.
Instance masks that are empty (all zero) are skipped when loaded and recorded in ``skipped``.
"""
import collections
import os

import numpy as np
import yaml

from mrcnn.datasets.annotation_files import check_class_names
from mrcnn.datasets.base import DatasetError, few, subset_entries
from mrcnn.datasets.image_io import image_size, is_image_file
from mrcnn.datasets.label_image import LabelImageDataset

__all__ = ["MaskFolderDataset", "DEFAULT_CLASS_NAME", "MASK_SUFFIXES"]

SOURCE = "masks"
#: The class of every mask file when neither a sub-folder, a class map nor class_names names one.
DEFAULT_CLASS_NAME = "object"
#: Stem endings of label images beside their image ("cells_masks.png" for "cells.png").
MASK_SUFFIXES = ("_masks", "_mask")
#: How a mask file holds instances: one (its nonzero pixels), or one per distinct nonzero value.
INSTANCE, LABELS = "instance", "labels"


class MaskFolderDataset(LabelImageDataset):
    """Instance masks or label images in folders (source "masks"). image_info entries: "id",
    "path" (the image), "width", "height", "mask_files" ([(path, class_id, kind)] with kind
    "instance" or "labels"), "exif_orientation"."""

    def load_masks(self, folder, class_names=None, class_map=None, subset=None,
                   exif_orientation=False):
        """Load a folder of images and masks in one of the layouts above.

        folder: the folder (per-image folders, a masks/ folder, or _masks suffix pairs).
        class_names: the classes to load, in id order (a leading "BG" is dropped); mask files of
            other classes are skipped and recorded. With one name and no sub-folders or class
            map, every mask file is of that class. Default: the classes found, sorted. Pass it so
            that train and val number classes alike.
        class_map: {mask file stem or path relative to folder: class name}, or a YAML/JSON
            file of one. Mask files it does not name get their sub-folder's class or the default.
        subset: only these image ids: a list, or the path of a .txt with one per line (as
            train_val_split writes).
        exif_orientation: turn camera images upright by their EXIF tag (masks must then have
            been drawn on the upright image). Off by default: masks usually match the stored
            pixels.

        Raises DatasetError naming the folder or file for: a folder in none of the layouts, a
        per-image folder with several images, an image with several label images in one folder,
        label images without an image, masks whose size differs from their image's, unreadable
        images or masks (all listed at once), class_map keys or subset ids that match nothing.
        """
        folder = os.fspath(folder)
        doing = "load_masks({})".format(folder)
        if not os.path.isdir(folder):
            raise DatasetError("{}: {} is not a folder".format(doing, folder))
        if class_names is not None:
            class_names = check_class_names(class_names)
        default_class = class_names[0] if class_names and len(class_names) == 1 \
            else DEFAULT_CLASS_NAME
        class_map = _read_class_map(class_map, doing)

        records = _discover(folder, doing)
        used_keys = set()
        for r in records:
            files = []
            for path, sub_class, kind in r["masks"]:
                relative = os.path.relpath(path, folder).replace(os.sep, "/")
                stem = os.path.splitext(os.path.basename(path))[0]
                key = relative if relative in class_map else stem if stem in class_map else None
                if key is not None:
                    used_keys.add(key)
                    name = class_map[key]
                else:
                    name = sub_class or default_class
                files.append((path, name, kind))
            r["masks"] = files
        unused = sorted(set(class_map) - used_keys)
        if unused:
            raise DatasetError("{}: class_map names {} which match no mask file (keys are mask "
                               "file stems or paths relative to the folder)".format(
                                   doing, few(unused)))
        if subset is not None:
            records = _select(records, subset, doing)

        names = class_names if class_names is not None else sorted(
            {name for r in records for _, name, _ in r["masks"]} or {default_class})
        class_id_of = {name: i for i, name in enumerate(names, start=1)}

        existing = {info["id"] for info in self.image_info if info["source"] == SOURCE}
        repeated = sorted(i for i, n in collections.Counter(
            [r["id"] for r in records]).items() if n > 1) + sorted(
            existing & {r["id"] for r in records})
        if repeated:
            raise DatasetError("{}: the image id(s) {} appear more than once".format(
                doing, few(repeated)))

        sizes = self._check_images([(folder, r["image"]) for r in records], doing,
                                   exif_orientation)
        self._check_mask_sizes(records, sizes, doing)

        self._add_classes(SOURCE, names, doing)
        for r, (height, width) in zip(records, sizes):
            mask_files = []
            for path, name, kind in r["masks"]:
                if name not in class_id_of:
                    self._skip(path, "mask file (class {!r})".format(name),
                               "class not in class_names")
                else:
                    mask_files.append((path, class_id_of[name], kind))
            self.add_image(SOURCE, image_id=r["id"], path=r["image"], width=width,
                           height=height, mask_files=mask_files,
                           exif_orientation=exif_orientation)
        self._warn_skipped(doing)

    def load_mask(self, image_id):
        """(mask bool [height, width, instances], class_ids int32 [instances]): one instance per
        instance mask file, one per distinct nonzero value of a label image, in file order then
        value order. Empty instance masks are left out (and recorded in ``skipped``).

        Raises DatasetError naming the file for masks that do not read or whose size is not the
        image's.
        """
        info = self._info(self.image_info, image_id, "image")
        height, width = info["height"], info["width"]
        masks, class_ids = [], []
        for path, class_id, kind in info["mask_files"]:
            label = self._read_label(path, image_id)
            if kind == INSTANCE:
                mask = label != 0
                if not mask.any():
                    self._skip_once(path, "mask file", "empty mask (no nonzero pixel)")
                    continue
                masks.append(mask[..., np.newaxis])
                class_ids.append(class_id)
            else:
                values, inverse = np.unique(label, return_inverse=True)
                inverse = inverse.reshape(label.shape)
                first = 1 if values[0] == 0 else 0
                count = len(values) - first
                stack = np.zeros((height, width, count), dtype=bool)
                rows, cols = np.nonzero(label)
                stack[rows, cols, inverse[rows, cols] - first] = True
                masks.append(stack)
                class_ids.extend([class_id] * count)
        if not masks:
            return np.zeros((height, width, 0), bool), np.zeros([0], np.int32)
        return np.concatenate(masks, axis=-1), np.array(class_ids, dtype=np.int32)

    def _check_mask_sizes(self, records, sizes, doing):
        """One DatasetError listing mask files that do not read or are not the size of their
        image (read from the file headers)."""
        problems = []
        for r, size in zip(records, sizes):
            for path, _, _ in r["masks"]:
                try:
                    mask_size = image_size(path)
                except Exception as e:
                    problems.append("{}: unreadable: {}".format(path, e))
                    continue
                if mask_size != tuple(size):
                    problems.append("{} is {}x{} but its image {} is {}x{}".format(
                        path, mask_size[0], mask_size[1], r["image"], *size))
        if problems:
            raise DatasetError("{}: {} mask file(s) unreadable or not the size of their image "
                               "(height x width): {}".format(doing, len(problems),
                                                             few(problems, sep="; ")))


# ------------------------------------------------------------------------------ layouts
def _image_files(directory):
    """Sorted paths of the image files of a folder (not recursive)."""
    return [os.path.join(directory, n) for n in sorted(os.listdir(directory))
            if is_image_file(n) and os.path.isfile(os.path.join(directory, n))]


def _subfolders(directory):
    return [n for n in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, n))]


def _discover(folder, doing):
    """[{"id", "image", "masks": [(path, sub-folder class or None, kind)]}] of a folder in one of
    the layouts; DatasetError if it is in none."""
    masks_dir = os.path.join(folder, "masks")
    if os.path.isdir(masks_dir):
        images_dir = os.path.join(folder, "images")
        images_dir = images_dir if os.path.isdir(images_dir) else folder
        return _label_pairs(_image_files(images_dir), _masks_folder_labels(masks_dir), doing)
    per_image = [n for n in _subfolders(folder)
                 if os.path.isdir(os.path.join(folder, n, "images"))]
    if per_image:
        return [_per_image_folder(os.path.join(folder, n), n, doing) for n in per_image]
    images = _image_files(folder)
    labels = {}
    for path in images:
        stem = os.path.splitext(os.path.basename(path))[0]
        for suffix in MASK_SUFFIXES:
            if stem.endswith(suffix) and len(stem) > len(suffix):
                labels.setdefault(stem[:-len(suffix)], []).append((path, None))
    if labels:
        label_paths = {path for entries in labels.values() for path, _ in entries}
        return _label_pairs([p for p in images if p not in label_paths], labels, doing)
    raise DatasetError(
        "{}: {} is in none of the mask layouts: per-image folders <id>/images/ + <id>/masks/, a "
        "masks/ folder of label images named like the images, or <name>_masks.png label images "
        "beside <name>.png".format(doing, folder))


def _masks_folder_labels(masks_dir):
    """{image stem: [(label image path, class sub-folder or None)]} of a masks/ folder."""
    labels = {}
    for sub in [None] + _subfolders(masks_dir):
        directory = masks_dir if sub is None else os.path.join(masks_dir, sub)
        for path in _image_files(directory):
            stem = os.path.splitext(os.path.basename(path))[0]
            labels.setdefault(stem, []).append((path, sub))
    return labels


def _label_pairs(images, labels, doing):
    """Records of images paired with their label images {stem: [(path, class)]}."""
    records, by_stem = [], collections.defaultdict(list)
    for path in images:
        by_stem[os.path.splitext(os.path.basename(path))[0]].append(path)
    problems = []
    for stem, paths in sorted(by_stem.items()):
        if len(paths) > 1:
            problems.append("several images with the stem {!r}: {}".format(
                stem, [os.path.basename(p) for p in paths]))
            continue
        entries = labels.get(stem, [])
        classes = [sub for _, sub in entries]
        repeated = sorted({str(c) for c in classes if classes.count(c) > 1})
        if repeated:
            problems.append("several label images for {} in the same folder: {}".format(
                paths[0], [p for p, _ in entries]))
            continue
        records.append({"id": stem, "image": paths[0],
                        "masks": [(p, sub, LABELS) for p, sub in entries]})
    orphans = sorted(set(labels) - set(by_stem))
    problems += ["label image {} has no image named {!r}".format(labels[s][0][0], s)
                 for s in orphans]
    if problems:
        raise DatasetError("{}: {} problem(s) pairing images with label images: {}".format(
            doing, len(problems), few(problems, sep="; ")))
    if not records:
        raise DatasetError("{}: no images found".format(doing))
    return records


def _per_image_folder(directory, name, doing):
    """The record of one <id>/images/ + <id>/masks/ folder."""
    images = _image_files(os.path.join(directory, "images"))
    if len(images) != 1:
        raise DatasetError("{}: {} holds {} images; a per-image folder holds one".format(
            doing, os.path.join(directory, "images"), len(images)))
    masks = []
    masks_dir = os.path.join(directory, "masks")
    if os.path.isdir(masks_dir):
        masks = [(path, None, INSTANCE) for path in _image_files(masks_dir)]
        for sub in _subfolders(masks_dir):
            masks += [(path, sub, INSTANCE)
                      for path in _image_files(os.path.join(masks_dir, sub))]
    return {"id": name, "image": images[0], "masks": masks}


# ------------------------------------------------------------------------------ options
def _read_class_map(class_map, doing):
    """{key: class name} from a dict or a YAML/JSON file; DatasetError naming the file."""
    if class_map is None:
        return {}
    source = "class_map"
    if isinstance(class_map, (str, os.PathLike)):
        source = os.fspath(class_map)
        try:
            with open(source, encoding="utf-8") as f:
                class_map = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            raise DatasetError("{}: cannot read the class map {}: {}".format(
                doing, source, e)) from None
    if not isinstance(class_map, dict) or not class_map:
        raise DatasetError("{}: {} must be a non-empty mapping {{mask file: class name}}, got "
                           "{!r}".format(doing, source, type(class_map).__name__))
    bad = [v for v in class_map.values() if not isinstance(v, str) or not v]
    if bad:
        raise DatasetError("{}: {} maps to {!r}; class names are non-empty str".format(
            doing, source, bad[0]))
    return {str(k).replace("\\", "/"): v for k, v in class_map.items()}


def _select(records, subset, doing):
    """The records whose ids are in subset (a list or a .txt path); DatasetError for ids that
    match no image."""
    wanted = subset_entries(subset, doing)
    ids = {r["id"] for r in records}
    unmatched = sorted(set(wanted) - ids)
    if unmatched:
        raise DatasetError("{}: subset ids {} match no image".format(doing, few(unmatched)))
    wanted = set(wanted)
    return [r for r in records if r["id"] in wanted]
