"""Reading image files into arrays: channel conversion, bit depth, EXIF orientation.

Used by :meth:`mrcnn.datasets.base.Dataset.load_image` and by the annotation-file loaders.
Returns uint8 [H, W, C] arrays; failures raise ValueError describing the problem (the caller adds
which image it was).
"""
import io
import os

import numpy as np
import PIL.Image
import skimage.color
import skimage.io
import skimage.util

__all__ = ["read_image", "image_size", "is_image_file", "IMAGE_EXTENSIONS",
           "EXIF_ORIENTATION_TAG"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp")
#: The EXIF tag that tells how a camera image must be turned to be seen upright.
EXIF_ORIENTATION_TAG = 0x0112


def _open_source(source):
    """A path for skimage/PIL, or a BytesIO for raw bytes."""
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else os.fspath(source)


def _exif_orientation(source):
    """The EXIF orientation (1..8) of an image file or bytes; 1 when absent or unreadable."""
    try:
        with PIL.Image.open(_open_source(source)) as image:
            value = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if value in range(1, 9) else 1


def _orient(image, orientation):
    """The image turned upright for an EXIF orientation (what PIL.ImageOps.exif_transpose does)."""
    if orientation in (5, 6, 7, 8):
        image = np.swapaxes(image, 0, 1)                  # transpose, then flip as needed
    flip_rows = orientation in (3, 4, 7, 8)
    flip_cols = orientation in (2, 3, 6, 7)
    if flip_rows:
        image = image[::-1]
    if flip_cols:
        image = image[:, ::-1]
    return image


def image_size(source, exif_orientation=False):
    """(height, width) of an image file or bytes, read from its header where Pillow can (else
    decoded). exif_orientation: report the size of the upright image (90 degree turns swap)."""
    try:
        with PIL.Image.open(_open_source(source)) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError):
        height, width = skimage.io.imread(_open_source(source)).shape[:2]
    if exif_orientation and _exif_orientation(source) in (5, 6, 7, 8):
        height, width = width, height
    return int(height), int(width)


def read_image(source, channel_count=3, exif_orientation=False):
    """Read an image file (path) or encoded image (bytes) into a uint8 [H, W, channel_count] array.

    channel_count 3 (the default, Matterport's load_image): RGB; grayscale becomes RGB, an alpha
    channel is dropped. channel_count 1: [H, W, 1] grayscale; colour images are converted with
    skimage.color.rgb2gray (0.2125 R + 0.7154 G + 0.0721 B). Other counts: the file must have
    exactly that many channels (e.g. 4 for RGB-D or RGBA), which are kept.
    Pixels that are not uint8 are scaled with skimage.util.img_as_ubyte (uint16: value // 256).
    exif_orientation: turn the image upright by its EXIF orientation tag, as image viewers and
    labelme show it (skimage.io.imread does not).
    Raises ValueError describing the problem (callers add the image's name) for files that do not
    decode or do not have a usable layout.
    """
    image = skimage.io.imread(_open_source(source))
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3:
        raise ValueError("expected a [height, width(, channels)] image, got shape {}".format(
            image.shape))
    channels = image.shape[-1]
    if channel_count == 3:
        if channels in (1, 2):                            # gray, or gray + alpha
            image = skimage.color.gray2rgb(image[..., 0])
        elif channels in (3, 4):
            image = image[..., :3]
        else:
            raise ValueError("cannot make RGB of a {}-channel image".format(channels))
    elif channel_count == 1:
        if channels in (1, 2):
            image = image[..., :1]
        elif channels in (3, 4):
            image = skimage.color.rgb2gray(image[..., :3])[..., np.newaxis]
        else:
            raise ValueError("cannot make grayscale of a {}-channel image".format(channels))
    elif channels != channel_count:
        raise ValueError("the image has {} channels but {} are wanted (IMAGE_CHANNEL_COUNT)"
                         .format(channels, channel_count))
    if image.dtype != np.uint8:
        image = skimage.util.img_as_ubyte(image)
    if exif_orientation:
        image = _orient(image, _exif_orientation(source))
    return np.ascontiguousarray(image)


def is_image_file(name):
    """Whether a file name ends in one of IMAGE_EXTENSIONS (any case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
