"""Images: resampling, the resize modes of the input pipeline, and molding for the network.

Glossary:
    image     [height, width, channels] (any channel count: 1, 3, 4...) or [height, width].
    window    (y1, x1, y2, x2): the part of the resized image that holds the original image
              (the rest is zero padding); y2/x2 exclusive.
    scale     factor applied to height and width (int 1 when the image was not resized).
    padding   [(top, bottom), (left, right), (0, 0)] zero rows/columns added by the resize mode.
    crop      (y, x, height, width) of the random crop of mode "crop", else None.
    molded    float32 image minus config.MEAN_PIXEL: what the network takes.

Resize modes (Matterport's resize_image):
    none    no resizing, the image is returned unchanged.
    square  scale up so the short side is min_dim (never down), scale down so the long side
            fits max_dim, then pad with zeros to [max_dim, max_dim].
    pad64   scale up by min_dim / min_scale as above (max_dim ignored), then pad each side to
            a multiple of 64 (the FPN has 6 levels, 2**6 = 64).
    crop    scale up by min_dim / min_scale, then take a random min_dim x min_dim crop
            (training only; max_dim ignored).
    scale_pad64
            scale as "square" (short side up to min_dim, long side at most max_dim), then pad
            height and width each to the next multiple of 64, not to a square (Detectron2's
            shortest-edge resize with a size divisibility of 64): a 1920x1080 photo with
            min_dim 800, max_dim 1024 becomes 1024x576, not 1024x1024. Not in Matterport.
"""
import random

import numpy as np
import skimage.transform
import skimage.util

from mrcnn.core.kernels import bilinear_resize, channel_lookup
from mrcnn.core.meta import compose_image_meta

__all__ = ["RESIZE_MODES", "resize", "resize_scale", "resized_shape",
           "check_multiple_of_64", "resize_image", "mold_image", "mold_image_float32",
           "unmold_image", "mold_for_inference"]

#: The modes resize_image accepts.
RESIZE_MODES = ("none", "square", "pad64", "crop", "scale_pad64")


def resize(image, output_shape, order=1, mode="constant", cval=0, clip=True,
           preserve_range=False, anti_aliasing=False, anti_aliasing_sigma=None):
    """A wrapper for scikit-image's resize() with Matterport's defaults.

    Same arguments as skimage.transform.resize, but anti_aliasing defaults to False (the
    behaviour Matterport's models were trained with). A bool image resized with order > 0 is
    resampled as float 0/1 (scikit-image >= 0.19 refuses to interpolate bool arrays; older
    versions converted them to float like this). Bilinear resizing with the defaults (order 1,
    mode "constant", cval 0, no anti-aliasing), which is what the input pipeline does to every
    image and mini-mask, is computed by core.kernels' compiled loop, with the same values
    bit for bit; order 0 of a multi-channel image is resized channel by channel (also the same
    values, about twice as fast).

    image: [height, width] or [height, width, channels].
    output_shape: (new_height, new_width) (trailing dims, if given, as in scikit-image).

    Returns: the resized image, float (or the input dtype where scikit-image keeps it).
    """
    image = np.asarray(image)
    if image.dtype == bool and order > 0:
        image = image.astype(np.float64)
    options = dict(order=order, mode=mode, cval=cval, clip=clip, preserve_range=preserve_range,
                   anti_aliasing=anti_aliasing, anti_aliasing_sigma=anti_aliasing_sigma)
    output_shape = tuple(output_shape)
    same_channels = output_shape[2:] in ((), image.shape[2:])
    if (order == 1 and mode == "constant" and cval == 0 and not anti_aliasing
            and image.ndim in (2, 3) and same_channels and image.size
            and (np.issubdtype(image.dtype, np.number))):
        floats = image if preserve_range else skimage.util.img_as_float(image)
        if floats.dtype == np.float16:
            floats = floats.astype(np.float32)
        out = bilinear_resize(floats, output_shape[:2])
        # scikit-image keeps float32 (computing in float64 as here, scipy casts at the end).
        out = out.astype(np.float32 if floats.dtype == np.float32 else np.float64, copy=False)
        return _clip_as_scikit_image(out, image, options)
    if image.ndim == 3 and image.shape[2] > 1 and order == 0 and same_channels:
        return _resize_by_channel(image, output_shape[:2], options)
    return skimage.transform.resize(image, output_shape, **options)


def _resize_by_channel(image, output_shape, options):
    """skimage.transform.resize of [H, W, C] ``image`` with ``options`` (order 0, no
    anti-aliasing), computed channel by channel: about twice as fast, and the same pixels (the
    channel axis is sampled at whole coordinates, where nearest interpolation weighs one value
    by exactly 1)."""
    unclipped = dict(options, clip=False)
    out = np.stack([skimage.transform.resize(image[..., c], output_shape, **unclipped)
                    for c in range(image.shape[2])], axis=-1)
    return _clip_as_scikit_image(out, image, options)


def _clip_as_scikit_image(out, image, options):
    """scikit-image's clip of a resized ``out`` to the range of the input ``image`` (taking in
    the fill value cval where it shows), over all channels together, in place."""
    if not options["clip"]:
        return out
    bounds = np.array([image.min(), image.max()], dtype=image.dtype)
    if options["order"] > 0 and not options["preserve_range"]:
        bounds = skimage.util.img_as_float(bounds)         # as resize scales the image
    low, high = bounds.astype(out.dtype)
    cval = options["cval"]
    if (options["mode"] == "constant" and not low <= cval <= high
            and out.min() <= cval <= out.max()):
        low, high = min(low, cval), max(high, cval)
    return np.clip(out, low, high, out=out)


def _pad_to_multiple(size):
    """(before, after) zero padding that makes `size` a multiple of 64, split evenly with the
    extra pixel after."""
    total = _pad64(size) - size
    return total // 2, total - total // 2


def resize_scale(height, width, min_dim=None, max_dim=None, min_scale=None, mode="square"):
    """The factor resize_image scales an image of height x width by (int 1: not resized).

    Raises ValueError for the settings resize_image cannot use: an unknown mode, "square" /
    "scale_pad64" without max_dim, "crop" without min_dim, "pad64" with min_dim not a multiple
    of 64.
    """
    if mode not in RESIZE_MODES:
        raise ValueError("mode must be one of {}, got {!r}".format(", ".join(RESIZE_MODES), mode))
    if mode == "none":
        return 1
    if mode in ("square", "scale_pad64") and not max_dim:
        raise ValueError("mode {!r} needs max_dim (the longest side), got {!r}"
                         .format(mode, max_dim))
    if mode == "crop" and not min_dim:
        raise ValueError("mode 'crop' needs min_dim (the side of the crop), got {!r}"
                         .format(min_dim))
    if mode == "pad64" and min_dim and min_dim % 64 != 0:
        raise ValueError("mode 'pad64' needs min_dim to be a multiple of 64, got {!r}"
                         .format(min_dim))
    scale = 1
    # Scale up but not down.
    if min_dim:
        scale = max(1, min_dim / min(height, width))
    if min_scale and scale < min_scale:
        scale = min_scale
    # Does it exceed max dim?
    if max_dim and mode in ("square", "scale_pad64"):
        image_max = max(height, width)
        if round(image_max * scale) > max_dim:
            scale = max_dim / image_max
    return scale


def _pad64(size):
    """`size` rounded up to a multiple of 64."""
    return -(-int(size) // 64) * 64


def resized_shape(height, width, min_dim=None, max_dim=None, min_scale=None, mode="square"):
    """(height, width) of what resize_image returns for a height x width image, computed
    without touching pixels (to group images of one output shape into batches)."""
    scale = resize_scale(height, width, min_dim, max_dim, min_scale, mode)
    h, w = round(height * scale), round(width * scale)
    if mode == "square":
        return int(max_dim), int(max_dim)
    if mode == "crop":
        return int(min_dim), int(min_dim)
    if mode in ("pad64", "scale_pad64"):
        return _pad64(h), _pad64(w)
    return int(h), int(w)


def check_multiple_of_64(shape, what):
    """ValueError unless height and width of `shape` are multiples of 64 (the six halvings
    of the feature pyramid must stay aligned); `what` names the image in the message."""
    h, w = int(shape[0]), int(shape[1])
    if h % 64 or w % 64:
        raise ValueError(
            "{} is {}x{} (height x width), but the network needs both to be multiples of 64 "
            "(the feature pyramid halves the image 6 times) and IMAGE_RESIZE_MODE 'none' feeds "
            "images unchanged: use 'scale_pad64' or 'pad64', which pad to multiples of 64, or "
            "crop or pad the image to {}x{}".format(what, h, w, _pad64(h), _pad64(w)))


def resize_image(image, min_dim=None, max_dim=None, min_scale=None, mode="square", rng=None):
    """Resizes an image keeping the aspect ratio unchanged.

    image: [height, width, channels] (any channel count) or [height, width].
    min_dim: if provided, resizes the image such that its smaller dimension == min_dim
        (it only scales up).
    max_dim: if provided, ensures that the image longest side doesn't exceed this value
        (modes "square" and "scale_pad64" only).
    min_scale: if provided, ensure that the image is scaled up by at least this factor even
        if min_dim doesn't require it.
    mode: Resizing mode, one of "none", "square", "pad64", "crop", "scale_pad64" (see the
        module docstring).
    rng: optional numpy.random.Generator used by mode "crop" to pick the crop. None uses
        Python's `random` module as Matterport did (so random.seed() reproduces its crops).

    Returns:
        image: the resized image, same dtype as the input (interpolated values are truncated
            by astype, as Matterport).
        window: (y1, x1, y2, x2). If max_dim is provided, padding might be inserted in the
            returned image. If so, this window is the coordinates of the image part of the
            full image (excluding the padding). The x2, y2 pixels are not included.
        scale: The scale factor used to resize the image.
        padding: Padding added to the image [(top, bottom), (left, right), (0, 0)].
        crop: (y, x, height, width) of the crop for mode "crop", else None.

    Matterport's crashes replaced by ValueError: unknown mode, "square" without max_dim,
    "crop" without min_dim, "pad64" with min_dim not a multiple of 64 (it asserted), an empty
    image. "pad64" now also works without min_dim (Matterport computed None % 64).
    """
    if mode not in RESIZE_MODES:
        raise ValueError("mode must be one of {}, got {!r}".format(", ".join(RESIZE_MODES), mode))
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError("image must have shape [height, width, channels] or [height, width], "
                         "got shape {}".format(image.shape))
    image_dtype = image.dtype
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ValueError("image is empty (shape {})".format(image.shape))
    window = (0, 0, h, w)
    padding = [(0, 0), (0, 0), (0, 0)]
    crop = None

    scale = resize_scale(h, w, min_dim, max_dim, min_scale, mode)
    if mode == "none":
        return image, window, scale, padding, crop
    if scale != 1:
        # Truncated to the input dtype now (as Matterport at the end: zero padding and
        # cropping commute with the cast), so that padding copies the small dtype.
        image = resize(image, (round(h * scale), round(w * scale)),
                       preserve_range=True).astype(image_dtype)

    h, w = image.shape[:2]
    if mode == "square":
        top_pad = (max_dim - h) // 2
        bottom_pad = max_dim - h - top_pad
        left_pad = (max_dim - w) // 2
        right_pad = max_dim - w - left_pad
        padding = [(top_pad, bottom_pad), (left_pad, right_pad), (0, 0)]
        image = np.pad(image, padding[:image.ndim], mode="constant", constant_values=0)
        window = (top_pad, left_pad, h + top_pad, w + left_pad)
    elif mode in ("pad64", "scale_pad64"):
        top_pad, bottom_pad = _pad_to_multiple(h)
        left_pad, right_pad = _pad_to_multiple(w)
        padding = [(top_pad, bottom_pad), (left_pad, right_pad), (0, 0)]
        image = np.pad(image, padding[:image.ndim], mode="constant", constant_values=0)
        window = (top_pad, left_pad, h + top_pad, w + left_pad)
    else:  # crop
        if h < min_dim or w < min_dim:
            raise ValueError("mode 'crop': the scaled image ({}x{}) is smaller than min_dim {}"
                             .format(h, w, min_dim))
        if rng is None:
            y = random.randint(0, h - min_dim)
            x = random.randint(0, w - min_dim)
        else:
            y = int(rng.integers(0, h - min_dim + 1))
            x = int(rng.integers(0, w - min_dim + 1))
        crop = (y, x, min_dim, min_dim)
        image = image[y:y + min_dim, x:x + min_dim]
        window = (0, 0, min_dim, min_dim)
    return image.astype(image_dtype), window, scale, padding, crop


def _mean_pixel(images, config):
    """config.MEAN_PIXEL as an array, checked against the channel count of `images`."""
    mean = np.asarray(config.MEAN_PIXEL)
    if mean.ndim == 1 and mean.size > 1 and np.shape(images)[-1:] != mean.shape:
        raise ValueError("images have {} channels (last axis) but config.MEAN_PIXEL has {} "
                         "values".format(np.shape(images)[-1] if np.ndim(images) else 0,
                                         mean.size))
    return mean


def mold_image(images, config):
    """Expects an RGB image (or array of images) and subtracts the mean pixel and converts
    it to float. Expects image colors in RGB order.

    images: [..., height, width, channels] with channels == len(config.MEAN_PIXEL).

    Returns: array of the same shape, images.astype(float32) - config.MEAN_PIXEL exactly as
    Matterport (so float64 with the default float64 MEAN_PIXEL; the network casts to float32).
    """
    mean = _mean_pixel(images, config)
    return np.asarray(images).astype(np.float32) - mean


def mold_image_float32(image, config, out=None):
    """mold_image(image, config).astype(np.float32), what the network computes on: for a uint8
    image [H, W, C] by a lookup in a table of mold_image's values for all 256 values of each
    channel (the same values, in one pass instead of three over float64).

    out: optional float32 [H, W, C] to write into (a slot of the batch array).
    Returns: float32 [H, W, C].
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3:
        molded = mold_image(image, config).astype(np.float32)
        if out is None:
            return molded
        out[...] = molded
        return out
    values = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, np.newaxis],
                             (256, image.shape[2]))
    table = mold_image(values, config).astype(np.float32)
    return channel_lookup(image, table, out)


def unmold_image(normalized_images, config):
    """Takes an image normalized with mold_image() and returns the original.

    normalized_images: [..., height, width, channels] float.

    Returns: uint8 array of the same shape. Values are clipped to [0, 255] before the cast
    (Matterport let them wrap around); in-range values are truncated as Matterport did.
    """
    mean = _mean_pixel(normalized_images, config)
    return np.clip(np.asarray(normalized_images) + mean, 0, 255).astype(np.uint8)


def mold_for_inference(image, config):
    """One image as the inference graph takes it (MaskRCNN.mold_inputs / detect()).

    image: [H, W, IMAGE_CHANNEL_COUNT]. config: reads the IMAGE_* settings, MEAN_PIXEL and
    NUM_CLASSES.
    Returns molded float32 [h, w, C] (resized per IMAGE_RESIZE_MODE, minus MEAN_PIXEL),
    image_meta float64 [12 + NUM_CLASSES] (image id 0, no active classes: inference ignores
    them), window int [4] (pixel window of the image inside the molded one).
    Raises ValueError for a wrong channel count, and in mode "none" for a size that is not a
    multiple of 64.
    """
    image = np.asarray(image)
    channels = config.IMAGE_CHANNEL_COUNT
    if image.ndim != 3 or image.shape[-1] != channels:
        raise ValueError(f"detect() expects images of shape [H, W, {channels}] "
                         f"(IMAGE_CHANNEL_COUNT), got {image.shape}")
    molded, window, scale, _, _ = resize_image(
        image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE,
        max_dim=config.IMAGE_MAX_DIM, mode=config.IMAGE_RESIZE_MODE)
    if config.IMAGE_RESIZE_MODE == "none":
        check_multiple_of_64(molded.shape, "the image")
    molded = mold_image(molded, config).astype(np.float32)
    image_meta = compose_image_meta(0, image.shape, molded.shape, window, scale,
                                    np.zeros([config.NUM_CLASSES], dtype=np.int32))
    return molded, image_meta, np.asarray(window)
