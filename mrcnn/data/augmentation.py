"""Augmentation adapters: one augmentation applied to an image and its instance masks alike.

Glossary:
    image     [height, width, channels], usually uint8 RGB (after resize_image).
    masks     bool [height, width, instances], one channel per instance (instances last).
    aligned   a geometric change (flip, crop, rotation) moves the mask pixels exactly as the image
              pixels; photometric changes (brightness, blur, noise) leave the masks alone.

Three kinds of augmentation are accepted by apply_augmentation:
    imgaug          an `imgaug.augmenters.Augmenter` (optional extra: `pip install imaug`, the
                    NumPy 2 fork that imports as `imgaug`; it is imported only when used).
                    As in Matterport, the augmenter is made deterministic and run twice, on the
                    image and on the masks; on the masks only augmenters whose class name is in
                    MASK_AUGMENTERS run (append a name there for your own geometric augmenter).
    albumentations  an albumentations 2.x transform or Compose; masks go in as its `masks`
                    target so every geometric transform moves them with the image.
    callable        any function f(image, masks) -> (image, masks).

Bounding boxes are not augmented: load_image_gt recomputes them from the augmented masks.
"""
import copy
import random
import sys

import numpy as np

__all__ = ["MASK_AUGMENTERS", "apply_augmentation"]

#: Class names of the imgaug augmenters that are applied to masks: Matterport's whitelist and
#: Rot90 (which Matterport's lacked: on square images the masks stayed unturned, silently).
#: Others (colour, blur, noise, ...) only change the image. Some augmenters, such as Affine,
#: have settings that are unsafe for masks (e.g. cval): always check yours on masks.
MASK_AUGMENTERS = ["Sequential", "SomeOf", "OneOf", "Sometimes",
                   "Fliplr", "Flipud", "CropAndPad",
                   "Affine", "PiecewiseAffine", "Rot90"]


def _is_instance(obj, module, qualified_names):
    """Whether obj is an instance of one of `qualified_names` ("pkg.mod:Class"), without
    importing `module` when the program has not imported it (then obj cannot be one)."""
    if module not in sys.modules:
        return False
    classes = []
    for qualified in qualified_names:
        mod_name, _, cls_name = qualified.partition(":")
        mod = sys.modules.get(mod_name)
        if mod is not None and hasattr(mod, cls_name):
            classes.append(getattr(mod, cls_name))
    return bool(classes) and isinstance(obj, tuple(classes))


def _is_imgaug(augmentation):
    return _is_instance(augmentation, "imgaug", ["imgaug.augmenters.meta:Augmenter"])


def _is_albumentations(augmentation):
    return _is_instance(augmentation, "albumentations", [
        "albumentations.core.composition:BaseCompose",
        "albumentations.core.transforms_interface:BasicTransform"])


def _describe(augmentation):
    """A short name for error messages: the class name, and the imgaug name if it has one."""
    name = getattr(augmentation, "__name__", None) or type(augmentation).__name__
    own_name = getattr(augmentation, "name", None)
    if isinstance(own_name, str) and own_name and own_name != name:
        return "{} '{}'".format(name, own_name)
    return name


def _seed(rng):
    """A 32-bit seed drawn from rng, for libraries that keep their own random state."""
    return int(rng.integers(0, 2 ** 31 - 1))


def _apply_imgaug(image, masks, augmentation, rng):
    import imgaug  # optional dependency: only imported when an imgaug augmenter is used

    def hook(images, augmenter, parents, default):
        """Determines which augmenters to apply to masks."""
        return augmenter.__class__.__name__ in MASK_AUGMENTERS

    # Make augmenters deterministic to apply similarly to images and masks.
    det = augmentation.to_deterministic()
    if rng is not None:
        det.seed_(_seed(rng), deterministic_too=True)
    image = det.augment_image(image)
    # imgaug does not take bool arrays: masks travel as uint8 0/1.
    masks = det.augment_image(masks.astype(np.uint8), hooks=imgaug.HooksImages(activator=hook))
    return image, np.asarray(masks).astype(bool)


def _apply_albumentations(image, masks, augmentation, rng):
    if rng is not None:
        # A private copy: the caller's transform (shared by worker threads) keeps its state.
        augmentation = copy.deepcopy(augmentation)
        # One NumPy and one Python generator for the whole tree, drawn from in call order. Not
        # set_random_seed(seed): albumentations 2.x gives every nested transform generators of
        # that same seed, so their draws coincide: two p=0.5 flips both apply or neither, and
        # a SomeOf inside a OneOf picks its pair from the OneOf's own draw.
        augmentation.set_random_state(np.random.default_rng(_seed(rng)),
                                      random.Random(_seed(rng)))
    count = masks.shape[2]
    result = augmentation(image=image,
                          masks=[masks[:, :, i].astype(np.uint8) for i in range(count)])
    image = result["image"]
    out = result["masks"]
    if count == 0:
        masks = np.zeros(np.shape(image)[:2] + (0,), dtype=bool)
    else:
        masks = np.stack([np.asarray(m) for m in out], axis=-1).astype(bool)
    return image, masks


def _apply_callable(image, masks, augmentation):
    result = augmentation(image, masks)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ValueError("augmentation {} must return (image, masks), got {}"
                         .format(_describe(augmentation), type(result).__name__))
    image, masks = result
    return np.asarray(image), np.asarray(masks).astype(bool)


def _not_for_masks(augmentation):
    """Class names of the imgaug augmenters in `augmentation` that skip the masks."""
    children = [augmentation] + list(augmentation.get_all_children(flat=True))
    names = {type(a).__name__ for a in children}
    return sorted(names - set(MASK_AUGMENTERS))


def _check_output(before_image, before_masks, image, masks, augmentation):
    """Raises ValueError naming the augmentation if image and masks are no longer aligned."""
    name = _describe(augmentation)
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        raise ValueError("augmentation {} returned an image of shape {}; expected [height, width, "
                         "channels]".format(name, np.shape(image)))
    if image.dtype != before_image.dtype:
        raise ValueError("augmentation {} changed the image dtype from {} to {}; keep {}"
                         .format(name, before_image.dtype, image.dtype, before_image.dtype))
    if image.shape[2] != before_image.shape[2]:
        raise ValueError("augmentation {} changed the number of image channels from {} to {}"
                         .format(name, before_image.shape[2], image.shape[2]))
    if masks.ndim != 3 or masks.shape[2] != before_masks.shape[2]:
        raise ValueError("augmentation {} returned masks of shape {}; expected [height, width, {}] "
                         "(one channel per instance)".format(name, masks.shape,
                                                             before_masks.shape[2]))
    if masks.shape[:2] != image.shape[:2]:
        hint = ""
        if _is_imgaug(augmentation):
            skipped = _not_for_masks(augmentation)
            hint = (" imgaug augmenters not applied to masks: {}; add a geometric one to "
                    "mrcnn.data.augmentation.MASK_AUGMENTERS".format(", ".join(skipped)))
        raise ValueError("augmentation {} broke the alignment of image and masks: image {}x{} "
                         "(was {}x{}) but masks {}x{} (were {}x{}).{}".format(
                             name, image.shape[0], image.shape[1],
                             before_image.shape[0], before_image.shape[1],
                             masks.shape[0], masks.shape[1],
                             before_masks.shape[0], before_masks.shape[1], hint))


def apply_augmentation(image, masks, augmentation, rng=None):
    """Applies one augmentation to an image and its instance masks, keeping them aligned.

    image: [height, width, channels] array (uint8 RGB from a Dataset).
    masks: [height, width, instances] (bool, or 0/1 of any dtype); instances may be 0.
    augmentation: an imgaug augmenter, an albumentations transform / Compose, or a callable
        f(image, masks) -> (image, masks); None returns the inputs unchanged.
    rng: optional numpy.random.Generator. Given, the imgaug / albumentations randomness is
        seeded from it (a copy of the augmentation is seeded, the caller's object keeps its
        state), so the result is reproducible; None uses the augmentation's own random state
        (Matterport's behaviour). Nested transforms draw independently either way: imgaug
        derives a generator per child, albumentations transforms share one stream. A plain
        callable manages its own randomness.

    Returns: (image, masks): the augmented image, with the dtype and channel count of `image`,
        and bool masks [new_height, new_width, instances]. The image may change size (e.g. a
        crop) only if the masks change the same way.

    Raises ValueError naming the augmentation when the output breaks these rules (other dtype
    or channel count, a different number of mask channels, masks not the size of the image).
    """
    if augmentation is None:
        return image, masks
    image = np.asarray(image)
    masks = np.asarray(masks)
    if image.ndim != 3:
        raise ValueError("image must have shape [height, width, channels], got shape {}"
                         .format(image.shape))
    if masks.ndim != 3 or masks.shape[:2] != image.shape[:2]:
        raise ValueError("masks must have shape [{}, {}, instances] to match the image, got shape "
                         "{}".format(image.shape[0], image.shape[1], masks.shape))
    if _is_imgaug(augmentation):
        new_image, new_masks = _apply_imgaug(image, masks, augmentation, rng)
    elif _is_albumentations(augmentation):
        new_image, new_masks = _apply_albumentations(image, masks, augmentation, rng)
    elif callable(augmentation):
        new_image, new_masks = _apply_callable(image, masks, augmentation)
    else:
        raise TypeError("augmentation must be an imgaug augmenter, an albumentations transform "
                        "or a callable (image, masks) -> (image, masks), got {}"
                        .format(type(augmentation).__name__))
    _check_output(image, masks, np.asarray(new_image), new_masks, augmentation)
    return np.asarray(new_image), new_masks
