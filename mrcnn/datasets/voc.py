"""Pascal VOC instance segmentation (SegmentationObject + SegmentationClass PNG pairs) as a
Dataset; also what labelme's labelme2voc.py writes.

    dataset = VocInstanceDataset()
    dataset.load_voc("VOCdevkit/VOC2012", split="train")
    dataset.prepare()

Layout (FOLDER):
  JPEGImages/<id>.jpg                 the images (any image extension)
  SegmentationObject/<id>.png         instance ids per pixel: 0 background, 1..N the instances,
                                      255 the void border (belongs to no instance)
  SegmentationClass/<id>.png          class per pixel: 0 background, 1..K the classes, 255 void
  ImageSets/Segmentation/<split>.txt  the ids of a split (train, val, trainval); without a split
                                      every SegmentationObject PNG is loaded (labelme2voc writes
                                      no ImageSets)
  class_names.txt                     optional: the class names, one per line (labelme2voc's;
                                      "_background_" and "__ignore__" lines left out). Default:
                                      VOC's 20 classes.
The label PNGs are palette PNGs (their indices are the ids) or grayscale; label PNGs that were
saved as RGB colours are read back through VOC's colour map (:func:`voc_palette`).

Glossary:
  class of an instance  the most frequent class value (not 0, not 255) in SegmentationClass
                        under the instance's pixels; an instance with none is skipped.
  classes               source "voc", ids 1..K: class value v is class id v, named
                        class_names[v - 1].
  image id              image_info[i]["id"]: the VOC id (file stem).
"""
import os

import numpy as np

from mrcnn.datasets.annotation_files import check_class_names
from mrcnn.datasets.base import DatasetError, few, missing_files_message
from mrcnn.datasets.image_io import image_size, is_image_file
from mrcnn.datasets.label_image import LabelImageDataset
from mrcnn.datasets.labelme import BACKGROUND_LABEL, IGNORE_LABEL

__all__ = ["VocInstanceDataset", "VOC_CLASS_NAMES", "VOID", "voc_palette"]

SOURCE = "voc"
#: Pascal VOC's 20 classes in the order of their class values 1..20.
VOC_CLASS_NAMES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
                   "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
                   "sheep", "sofa", "train", "tvmonitor")
#: The label value of the void border (and of labelme2voc's __ignore__ regions).
VOID = 255
OBJECT_DIR, CLASS_DIR, IMAGE_DIR = "SegmentationObject", "SegmentationClass", "JPEGImages"


def voc_palette(count=256):
    """uint8 [count, 3]: VOC's colour map, the colour of each label index (index i's bits
    spread over the high bits of r, g and b: 1 is (128, 0, 0), 255 is (224, 224, 192))."""
    palette = np.zeros((count, 3), dtype=np.uint8)
    for index in range(count):
        value, colour = index, [0, 0, 0]
        for bit in range(7, -1, -1):
            for channel in range(3):
                colour[channel] |= ((value >> channel) & 1) << bit
            value >>= 3
        palette[index] = colour
    return palette


_PALETTE = voc_palette()


class VocInstanceDataset(LabelImageDataset):
    """Pascal VOC SegmentationObject / SegmentationClass pairs (source "voc"). image_info
    entries: "id", "path", "width", "height", "object_path", "class_path"."""

    def load_voc(self, folder, split=None, class_names=None):
        """Load a VOC-layout folder (or one split of it) and register its classes and images.

        folder: the folder holding JPEGImages/, SegmentationObject/, SegmentationClass/ (e.g.
            VOCdevkit/VOC2012, or labelme2voc's output folder).
        split: the name of a list in ImageSets/Segmentation ("train", "val", "trainval"); None:
            every image with a SegmentationObject PNG.
        class_names: the names of the class values 1..K (a leading "BG" is dropped). Default:
            folder/class_names.txt when present, else VOC's 20 classes.

        Raises DatasetError naming the file for: a folder without SegmentationObject/, a split
        list that does not exist (naming the lists there), ids without an image or a
        SegmentationClass PNG, label PNGs whose size differs from their image's (all listed at
        once).
        """
        folder = os.fspath(folder)
        doing = "load_voc({}{})".format(folder, ", {!r}".format(split) if split else "")
        object_dir = os.path.join(folder, OBJECT_DIR)
        if not os.path.isdir(object_dir):
            raise DatasetError("{}: {} has no {}/ folder (instance PNGs); is it a VOC folder "
                               "such as VOCdevkit/VOC2012?".format(doing, folder, OBJECT_DIR))
        if class_names is not None:
            names = check_class_names(class_names)
        else:
            names_file = os.path.join(folder, "class_names.txt")
            names = _read_class_names(names_file) if os.path.isfile(names_file) \
                else list(VOC_CLASS_NAMES)
        ids = _split_ids(folder, split, doing)

        records, problems, missing = [], [], []
        images = _files_by_stem(os.path.join(folder, IMAGE_DIR))
        for image_id in ids:
            record = {"id": image_id,
                      "object_path": os.path.join(object_dir, image_id + ".png"),
                      "class_path": os.path.join(folder, CLASS_DIR, image_id + ".png"),
                      "path": images.get(image_id)}
            missing_here = [p for p in (record["object_path"], record["class_path"])
                            if not os.path.isfile(p)]
            if record["path"] is None:
                missing_here.insert(0, os.path.join(folder, IMAGE_DIR, image_id + ".jpg"))
            if missing_here:
                missing.extend(missing_here)
                continue
            try:
                sizes = [image_size(record[k]) for k in ("path", "object_path", "class_path")]
            except Exception as e:
                problems.append("{}: unreadable: {}".format(image_id, e))
                continue
            if sizes[1] != sizes[0] or sizes[2] != sizes[0]:
                problems.append("{}: image {} is {}x{} but {} is {}x{} and {} is {}x{}".format(
                    image_id, record["path"], *sizes[0], record["object_path"], *sizes[1],
                    record["class_path"], *sizes[2]))
                continue
            record["height"], record["width"] = sizes[0]
            records.append(record)
        if problems:
            problems = ["{} image(s) with unreadable or mismatched files: {}".format(
                len(problems), few(problems, sep="; "))]
        if missing:
            problems.insert(0, missing_files_message(missing, "file"))
        if problems:
            raise DatasetError("{}: {}".format(doing, "; ".join(problems)))
        existing = {info["id"] for info in self.image_info if info["source"] == SOURCE}
        repeated = sorted(existing & set(ids))
        if repeated:
            raise DatasetError("{}: the dataset already holds the images {}".format(
                doing, few(repeated)))

        self._add_classes(SOURCE, names, doing)
        for r in records:
            self.add_image(SOURCE, image_id=r["id"], path=r["path"], width=r["width"],
                           height=r["height"], object_path=r["object_path"],
                           class_path=r["class_path"])

    def load_mask(self, image_id):
        """(mask bool [height, width, instances], class_ids int32 [instances]): one instance per
        instance id of SegmentationObject (not 0, not 255), in id order, of the class most
        frequent under it in SegmentationClass. Void pixels belong to no instance.

        Raises DatasetError naming the file for PNGs that do not read, whose size differs from
        the image's, or that hold a class value beyond the class names.
        """
        info = self._info(self.image_info, image_id, "image")
        height, width = info["height"], info["width"]
        objects = self._read_label(info["object_path"], image_id, _PALETTE)
        classes = self._read_label(info["class_path"], image_id, _PALETTE)
        num_classes = sum(1 for c in self.class_info if c["source"] == SOURCE)
        ids = np.unique(objects)
        ids = ids[(ids != 0) & (ids != VOID)]
        masks, class_ids = [], []
        for instance_id in ids.tolist():
            mask = objects == instance_id
            values = classes[mask]
            values = values[(values != 0) & (values != VOID)]
            if values.size == 0:
                self._skip_once(info["object_path"], "instance {}".format(instance_id),
                                "instance without a class in SegmentationClass (background or "
                                "void under all its pixels)")
                continue
            class_value = int(np.bincount(values.astype(np.int64)).argmax())
            if class_value > num_classes:
                raise DatasetError("{}: class value {} under instance {} but there are only {} "
                                   "class names (class_names.txt, class_names= or VOC's 20)"
                                   .format(info["class_path"], class_value, instance_id,
                                           num_classes))
            masks.append(mask)
            class_ids.append(class_value)
        if not masks:
            return np.zeros((height, width, 0), bool), np.zeros([0], np.int32)
        return np.stack(masks, axis=-1), np.array(class_ids, dtype=np.int32)


def _read_class_names(path):
    """Class names from class_names.txt: one per line; blank, "_background_" and "__ignore__"
    lines left out."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except OSError as e:
        raise DatasetError("cannot read {}: {}".format(path, e.strerror or e)) from None
    names = [n for n in lines if n and n not in (BACKGROUND_LABEL, IGNORE_LABEL)]
    try:
        return check_class_names(names, argument=path)
    except (TypeError, ValueError) as e:
        raise DatasetError(str(e)) from None


def _split_ids(folder, split, doing):
    """The ids of a split list, or of every SegmentationObject PNG (split None)."""
    if split is None:
        ids = sorted(os.path.splitext(n)[0] for n in os.listdir(os.path.join(folder, OBJECT_DIR))
                     if n.lower().endswith(".png"))
        if not ids:
            raise DatasetError("{}: {} holds no PNG".format(doing, os.path.join(folder,
                                                                               OBJECT_DIR)))
        return ids
    sets_dir = os.path.join(folder, "ImageSets", "Segmentation")
    path = os.path.join(sets_dir, split + ".txt")
    if not os.path.isfile(path):
        available = sorted(os.path.splitext(n)[0] for n in os.listdir(sets_dir)
                           if n.endswith(".txt")) if os.path.isdir(sets_dir) else []
        raise DatasetError("{}: no split list {} ({})".format(
            doing, path, "the lists there: " + ", ".join(available) if available
            else "the folder has no ImageSets/Segmentation lists; leave the split out to load "
                 "every image"))
    with open(path, encoding="utf-8") as f:
        ids = [line.split()[0] for line in f if line.strip()]
    if not ids:
        raise DatasetError("{}: the split list {} is empty".format(doing, path))
    return ids


def _files_by_stem(directory):
    """{stem: path} of the image files of a folder (the first by name when several share it)."""
    result = {}
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            if is_image_file(name):
                result.setdefault(os.path.splitext(name)[0], os.path.join(directory, name))
    return result
