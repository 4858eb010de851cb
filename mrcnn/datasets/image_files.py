"""The base of the annotation-file loaders: images read from files (or from the annotation file
that embeds them), masks drawn from the instances stored in image_info, and the record of skipped
annotations.

The file loaders (labelme, VIA, YOLO, COCO, and through LabelImageDataset the mask-folder and VOC
ones) derive from :class:`ImageFileDataset`, which reads images with
:func:`mrcnn.datasets.image_io.read_image` and draws the masks of the instances stored in
image_info with :func:`mrcnn.datasets.rasterize.instances_mask`.

Glossary:
  instance     (class_id, [shape, ...]) as in :mod:`mrcnn.datasets.rasterize`: one object, its
               mask the union of its shapes; class_id is the internal class id.
  mask         bool [height, width, instances] for an image, instances last.
  skip record  (file, what, why) in Dataset.skipped: an annotation a loader did not turn into an
               instance. ``why`` is a short reason shared by all records of the same kind (so
               summary() can count them); ``what`` names the shape/region/annotation.
"""
import logging
import os

from mrcnn.datasets.annotation_files import embedded_image
from mrcnn.datasets.base import Dataset, DatasetError, few, missing_files_message
from mrcnn.datasets.image_io import image_size, read_image
from mrcnn.datasets.rasterize import instance_crops, instances_mask

__all__ = ["ImageFileDataset"]

logger = logging.getLogger(__name__)


class ImageFileDataset(Dataset):
    """Base of the file loaders: images from files (or bytes embedded in annotation files), masks
    drawn from the instances stored in image_info, skipped annotations recorded and warned about.

    channel_count: channels of the images load_image returns (Config.IMAGE_CHANNEL_COUNT); 3 gives
    RGB as Matterport did. See read_image for 1 and 4.

    image_info entries it reads (besides "path"): "height", "width" (the size annotations refer
    to; a mismatching image is a DatasetError), "instances" (list of (class_id, shapes)),
    "exif_orientation" (bool), "image_data_file" (a JSON file whose "imageData" holds the
    base64 encoded image, read instead of "path" when present; see embedded_image).
    """

    def __init__(self, class_map=None, channel_count=3):
        super().__init__(class_map)
        if isinstance(channel_count, bool) or not isinstance(channel_count, int) \
                or channel_count < 1:
            raise ValueError("channel_count must be a positive int, got {!r}".format(
                channel_count))
        self.channel_count = channel_count
        self._unwarned = []           # skip records not yet in a warning (see _warn_skipped)

    def load_image(self, image_id):
        """uint8 [height, width, channel_count] (RGB by default); see read_image.

        Raises DatasetError naming the image id and path when the file is missing, does not
        decode, or its size differs from the one the annotations were made on.
        """
        info = self._info(self.image_info, image_id, "image")
        path = info["path"]
        try:
            source = embedded_image(info["image_data_file"]) if info.get("image_data_file") \
                else path
            if source is None:
                raise ValueError("it has no path")
            image = read_image(source, self.channel_count, info.get("exif_orientation", False))
        except Exception as e:
            raise DatasetError("cannot load image {} (path {!r}): {}".format(
                image_id, path, e)) from e
        expected = (info.get("height"), info.get("width"))
        if None not in expected and image.shape[:2] != tuple(expected):
            raise DatasetError(
                "image {} (path {!r}) is {}x{} (height x width) but its annotations are for "
                "{}x{}".format(image_id, path, image.shape[0], image.shape[1], *expected))
        return image

    def load_mask(self, image_id):
        """(mask bool [height, width, instances], class_ids int32 [instances]) drawn from the
        image's "instances"; images without instances give [height, width, 0] and [0]."""
        info = self._info(self.image_info, image_id, "image")
        if "instances" not in info:
            return super().load_mask(image_id)
        return instances_mask(info["instances"], info["height"], info["width"])

    def load_mask_crops(self, image_id):
        """load_mask's instances as mask crops (Dataset.load_mask_crops), drawn from the
        image's "instances"; None when a subclass overrides load_mask or the image has no
        "instances"."""
        if type(self).load_mask is not ImageFileDataset.load_mask:
            return None
        info = self._info(self.image_info, image_id, "image")
        if "instances" not in info:
            return None
        crops, class_ids = instance_crops(info["instances"], info["height"], info["width"])
        return crops, class_ids, (info["height"], info["width"])

    def image_reference(self, image_id):
        """The image's path (or the annotation file that embeds it)."""
        info = self._info(self.image_info, image_id, "image")
        return info.get("path") or ""

    def _instance_class_ids(self, image_id):
        info = self._info(self.image_info, image_id, "image")
        if "instances" not in info:
            return super()._instance_class_ids(image_id)
        return [class_id for class_id, _ in info["instances"]]

    def _add_classes(self, source, names, doing):
        """Register names as the source's classes 1..K; DatasetError if an earlier load of the
        same source registered other classes (loading several files into one dataset needs
        the same class_names each time)."""
        registered = [info["name"] for info in self.class_info if info["source"] == source]
        if registered and registered != list(names):
            raise DatasetError(
                "{}: the dataset already holds the {} classes {} from an earlier load, and these "
                "files give {}; pass the same class_names to every load into one dataset"
                .format(doing, source, registered, list(names)))
        for i, name in enumerate(names, start=1):
            self.add_class(source, i, name)

    # -------------------------------------------------------------- skipped annotations
    def _skip(self, file, what, why, warn=True):
        """Record an annotation that does not become an instance; warn=False for deliberate ones
        (an "__ignore__" region) that the end-of-load warning leaves out."""
        record = (os.fspath(file), what, why)
        self.skipped.append(record)
        if warn:
            self._unwarned.append(record)

    def _warn_skipped(self, doing):
        """Log one warning counting the records _skip(warn=True) made since the last call."""
        records, self._unwarned = self._unwarned, []
        if not records:
            return
        by_why = {}
        for file, what, why in records:
            by_why.setdefault(why, []).append("{} {}".format(os.path.basename(file), what))
        parts = []
        for why, where in by_why.items():
            examples = ", ".join(where[:3]) + (", ..." if len(where) > 3 else "")
            parts.append("{} x {} ({})".format(len(where), why, examples))
        logger.warning("%s: skipped %d annotation(s): %s. dataset.summary() lists them all.",
                       doing, len(records), "; ".join(parts))

    def _check_images(self, entries, doing, exif_orientation):
        """Sizes of the images of ``entries`` [(annotation file, image path)], read from their
        headers; one DatasetError counting the missing and unreadable images (a few named)."""
        sizes, missing, unreadable = [], [], []
        for annotation_file, path in entries:
            sizes.append(None)
            if path is None or not os.path.isfile(path):
                missing.append(os.fspath(path) if path is not None else "(no path)")
                continue
            try:
                sizes[-1] = image_size(path, exif_orientation)
            except Exception as e:
                unreadable.append("{} (named in {}): {}".format(path, annotation_file, e))
        problems = [missing_files_message(missing, total=len(entries))] if missing else []
        if unreadable:
            problems.append("{} image(s) unreadable: {}".format(len(unreadable),
                                                                 few(unreadable, sep="; ")))
        if problems:
            raise DatasetError("{}: {}".format(doing, "; ".join(problems)))
        return sizes
