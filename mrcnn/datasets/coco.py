"""COCO-format instance annotations (a COCO json + an image folder) as a Dataset.

Matterport's samples/coco/coco.py CocoDataset, moved into the package, reading any COCO-format set:

    dataset = CocoDataset()
    dataset.load_coco("annotations/instances_val2017.json", "val2017")
    dataset.prepare()

Glossary:
  category id   the COCO id of a class (``categories[].id``, 1..90 in COCO, with gaps): the source
                class id. Classes get contiguous internal ids 1..K in sorted category-id order (or
                in the order of ``class_ids``), named after the categories.
                dataset.get_source_class_id(class_id, "coco") and
                dataset.map_source_class_id("coco.<category id>") convert between them.
  image id      the COCO image id is image_info[i]["id"] (64-bit ids are kept as Python ints).
  segmentation  polygons [[x1, y1, x2, y2, ...], ...], uncompressed RLE {"counts": [ints],
                "size": [h, w]} or compressed RLE {"counts": "str", "size": [h, w]}; decoded with
                pycocotools. Polygon coordinates are COCO's (pixel edges at integers).
  crowd         an annotation with iscrowd = 1: load_mask gives it a negative class id, so it is
                excluded from positives, as in Matterport.
"""
import contextlib
import io
import os

import numpy as np
from pycocotools import mask as maskUtils
from pycocotools.coco import COCO

from mrcnn.datasets.annotation_files import read_json
from mrcnn.datasets.base import DatasetError, few, missing_files_message
from mrcnn.datasets.image_files import ImageFileDataset

__all__ = ["CocoDataset"]

SOURCE = "coco"


class CocoDataset(ImageFileDataset):
    """A COCO-format dataset (source "coco"). image_info entries hold Matterport's keys: "id" (the
    COCO image id), "path", "width", "height", "annotations" (the image's COCO annotation dicts
    of the loaded categories, crowds included)."""

    def load_coco(self, annotation_json, image_dir, class_ids=None, class_map=None,
                  return_coco=False):
        """Load a COCO-format instances json and register its classes and images.

        annotation_json: path of the json (e.g. annotations/instances_train2017.json).
        image_dir: folder holding the images named by ``images[].file_name``.
        class_ids: COCO category ids to load (internal ids follow this order); None for all
            categories. With a subset only the images with an annotation of those categories are
            loaded (Matterport's rule); with all categories every image is loaded, also those
            without annotations (they train as background).
        class_map: not used (Matterport's argument, kept so that calls keep working).
        return_coco: return the pycocotools COCO object (for evaluation).

        Raises DatasetError naming the file for malformed json, images or annotations missing
        required keys, annotations of unknown categories or images, unknown ``class_ids``, and
        image files that do not exist (counted, a few named). Unusable annotations (polygons with
        fewer than 3 points, no segmentation, an RLE of another size than its image) are skipped
        with one counted warning and recorded in ``skipped`` (see summary()); masks that cover
        no pixel are skipped when load_mask draws them, as in Matterport.
        """
        annotation_json = os.fspath(annotation_json)
        image_dir = os.fspath(image_dir)
        doing = "load_coco({})".format(annotation_json)
        data = read_json(annotation_json, "COCO annotation file")
        images, categories, annotations = _check_layout(data, annotation_json)

        coco = COCO()
        coco.dataset = data
        with contextlib.redirect_stdout(io.StringIO()):      # createIndex prints progress
            coco.createIndex()

        # Load all classes or a subset?
        all_ids = sorted(categories)
        if class_ids is None:
            class_ids = all_ids
        else:
            class_ids = list(dict.fromkeys(class_ids))           # unique, order kept
            unknown = [i for i in class_ids if i not in categories]
            if unknown:
                raise DatasetError("{}: class_ids {} are not categories of the file (its "
                                   "category ids: {})".format(doing, unknown, all_ids))
            if not class_ids:
                raise DatasetError("{}: class_ids is empty".format(doing))
        wanted = set(class_ids)

        # Annotations of the wanted categories, grouped by image, checked and cleaned.
        by_image = {image_id: [] for image_id in images}
        for annotation in annotations:
            if annotation["category_id"] not in wanted:
                continue
            image = images[annotation["image_id"]]
            cleaned = self._clean_annotation(annotation, image, annotation_json)
            if cleaned is not None:
                by_image[annotation["image_id"]].append(cleaned)

        # All images or a subset?
        if len(wanted) == len(all_ids):
            image_ids = list(images)
        else:
            image_ids = [i for i in images
                         if any(a["category_id"] in wanted
                                for a in coco.imgToAnns.get(i, ()))]

        missing = [os.path.join(image_dir, images[i]["file_name"]) for i in image_ids
                   if not os.path.isfile(os.path.join(image_dir, images[i]["file_name"]))]
        if missing:
            raise DatasetError("{}: {}".format(doing, missing_files_message(
                missing, total=len(image_ids))))

        # Add classes
        for i in class_ids:
            self.add_class(SOURCE, i, categories[i]["name"])

        # Add images
        for i in image_ids:
            image = images[i]
            self.add_image(
                SOURCE, image_id=i,
                path=os.path.join(image_dir, image["file_name"]),
                width=image["width"],
                height=image["height"],
                annotations=by_image[i],
                coco_url=image.get("coco_url"))
        self._warn_skipped(doing)
        if return_coco:
            return coco

    def _clean_annotation(self, annotation, image, annotation_json):
        """The annotation with unusable polygons removed, or None (recorded as skipped) when
        nothing usable is left."""
        what = "annotation {} (image {})".format(annotation.get("id"), image["id"])
        segmentation = annotation.get("segmentation")
        height, width = image["height"], image["width"]
        if isinstance(segmentation, list):
            kept = []
            for k, poly in enumerate(segmentation):
                if not isinstance(poly, list) or len(poly) % 2 or \
                        not all(isinstance(v, (int, float)) for v in poly):
                    self._skip(annotation_json, "{} polygon {}".format(what, k),
                               "polygon that is not a flat list of x, y numbers")
                elif len(poly) < 6:
                    self._skip(annotation_json, "{} polygon {}".format(what, k),
                               "polygon with fewer than 3 points")
                else:
                    kept.append(poly)
            if not kept:
                if not segmentation:
                    self._skip(annotation_json, what, "annotation without segmentation")
                return None
            if len(kept) < len(segmentation):
                annotation = dict(annotation, segmentation=kept)
            return annotation
        if isinstance(segmentation, dict) and "counts" in segmentation:
            size = segmentation.get("size")
            if not annotation.get("iscrowd") and list(size or ()) != [height, width]:
                self._skip(annotation_json, what,
                           "RLE whose size differs from its image's height and width")
                return None
            return annotation
        self._skip(annotation_json, what, "annotation without segmentation")
        return None

    def load_mask(self, image_id):
        """Load instance masks for the given image.

        Different datasets use different ways to store masks. This function converts the
        different mask format to one format in the form of a bitmap [height, width, instances].

        Returns:
        masks: A bool array of shape [height, width, instance count] with one mask per instance.
        class_ids: a 1D int32 array of class IDs of the instance masks; crowds get negative ids.

        Masks that cover no pixel are skipped (recorded once in ``skipped``), as in Matterport;
        images without instances give bool [height, width, 0] and int32 [0] (Matterport's gave a
        warning and a [0, 0, 0] array).
        """
        # If not a COCO image, delegate to parent class.
        image_info = self._info(self.image_info, image_id, "image")
        if image_info["source"] != SOURCE:
            return super().load_mask(image_id)

        height, width = image_info["height"], image_info["width"]
        instance_masks, class_ids = [], []
        for m, class_id in self._instance_masks(image_info):
            instance_masks.append(m)
            class_ids.append(class_id)
        # Pack instance masks into an array
        if class_ids:
            mask = np.stack(instance_masks, axis=2).astype(bool)
            class_ids = np.array(class_ids, dtype=np.int32)
            return mask, class_ids
        return np.zeros([height, width, 0], dtype=bool), np.zeros([0], dtype=np.int32)

    def load_mask_crops(self, image_id):
        """load_mask's instances as mask crops (Dataset.load_mask_crops): each annotation is
        decoded alone and cut to its box, without the [height, width, instances] array; None
        for images of other sources or when a subclass overrides load_mask."""
        image_info = self._info(self.image_info, image_id, "image")
        if image_info["source"] != SOURCE or type(self).load_mask is not CocoDataset.load_mask:
            return None
        crops, class_ids = [], []
        for m, class_id in self._instance_masks(image_info):
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            y1, y2, x1, x2 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            crops.append((int(y1), int(x1), m[y1:y2, x1:x2].astype(bool)))
            class_ids.append(class_id)
        return (crops, np.array(class_ids, dtype=np.int32).reshape(-1),
                (image_info["height"], image_info["width"]))

    def _instance_masks(self, image_info):
        """(mask [height, width], class_id) of each annotation of the image that load_mask
        keeps: classes of the dataset, at least one pixel; crowds with negative ids."""
        height, width = image_info["height"], image_info["width"]
        for annotation in image_info["annotations"]:
            class_id = self.map_source_class_id(
                "{}.{}".format(SOURCE, annotation['category_id']))
            if class_id:
                m = self.annToMask(annotation, height, width)
                # Some objects are so small that they're less than 1 pixel area
                # and end up rounded out. Skip those objects.
                if m.max() < 1:
                    self._skip_once(image_info, annotation)
                    continue
                # Is it a crowd? If so, use a negative class ID.
                if annotation.get('iscrowd'):
                    # Use negative class ID for crowds
                    class_id *= -1
                    # For crowd masks, annToMask() sometimes returns a mask
                    # smaller than the given dimensions. If so, resize it.
                    if m.shape[0] != height or m.shape[1] != width:
                        m = np.ones([height, width], dtype=bool)
                yield m, class_id

    def _skip_once(self, image_info, annotation):
        """Record an annotation whose mask is empty, the first time load_mask meets it."""
        what = "annotation {} (image {})".format(annotation.get("id"), image_info["id"])
        record = (image_info["path"], what, "mask that covers no pixel")
        if record not in self.skipped:
            self.skipped.append(record)

    def _instance_class_ids(self, image_id):
        """Class ids from the annotations (crowds negative), without decoding masks."""
        image_info = self._info(self.image_info, image_id, "image")
        if image_info["source"] != SOURCE:
            return super()._instance_class_ids(image_id)
        ids = [self.map_source_class_id("{}.{}".format(SOURCE, a["category_id"]))
               for a in image_info["annotations"]]
        return [-i if a.get("iscrowd") else i for i, a in zip(ids, image_info["annotations"])]

    def image_reference(self, image_id):
        """Return a link to the image in the COCO Website (images that have a "coco_url"),
        else its path."""
        info = self._info(self.image_info, image_id, "image")
        if info["source"] == SOURCE and info.get("coco_url"):
            return "http://cocodataset.org/#explore?id={}".format(info["id"])
        return super().image_reference(image_id)

    # The following two functions are from pycocotools with a few changes.

    def annToRLE(self, ann, height, width):
        """
        Convert annotation which can be polygons, uncompressed RLE to RLE.
        :return: binary mask (numpy 2D array)
        """
        segm = ann['segmentation']
        if isinstance(segm, list):
            # polygon -- a single object might consist of multiple parts
            # we merge all parts into one mask rle code
            rles = maskUtils.frPyObjects(segm, height, width)
            rle = maskUtils.merge(rles)
        elif isinstance(segm['counts'], list):
            # uncompressed RLE
            rle = maskUtils.frPyObjects(segm, height, width)
        else:
            # rle
            rle = ann['segmentation']
        return rle

    def annToMask(self, ann, height, width):
        """
        Convert annotation which can be polygons, uncompressed RLE, or RLE to binary mask.
        :return: binary mask (numpy 2D array)
        """
        rle = self.annToRLE(ann, height, width)
        m = maskUtils.decode(rle)
        return m


def _check_layout(data, path):
    """({image id: image}, {category id: category}, [annotation]) after checking the keys Mask
    R-CNN needs; DatasetError naming the file and the entry otherwise."""
    def fail(message):
        return DatasetError("COCO annotation file {}: {}".format(path, message))

    if not isinstance(data, dict):
        raise fail("expected a JSON object with 'images', 'annotations' and 'categories', got "
                   "a {}".format(type(data).__name__))
    for key in ("images", "categories"):
        if not isinstance(data.get(key), list):
            raise fail("has no '{}' list".format(key))
    annotations = data.setdefault("annotations", [])
    if not isinstance(annotations, list):
        raise fail("'annotations' is not a list")

    images = {}
    for k, image in enumerate(data["images"]):
        missing = [key for key in ("id", "file_name", "height", "width")
                   if not isinstance(image, dict) or key not in image]
        if missing:
            raise fail("images[{}] has no {}".format(k, ", ".join(repr(m) for m in missing)))
        if image["id"] in images:
            raise fail("image id {} appears twice in 'images'".format(image["id"]))
        if not all(isinstance(image[key], int) and image[key] > 0 for key in ("height", "width")):
            raise fail("image {} has no positive integer height and width".format(image["id"]))
        images[image["id"]] = image
    categories = {}
    for k, category in enumerate(data["categories"]):
        if not isinstance(category, dict) or "id" not in category or "name" not in category:
            raise fail("categories[{}] has no 'id' and 'name'".format(k))
        if category["id"] == 0:
            raise fail("category id 0 is reserved for the background; number categories "
                       "from 1")
        categories[category["id"]] = category
    problems = []
    for k, annotation in enumerate(annotations):
        if not isinstance(annotation, dict) or "image_id" not in annotation \
                or "category_id" not in annotation:
            raise fail("annotations[{}] has no 'image_id' and 'category_id'".format(k))
        if annotation["image_id"] not in images:
            problems.append("annotation {} is for image {}, which is not in 'images'".format(
                annotation.get("id"), annotation["image_id"]))
        if annotation["category_id"] not in categories:
            problems.append("annotation {} has category {}, which is not in 'categories' "
                            "(unknown category)".format(annotation.get("id"),
                                                        annotation["category_id"]))
    if problems:
        raise fail("{} problem(s): {}".format(len(problems), few(problems, sep="; ")))
    return images, categories, annotations
