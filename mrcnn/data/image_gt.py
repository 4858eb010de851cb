"""Ground truth of one training image: load, resize, augment, boxes from masks, mini-masks.

Glossary:
    image       [height, width, channels] uint8 as the Dataset returns it, then resized with
                config.IMAGE_RESIZE_MODE (so [IMAGE_MAX_DIM, IMAGE_MAX_DIM, C] in mode "square").
    mask        bool [height, width, instances], one channel per instance.
    mini-mask   bool [MINI_MASK_SHAPE[0], MINI_MASK_SHAPE[1], instances]: each instance's box
                content resized (see mrcnn.core.masks.minimize_mask).
    bbox        int32 [instances, (y1, x1, y2, x2)] pixel boxes, y2/x2 exclusive, recomputed
                from the final masks (extract_bboxes).
    class_ids   int32 [instances]; class 0 is background, negative ids mark crowds (COCO
                iscrowd regions) and pass through unchanged.
    image_meta  [IMAGE_META_SIZE] float64 vector (mrcnn.core.meta.compose_image_meta).
"""
import contextlib
import logging
import random

import numpy as np

from mrcnn.core.boxes import extract_bboxes
from mrcnn.core.images import check_multiple_of_64, resize_image
from mrcnn.core.masks import mask_crops, minimize_mask, resize_and_minimize_crops, resize_mask
from mrcnn.core.meta import compose_image_meta
from mrcnn.data.augmentation import apply_augmentation

__all__ = ["load_image_gt", "describe_image", "errors_naming_image"]


def describe_image(dataset, image_id):
    """"image <id> (<reference>)" for error messages; the reference is whatever
    dataset.image_reference() returns (a path, a URL, ...), left out if that call fails."""
    try:
        reference = dataset.image_reference(image_id)
    except Exception:  # the message must not hide the original problem behind a new one
        reference = None
    if reference is None or (isinstance(reference, str) and not reference):
        return "image {}".format(image_id)
    return "image {} ({})".format(image_id, reference)


@contextlib.contextmanager
def errors_naming_image(dataset, image_id, doing="loading the ground truth of"):
    """Context manager: an exception raised inside gets the note "while <doing> image <id>
    (<reference>)" unless its message names the image already. The exception keeps its type
    and traceback (notes are shown under it; Python >= 3.11)."""
    where = describe_image(dataset, image_id)
    try:
        yield where
    except Exception as error:
        if where not in str(error) and hasattr(error, "add_note"):
            error.add_note("while {} {}".format(doing, where))
        raise


def _checked_mask(mask, class_ids, image, where):
    """The dataset's (mask, class_ids) as bool [H, W, N] and int32 [N], or a ValueError."""
    mask = np.asarray(mask)
    class_ids = np.asarray(class_ids)
    if class_ids.ndim != 1 or (class_ids.size and class_ids.dtype.kind not in "iu"):
        raise ValueError("{}: load_mask must return integer class_ids of shape [instances], got "
                         "dtype {} shape {}".format(where, class_ids.dtype, class_ids.shape))
    if mask.ndim != 3:
        raise ValueError("{}: load_mask must return a mask of shape [height, width, instances], "
                         "got shape {}".format(where, mask.shape))
    if mask.shape[2] != class_ids.shape[0]:
        raise ValueError("{}: load_mask returned {} mask channels but {} class_ids"
                         .format(where, mask.shape[2], class_ids.shape[0]))
    if mask.shape[2] == 0:
        # No instances. Matterport's default load_mask returns np.empty([0, 0, 0]).
        return np.zeros(image.shape[:2] + (0,), dtype=bool), np.zeros([0], dtype=np.int32)
    if mask.shape[:2] != image.shape[:2]:
        raise ValueError("{}: mask is {}x{} but the image is {}x{}".format(
            where, mask.shape[0], mask.shape[1], image.shape[0], image.shape[1]))
    return mask.astype(bool), class_ids.astype(np.int32)


def _checked_crops(dataset, image_id, image, where):
    """(crops, class_ids int32 [N]) from dataset.load_mask_crops, or None where the dataset
    gives none (then load_mask is used); a ValueError when they do not fit the image."""
    load_crops = getattr(dataset, "load_mask_crops", None)     # Matterport-style datasets lack it
    result = load_crops(image_id) if load_crops is not None else None
    if result is None:
        return None
    crops, class_ids, shape = result
    class_ids = np.asarray(class_ids, dtype=np.int32).reshape(-1)
    if len(crops) != class_ids.shape[0]:
        raise ValueError("{}: load_mask_crops returned {} instances but {} class_ids"
                         .format(where, len(crops), class_ids.shape[0]))
    if crops and tuple(shape) != image.shape[:2]:
        raise ValueError("{}: mask is {}x{} but the image is {}x{}".format(
            where, shape[0], shape[1], image.shape[0], image.shape[1]))
    return crops, class_ids


def load_image_gt(dataset, config, image_id, augment=False, augmentation=None,
                  use_mini_mask=False, *, rng=None):
    """Load and return ground truth data for an image (image, mask, bounding boxes).

    dataset: a prepared mrcnn Dataset (load_image, load_mask, image_info, source_class_ids).
    config: the model Config (IMAGE_RESIZE_MODE, IMAGE_MIN_DIM, IMAGE_MAX_DIM,
        IMAGE_MIN_SCALE, MINI_MASK_SHAPE).
    image_id: index of the image in the dataset.
    augment: (deprecated. Use augmentation instead). If true, flip the image and masks
        left-right half of the time.
    augmentation: Optional. An imgaug augmenter (e.g. imgaug.augmenters.Fliplr(0.5)), an
        albumentations transform, or a callable (image, masks) -> (image, masks); see
        mrcnn.data.augmentation.apply_augmentation. It must keep the image size.
    use_mini_mask: If False, returns full-size masks that are the same height and width as
        the image. These can be big, for example 1024x1024x100 (for 100 instances). Mini masks
        are smaller, typically 56x56, generated by extracting the bounding box of the object
        and resizing it to MINI_MASK_SHAPE.
    rng: keyword only, optional numpy.random.Generator for the random crop, the flip and the
        augmentation; None uses the global random state as Matterport did.

    Returns:
    image: [height, width, channels], dtype of dataset.load_image (uint8).
    image_meta: [IMAGE_META_SIZE] (compose_image_meta; holds the original shape).
    class_ids: int32 [instance_count] class IDs (negative for crowds, unchanged).
    bbox: int32 [instance_count, (y1, x1, y2, x2)].
    mask: bool [height, width, instance_count], or [MINI_MASK_SHAPE[0], MINI_MASK_SHAPE[1],
        instance_count] with use_mini_mask. Instances whose mask became empty (resized away,
        cropped out, moved out by augmentation) are dropped from all three.

    An image without instances gives instance_count 0 (arrays of shape [0], [0, 4] and
    [h, w, 0]). A mask that does not match the image, or any error raised by the dataset or
    the augmentation, names the image id and dataset.image_reference(image_id).
    """
    with errors_naming_image(dataset, image_id) as where:
        image = np.asarray(dataset.load_image(image_id))
        if image.ndim != 3:
            raise ValueError("{}: load_image must return [height, width, channels], got shape {}"
                             .format(where, image.shape))
        # Mini-masks and nothing that needs full masks: the dataset's mask crops where it
        # gives them (the same instances, without the [H, W, N] array).
        fast = use_mini_mask and not augment and augmentation is None
        crops = _checked_crops(dataset, image_id, image, where) if fast else None
        if crops is None:
            mask, class_ids = _checked_mask(*dataset.load_mask(image_id), image, where)
        else:
            crops, class_ids = crops
        original_shape = image.shape
        image, window, scale, padding, crop = resize_image(
            image,
            min_dim=config.IMAGE_MIN_DIM,
            min_scale=config.IMAGE_MIN_SCALE,
            max_dim=config.IMAGE_MAX_DIM,
            mode=config.IMAGE_RESIZE_MODE,
            rng=rng)
        if config.IMAGE_RESIZE_MODE == "none":
            check_multiple_of_64(image.shape, where)
        if fast:
            # Mini-masks straight from each instance's box: the same boxes and mini-masks as
            # the general path below, without the resized [H, W, N] masks.
            if crops is None:
                crops = mask_crops(mask)
            keep, bbox, mask, mask_shape = resize_and_minimize_crops(
                crops, original_shape[:2], scale, padding, crop, config.MINI_MASK_SHAPE)
            _check_mask_shape(mask_shape, image, where)
            image_meta = compose_image_meta(image_id, original_shape, image.shape, window,
                                            scale, _active_class_ids(dataset, image_id))
            return image, image_meta, class_ids[keep], bbox, mask
        mask = resize_mask(mask, scale, padding, crop)
        _check_mask_shape(mask.shape, image, where)

        # Random horizontal flips (deprecated in favour of augmentation, as in Matterport).
        if augment:
            logging.warning("'augment' is deprecated. Use 'augmentation' instead.")
            flip = random.randint(0, 1) if rng is None else rng.integers(0, 2)
            if flip:
                image = np.fliplr(image)
                mask = np.fliplr(mask)

        if augmentation is not None:
            image_shape = image.shape
            image, mask = apply_augmentation(image, mask, augmentation, rng=rng)
            if image.shape != image_shape:
                raise ValueError(
                    "{}: augmentation changed the image shape from {} to {}; image_meta "
                    "describes the resized image, so augmentations must keep its size (pad "
                    "after cropping, or crop with IMAGE_RESIZE_MODE='crop')"
                    .format(where, image_shape, image.shape))

    # Drop instances whose mask became empty (resized away, cropped out or augmented out).
    keep = np.any(mask, axis=(0, 1))
    mask = mask[:, :, keep]
    class_ids = class_ids[keep]
    # Bounding boxes from the final masks: [num_instances, (y1, x1, y2, x2)]
    bbox = extract_bboxes(mask)

    # Resize masks to smaller size to reduce memory usage
    if use_mini_mask:
        mask = minimize_mask(bbox, mask, config.MINI_MASK_SHAPE)

    image_meta = compose_image_meta(image_id, original_shape, image.shape,
                                    window, scale, _active_class_ids(dataset, image_id))
    return image, image_meta, class_ids, bbox, mask


def _active_class_ids(dataset, image_id):
    """1 for each class of the dataset the image comes from (different datasets have
    different classes), 0 for the others: int32 [num_classes]."""
    active_class_ids = np.zeros([dataset.num_classes], dtype=np.int32)
    active_class_ids[dataset.source_class_ids[dataset.image_info[image_id]["source"]]] = 1
    return active_class_ids


def _check_mask_shape(mask_shape, image, where):
    if tuple(mask_shape[:2]) != image.shape[:2]:
        raise ValueError("{}: the resized mask is {}x{} but the resized image is {}x{}".format(
            where, mask_shape[0], mask_shape[1], image.shape[0], image.shape[1]))
