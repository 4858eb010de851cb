"""Label images: files whose pixel values are ids (instance ids, class ids), read as they are
stored, without the conversions of :func:`mrcnn.datasets.image_io.read_image` (which turns a
palette into colours and scales 16-bit values to 8 bits, losing ids).

Glossary:
  label image   integer [height, width] array; 0 is background, every other value an id.
  palette PNG   a PNG of mode "P" (Pascal VOC's label files): the pixel values are indices into a
                colour table; the indices are the ids, the colours only what viewers show.
  colour label  an RGB image whose colours stand for the ids. Without a palette to look them up
                in, each colour becomes the id r * 65536 + g * 256 + b (black is 0), so distinct
                colours stay distinct ids; with one, each colour becomes its index in it.
  palette       uint8 [K, 3] colour table (e.g. :func:`mrcnn.datasets.voc.voc_palette`).

:class:`LabelImageDataset` is the base of the loaders whose masks are read from such files when
an image's masks are loaded (mrcnn.datasets.mask_folder, mrcnn.datasets.voc).
"""
import logging
import os

import numpy as np
import PIL.Image

from mrcnn.datasets.base import DatasetError, few
from mrcnn.datasets.image_files import ImageFileDataset

__all__ = ["read_label_image", "LabelImageDataset", "TIFF_EXTENSIONS"]

logger = logging.getLogger(__name__)

#: Read with tifffile (16/32-bit and float TIFFs that Pillow reads poorly or not at all).
TIFF_EXTENSIONS = (".tif", ".tiff")


def _pixels(path):
    """The stored pixel array of an image file: palette indices for mode "P", 16-bit values kept,
    channels last."""
    if os.path.splitext(path)[1].lower() in TIFF_EXTENSIONS:
        import tifffile  # comes with scikit-image
        return np.asarray(tifffile.imread(path))
    with PIL.Image.open(path) as image:
        if image.mode == "1":                            # bilevel: 0 / 1
            return np.asarray(image, dtype=np.uint8)
        return np.asarray(image)


def read_label_image(path, palette=None):
    """The label image stored in ``path`` (PNG, TIFF, BMP, ...) as an integer [height, width] array.

    Grayscale (8, 16 or 32 bit), bilevel and palette files give their stored values (palette
    indices for mode "P"). An alpha channel is dropped. An RGB file whose three channels are equal
    is grayscale; other RGB files are colour labels: each colour becomes its index in
    ``palette`` (uint8 [K, 3]) when one is given, else r * 65536 + g * 256 + b.
    Float files (TIFF) must hold whole numbers.

    Raises ValueError describing the problem (callers add which file it was): a layout that is
    not [height, width(, channels)], negative or fractional values, a colour missing from
    ``palette``. Files that do not decode raise what the decoder raises.
    """
    array = _pixels(os.fspath(path))
    if array.ndim == 3 and array.shape[-1] in (2, 4):     # gray + alpha, RGB + alpha
        array = array[..., :-1]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] == 3:
        if (array[..., 0] == array[..., 1]).all() and (array[..., 0] == array[..., 2]).all():
            array = array[..., 0]
        else:
            array = _colour_ids(array, palette)
    if array.ndim != 2:
        raise ValueError("expected a [height, width] label image (one value per pixel), got "
                         "shape {}".format(array.shape))
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or (array != np.round(array)).any():
            raise ValueError("holds fractional values; a label image holds whole-number ids")
        array = array.astype(np.int64)
    if array.dtype.kind not in "ui":
        raise ValueError("holds {} values; a label image holds integer ids".format(array.dtype))
    if array.dtype.kind == "i" and array.size and array.min() < 0:
        raise ValueError("holds negative values; a label image holds ids >= 0")
    return array


def _colour_ids(rgb, palette):
    """int64 [H, W] of an RGB array: packed colours, or their indices in ``palette``."""
    rgb = rgb.astype(np.int64)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    if palette is None:
        return packed
    palette = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    keys = (palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2]
    order = np.argsort(keys, kind="stable")
    colours, inverse = np.unique(packed, return_inverse=True)
    where = np.searchsorted(keys[order], colours)
    where = np.minimum(where, len(keys) - 1)
    known = keys[order][where] == colours
    if not known.all():
        missing = colours[~known]
        raise ValueError("holds the colour(s) {} that are not in the palette".format(
            few("({}, {}, {})".format(c >> 16, (c >> 8) & 255, c & 255)
                for c in missing.tolist())))
    return order[where][inverse.reshape(packed.shape)]


class LabelImageDataset(ImageFileDataset):
    """Images from files (ImageFileDataset.load_image, sizes in image_info "height"/"width"),
    masks read from label images in load_mask. Skips found while reading masks are recorded
    in ``skipped`` once per file and instance, with a warning."""

    def image_reference(self, image_id):
        """The image's path."""
        return self._info(self.image_info, image_id, "image")["path"]

    def _instance_class_ids(self, image_id):
        return self.load_mask(image_id)[1]

    def _read_label(self, path, image_id, palette=None):
        """read_label_image(path) checked against the size of image ``image_id``; DatasetError
        naming the file otherwise."""
        info = self._info(self.image_info, image_id, "image")
        try:
            label = read_label_image(path, palette)
        except Exception as e:
            raise DatasetError("cannot read label image {} of image {}: {}".format(
                path, info["id"], e)) from e
        if label.shape != (info["height"], info["width"]):
            raise DatasetError("label image {} is {}x{} but its image {} is {}x{} (height x "
                               "width)".format(path, label.shape[0], label.shape[1],
                                               info["path"], info["height"], info["width"]))
        return label

    def _skip_once(self, file, what, why):
        """Record (and warn about) an instance left out while loading masks, once."""
        record = (os.fspath(file), what, why)
        if record not in self.skipped:
            self.skipped.append(record)
            logger.warning("%s: %s skipped: %s. dataset.summary() lists every skipped "
                           "instance.", file, what, why)
