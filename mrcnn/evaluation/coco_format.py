"""Instances in the COCO format: a Dataset's ground truth, and detections as COCO results.

Glossary:
    image id     the dataset's internal image id (index into ``dataset.image_info``); the keys of
                 ``detections``.
    detection    the dict :meth:`MaskRCNN.detect` returns for one image: ``rois`` int32
                 [N, (y1, x1, y2, x2)] pixels of the original image, y2/x2 exclusive (as
                 Matterport's extract_bboxes); ``class_ids`` int32 [N]; ``scores`` float32 [N];
                 ``masks`` bool [H, W, N].
    class id     the dataset's internal class id: 1 .. num_classes - 1 (0 is the background).
                 Negative ids in ``load_mask`` mark crowd regions of class -id (COCO iscrowd).
    COCO box     [x, y, width, height] in pixels, width = x2 - x1 with x2 exclusive, so a box
                 from a mask and a box from a detection's roi agree.
    RLE          pycocotools' run-length encoding {"size": [H, W], "counts": str} of a
                 Fortran-ordered uint8 mask (counts decoded from bytes so it is JSON text).
    source ids   the ids the data source uses (``image_info[i]["id"]``, the class's source id
                 from ``get_source_class_id``), written into an exported json so that it scores
                 against the source's own annotation file (e.g. COCO's instances_val2017.json).
"""
import contextlib
import copy
import io
import json
import numbers

import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.coco import COCO

from mrcnn.files import atomic_path

__all__ = ["load_ground_truth", "encode_masks", "ground_truth_annotations", "detection_results",
           "categories", "build_coco_ground_truth", "make_coco", "load_coco_results",
           "detections_to_coco_results", "save_coco_results", "check_image_id",
           "check_detection", "to_source_ids", "write_json", "quiet"]

DETECTION_KEYS = ("rois", "class_ids", "scores", "masks")


def _num_classes(dataset):
    try:
        return int(dataset.num_classes)
    except AttributeError:
        raise ValueError("dataset: call dataset.prepare() before evaluating") from None


def check_image_id(dataset, image_id):
    """``image_id`` as a Python int; ValueError unless it is an image id of ``dataset``."""
    if isinstance(image_id, (bool, np.bool_)) or not isinstance(image_id, numbers.Integral):
        raise ValueError(f"image ids (the keys of detections, image_ids) must be the dataset's "
                         f"integer image ids, got {image_id!r}")
    image_id = int(image_id)
    if not 0 <= image_id < len(dataset.image_info):
        raise ValueError(f"image id {image_id} is out of range: the dataset has "
                         f"{len(dataset.image_info)} images")
    return image_id


def load_ground_truth(dataset, image_id, image_shape=None):
    """The ground truth of one image from ``dataset.load_mask``, checked.

    image_shape: (height, width) to use when load_mask returns a mask without size (Matterport's
        default load_mask returned [0, 0, 0]) and the image info has no "height"/"width"; when
        neither gives it, ``dataset.load_image`` does.
    Returns:
        mask: bool [H, W, N] of the ORIGINAL image size. Instances without any pixel are dropped
            (no detection can match them; Matterport's extract_bboxes gave them zero boxes that
            compute_matches then mistook for padding).
        class_ids: int32 [N], negative for crowd regions.
    Raises ValueError naming the image for a mask that is not [H, W, N], a class id count that
    differs from N, or a class id that is 0 or not a class of the dataset.
    """
    num_classes = _num_classes(dataset)
    mask, class_ids = dataset.load_mask(image_id)
    mask = np.asarray(mask)
    class_ids = np.asarray(class_ids).reshape(-1)
    where = f"image {image_id} ({dataset.image_reference(image_id) or 'no reference'})"
    if mask.ndim != 3:
        raise ValueError(f"load_mask of {where} returned a mask of shape {mask.shape}, "
                         f"expected [height, width, instances]")
    if class_ids.shape[0] != mask.shape[2]:
        raise ValueError(f"load_mask of {where} returned {class_ids.shape[0]} class ids for "
                         f"{mask.shape[2]} masks")
    if class_ids.size and (not np.issubdtype(class_ids.dtype, np.integer)
                           or np.any(class_ids == 0)
                           or np.any(np.abs(class_ids) >= num_classes)):
        raise ValueError(f"load_mask of {where} returned class ids {class_ids.tolist()}; they "
                         f"must be integers in 1..{num_classes - 1} (negative for crowds)")
    if mask.shape[0] == 0 or mask.shape[1] == 0:
        if mask.shape[2]:
            raise ValueError(f"load_mask of {where} returned {mask.shape[2]} masks of size 0")
        info = dataset.image_info[image_id]
        if "height" in info and "width" in info:
            image_shape = (info["height"], info["width"])
        if image_shape is None:
            image_shape = dataset.load_image(image_id).shape[:2]
        mask = np.zeros((int(image_shape[0]), int(image_shape[1]), 0), dtype=bool)
    mask = mask.astype(bool, copy=False)
    present = mask.any(axis=(0, 1))
    return mask[..., present], class_ids[present].astype(np.int32)


def encode_masks(masks):
    """RLEs of masks [H, W, N] (any dtype, nonzero is foreground): a list of N JSON-ready dicts
    {"size": [H, W], "counts": str}."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape [height, width, N], got {masks.shape}")
    if masks.shape[2] == 0:
        return []
    rles = mask_utils.encode(np.asfortranarray(masks != 0, dtype=np.uint8))
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
    return rles


def ground_truth_annotations(image_id, mask, class_ids, first_id=1):
    """COCO annotations of one image's ground truth.

    image_id: int; mask: bool [H, W, N]; class_ids: int [N] (negative: crowd of class -id).
    first_id: the annotation id of the first instance (COCO ids start at 1: pycocotools reads an
        id 0 as "not matched").
    Returns a list of N dicts with "id", "image_id", "category_id" (positive class id),
    "iscrowd" (1 for crowds), "segmentation" (RLE), "area" (mask pixels), "bbox" [x, y, w, h]
    (from the mask).
    """
    rles = encode_masks(mask)
    if not rles:
        return []
    areas = mask_utils.area(rles)
    boxes = mask_utils.toBbox(rles)
    class_ids = np.asarray(class_ids).reshape(-1)
    return [{"id": first_id + k, "image_id": int(image_id),
             "category_id": int(abs(class_ids[k])), "iscrowd": int(class_ids[k] < 0),
             "segmentation": rles[k], "area": float(areas[k]),
             "bbox": [float(v) for v in boxes[k]]}
            for k in range(len(rles))]


def check_detection(dataset, image_id, detection):
    """The four arrays of one detect() dict, checked; ValueError naming the image and key.

    Returns rois [N, 4], class_ids int64 [N], scores float64 [N], masks bool [H, W, N]
    (masks of another dtype: > 0.5 is foreground, as in compute_overlaps_masks).
    All-zero rois are refused: they are padding, which detect() strips, and compute_matches
    would trim them and misalign the scores.
    """
    where = f"detections[{image_id}]"
    if not isinstance(detection, dict):
        raise TypeError(f"{where} must be the dict detect() returns, got {type(detection)}")
    missing = [key for key in DETECTION_KEYS if key not in detection]
    if missing:
        raise ValueError(f"{where} lacks {missing}; expected the keys {list(DETECTION_KEYS)} "
                         f"that detect() returns")
    rois = np.asarray(detection["rois"])
    if rois.size == 0:
        rois = rois.reshape(0, 4)                 # an empty roi list of any shape
    class_ids = np.asarray(detection["class_ids"]).reshape(-1)
    scores = np.asarray(detection["scores"], dtype=np.float64).reshape(-1)
    masks = np.asarray(detection["masks"])
    n = class_ids.shape[0]
    if rois.ndim != 2 or rois.shape != (n, 4) or scores.shape[0] != n:
        raise ValueError(f"{where}: rois {rois.shape}, class_ids {class_ids.shape} and scores "
                         f"{scores.shape} must be [N, 4], [N] and [N]")
    if masks.ndim != 3 or masks.shape[2] != n:
        raise ValueError(f"{where}: masks has shape {masks.shape}, expected [height, width, {n}]")
    if n and np.any(np.all(rois == 0, axis=1)):
        raise ValueError(f"{where}: rois {np.where(np.all(rois == 0, axis=1))[0].tolist()} are "
                         f"all zeros (padding); remove them with their class ids, scores, masks")
    num_classes = _num_classes(dataset)
    if n and (np.any(class_ids < 1) or np.any(class_ids >= num_classes)):
        raise ValueError(f"{where}: class ids {class_ids.tolist()} must be in "
                         f"1..{num_classes - 1}")
    if masks.dtype != bool:
        masks = masks > 0.5
    return rois, class_ids.astype(np.int64), scores, masks


def detection_results(image_id, rois, class_ids, scores, masks=None):
    """COCO results of one image's detections (internal ids), JSON-ready.

    rois: [N, (y1, x1, y2, x2)] pixels, y2/x2 exclusive; class_ids: [N]; scores: [N];
    masks: bool [H, W, N] or None (then no "segmentation").
    Returns a list of N dicts "image_id", "category_id", "score", "bbox" [x, y, w, h] and
    "segmentation" (RLE) as Matterport's build_coco_results.
    """
    rois = np.asarray(rois, dtype=np.float64).reshape(-1, 4)
    boxes = np.stack([rois[:, 1], rois[:, 0], rois[:, 3] - rois[:, 1], rois[:, 2] - rois[:, 0]],
                     axis=1)
    results = [{"image_id": int(image_id), "category_id": int(class_ids[i]),
                "score": float(scores[i]), "bbox": [float(v) for v in boxes[i]]}
               for i in range(rois.shape[0])]
    if masks is not None:
        for result, rle in zip(results, encode_masks(masks)):
            result["segmentation"] = rle
    return results


def make_coco(dataset_dict, verbose=0):
    """A pycocotools COCO object of an in-memory dataset dict (its prints silenced unless
    verbose > 1)."""
    coco = COCO()
    coco.dataset = dataset_dict
    with quiet(verbose):
        coco.createIndex()
    return coco


def categories(dataset):
    """COCO categories of the dataset's classes 1..num_classes - 1 (internal ids, with names)."""
    return [{"id": c, "name": dataset.class_names[c]} for c in range(1, _num_classes(dataset))]


def build_coco_ground_truth(dataset, image_ids=None, verbose=0):
    """The dataset's ground truth as an in-memory pycocotools COCO object.

    image_ids: the internal image ids to include (default: all).
    Images use internal ids with their original "height"/"width"; categories are the internal
    class ids 1..num_classes - 1 with their names; crowd regions get iscrowd=1.
    """
    image_ids = dataset.image_ids if image_ids is None else image_ids
    images, annotations = [], []
    for image_id in image_ids:
        image_id = check_image_id(dataset, image_id)
        mask, class_ids = load_ground_truth(dataset, image_id)
        images.append({"id": image_id, "height": mask.shape[0], "width": mask.shape[1]})
        annotations += ground_truth_annotations(image_id, mask, class_ids,
                                                first_id=len(annotations) + 1)
    return make_coco({"images": images, "annotations": annotations,
                      "categories": categories(dataset)}, verbose=verbose)


def _source_ids_possible(dataset, image_ids, class_ids, required):
    """Whether every image and class has an integer source id (and, when not ``required``,
    comes from the "coco" source). Raises ValueError when ``required`` and one does not."""
    for image_id in image_ids:
        info = dataset.image_info[image_id]
        source_id = info.get("id")
        ok = isinstance(source_id, numbers.Integral) and not isinstance(source_id, bool)
        if not required and (info.get("source") != "coco" or not ok):
            return False
        if required and not ok:
            raise ValueError(f"source_ids=True: image {image_id} has the source id "
                             f"{source_id!r}, but COCO results need integer image ids")
    for class_id in class_ids:
        source = dataset.class_info[class_id]["source"]
        if not required and source != "coco":
            return False
        source_id = dataset.get_source_class_id(class_id, source)
        if not isinstance(source_id, numbers.Integral):
            if not required:
                return False
            raise ValueError(f"source_ids=True: class {class_id} has the source id "
                             f"{source_id!r}, but COCO results need integer category ids")
    return True


def to_source_ids(dataset, results, source_ids=None):
    """Results with internal ids -> results with the source's ids (a new list).

    source_ids: True: write each image's ``image_info["id"]`` and each class's
        ``dataset.get_source_class_id(class_id, source)``; False: keep the internal ids;
        None (default): True when every image and class of the results comes from the "coco"
        source with integer ids (a COCO-loaded dataset), else False.
    """
    image_ids = sorted({r["image_id"] for r in results})
    class_ids = sorted({r["category_id"] for r in results})
    if source_ids is None:
        source_ids = _source_ids_possible(dataset, image_ids, class_ids, required=False)
    elif source_ids:
        _source_ids_possible(dataset, image_ids, class_ids, required=True)
    if not source_ids:
        return [dict(r) for r in results]
    image_map = {i: int(dataset.image_info[i]["id"]) for i in image_ids}
    class_map = {c: int(dataset.get_source_class_id(c, dataset.class_info[c]["source"]))
                 for c in class_ids}
    return [dict(r, image_id=image_map[r["image_id"]], category_id=class_map[r["category_id"]])
            for r in results]


def detections_to_coco_results(dataset, detections, source_ids=None):
    """Detections of several images as a list of COCO result dicts (JSON serializable).

    dataset: the prepared Dataset the images come from.
    detections: {image_id: the dict detect() returns for that image}.
    source_ids: which ids to write, see :func:`to_source_ids` (default: the original COCO
        image and category ids for a COCO-loaded dataset, else the internal ids).
    Returns a list of dicts "image_id", "category_id", "score", "bbox" [x, y, w, h],
    "segmentation" (RLE with str counts), one per detection, in image order then detection order.
    """
    results = []
    for image_id in sorted(detections, key=lambda i: check_image_id(dataset, i)):
        rois, class_ids, scores, masks = check_detection(dataset, image_id,
                                                         detections[image_id])
        results += detection_results(int(image_id), rois, class_ids, scores, masks)
    return to_source_ids(dataset, results, source_ids)


def save_coco_results(path, dataset, detections, source_ids=None):
    """Write :func:`detections_to_coco_results` to the json file ``path``; returns the results.

    The file holds "bbox" and "segmentation" for every detection, as Matterport's coco.py wrote
    it. (pycocotools' loadRes then takes a result's area from its box for both iou types; to score
    "segm" as the COCO server does, with mask areas, drop the "bbox" fields first, as
    :func:`mrcnn.evaluate.evaluate_detections` does.)
    """
    results = detections_to_coco_results(dataset, detections, source_ids=source_ids)
    write_json(path, results)
    return results


def write_json(path, data, indent=None):
    """Write ``data`` as JSON to ``path`` (its folder created), NumPy scalars and arrays as
    numbers and lists; the file appears complete or not at all (written aside, then renamed)."""
    with atomic_path(path, suffix=".json.tmp") as tmp_path:
        with open(tmp_path, "w") as f:
            json.dump(data, f, indent=indent, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def load_coco_results(coco_gt, results, verbose=0):
    """pycocotools' ``coco_gt.loadRes`` on a copy of ``results`` (it edits them), also when
    ``results`` is empty (loadRes fails on an empty list)."""
    if not results:
        return make_coco({"images": list(coco_gt.dataset["images"]),
                          "categories": copy.deepcopy(coco_gt.dataset["categories"]),
                          "annotations": []}, verbose=verbose)
    with quiet(verbose):
        return coco_gt.loadRes(copy.deepcopy(results))


def quiet(verbose):
    """Context that swallows stdout unless verbose > 1 (pycocotools prints a lot)."""
    if verbose > 1:
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(io.StringIO())
