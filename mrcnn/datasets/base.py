"""The Dataset base class: Matterport's ``utils.Dataset`` (class/image registry, image loading).

Subclass it, register classes and images, override ``load_mask`` (and ``image_reference``)::

    class BalloonDataset(Dataset):
        def load_balloon(self, dataset_dir, subset):
            self.add_class("balloon", 1, "balloon")
            for name, polygons, height, width in ...:
                self.add_image("balloon", image_id=name, path=os.path.join(dataset_dir, name),
                               width=width, height=height, polygons=polygons)

        def load_mask(self, image_id):
            ...
            return mask, class_ids        # bool [H, W, N], int32 [N] (internal class ids)

    dataset = BalloonDataset()
    dataset.load_balloon(dataset_dir, "train")
    dataset.prepare()

Glossary:
  source          name of the data source an image or class comes from ("coco", "balloon"...).
                  Several sources can be combined in one Dataset. Source names contain no "."
                  because "source.id" strings are the keys of the id maps.
  source class id the class id as the source numbers it (e.g. a COCO category id).
  class id        the internal id: index into class_info / class_names. Class 0 is the
                  background ("BG", source ""). load_mask returns internal class ids; negative
                  class ids mark crowd instances (COCO iscrowd).
  image id        the internal id: index into image_info (0 .. num_images - 1). The id the
                  source uses is image_info[image_id]["id"].
  mask            bool [height, width, instances], one channel per instance.
"""
import logging
import numbers
import os

import numpy as np

from mrcnn.datasets.image_io import read_image

__all__ = ["Dataset", "DatasetError"]

logger = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset registration is wrong or an image cannot be loaded; names the image id/path."""


class Dataset:
    """The base class for dataset classes.

    To use it, create a new class that adds functions specific to the dataset you want to use.
    For example:

    class CatsAndDogsDataset(Dataset):
        def load_cats_and_dogs(self):
            ...
        def load_mask(self, image_id):
            ...
        def image_reference(self, image_id):
            ...

    See mrcnn.datasets.shapes.ShapesDataset as an example.

    Attributes:
        image_info: list of dicts, one per image: "id" (source image id), "source", "path", plus
            the keyword arguments given to add_image.
        class_info: list of dicts "source", "id" (source class id), "name"; entry 0 is the
            background {"source": "", "id": 0, "name": "BG"}.
        source_class_ids: dict source -> list of internal class ids of that source (background
            included), filled by prepare().
        skipped: list of (file, what, why) records of annotations a loader did not turn into
            instances (see summary()).
    After prepare(): num_classes, class_ids (int [num_classes]), class_names (first comma-separated
    part of each name), num_images, image_ids, class_from_source_map / image_from_source_map
    ("source.id" -> internal id), sources.
    """

    def __init__(self, class_map=None):
        """class_map: unused, kept for Matterport compatibility."""
        self._image_ids = []
        self.image_info = []
        # Background is always the first class
        self.class_info = [{"source": "", "id": 0, "name": "BG"}]
        self.source_class_ids = {}
        self.skipped = []

    # ------------------------------------------------------------------ registration
    def add_class(self, source, class_id, class_name):
        """Register a class of a source. Adding the same (source, class_id) again is a no-op.

        source: str without "." (e.g. "coco").
        class_id: the id the source uses for the class. 0 is reserved for the background, so a
            source whose ids start at 0 must be shifted (e.g. id + 1) before adding its classes.
        class_name: str shown in visualizations ("person"; only the part before the first comma
            goes to class_names).
        """
        _check_source(source)
        for info in self.class_info:
            if info["source"] == source and info["id"] == class_id:
                # source.class_id combination already available, skip
                if info["name"] != class_name:
                    logger.warning("Class %s.%s is already added as %r; ignoring the name %r.",
                                   source, class_id, info["name"], class_name)
                return
        if _is_zero(class_id):
            raise DatasetError(
                "add_class({!r}, {!r}, {!r}): class id 0 is reserved for the background ('BG'); "
                "number the classes of a source from 1".format(source, class_id, class_name))
        # Add the class
        self.class_info.append({
            "source": source,
            "id": class_id,
            "name": class_name,
        })

    def add_image(self, source, image_id, path, **kwargs):
        """Register an image.

        source: str without "." (e.g. "coco").
        image_id: the id the source uses for the image (any value; kept in image_info["id"]).
        path: file path or URL that load_image reads, or None where a subclass generates images.
        kwargs: stored in the image's info dict (e.g. width, height, annotations).
        """
        _check_source(source)
        image_info = {
            "id": image_id,
            "source": source,
            "path": path,
        }
        image_info.update(kwargs)
        self.image_info.append(image_info)

    def image_reference(self, image_id):
        """Return a link to the image in its source Website or details about the image that help
        looking it up or debugging it. Override for your dataset; returns "" by default.
        """
        return ""

    def prepare(self, class_map=None):
        """Prepares the Dataset class for use (builds the id maps and lists from the info dicts).

        class_map: unused, kept for Matterport compatibility.
        Call it after adding classes and images, and again after adding more.
        """
        def clean_name(name):
            """Returns a shorter version of object names for cleaner display."""
            return ",".join(name.split(",")[:1])

        # Build (or rebuild) everything else from the info dicts.
        self.num_classes = len(self.class_info)
        self.class_ids = np.arange(self.num_classes)
        self.class_names = [clean_name(c["name"]) for c in self.class_info]
        self.num_images = len(self.image_info)
        self._image_ids = np.arange(self.num_images)

        # Mapping from source class and image IDs to internal IDs
        self.class_from_source_map = {"{}.{}".format(info["source"], info["id"]): int(id)
                                      for info, id in zip(self.class_info, self.class_ids)}
        self.image_from_source_map = {"{}.{}".format(info["source"], info["id"]): int(id)
                                      for info, id in zip(self.image_info, self.image_ids)}

        # Map sources to the class ids they support; background (0) is in every source.
        # Sorted (Matterport used set order, which changes between runs).
        self.sources = sorted(set(info["source"] for info in self.class_info))
        self.source_class_ids = {
            source: [i for i, info in enumerate(self.class_info)
                     if i == 0 or info["source"] == source]
            for source in self.sources}

    def map_source_class_id(self, source_class_id):
        """Takes a source class ID and returns the int class ID assigned to it.

        For example:
        dataset.map_source_class_id("coco.12") -> 23
        """
        try:
            return self.class_from_source_map[source_class_id]
        except AttributeError:
            raise DatasetError("call prepare() before map_source_class_id()") from None
        except KeyError:
            raise DatasetError("unknown source class id {!r}; known: {}".format(
                source_class_id, sorted(self.class_from_source_map))) from None

    def get_source_class_id(self, class_id, source):
        """Map an internal class ID to the corresponding class ID in the source dataset."""
        info = self._info(self.class_info, class_id, "class")
        if info["source"] != source:
            raise DatasetError("class id {} belongs to source {!r}, not {!r}".format(
                class_id, info["source"], source))
        return info["id"]

    def append_data(self, class_info, image_info):
        """Does nothing (Matterport's version read keys that nothing ever set); kept so that
        calls to it keep working."""

    @property
    def image_ids(self):
        """int [num_images] internal image ids 0 .. num_images - 1 (set by prepare())."""
        return self._image_ids

    def source_image_link(self, image_id):
        """Returns the path or URL to the image.
        Override this to return a URL to the image if it's available online for easy
        debugging.
        """
        return self._info(self.image_info, image_id, "image")["path"]

    # ------------------------------------------------------------------ loading
    def load_image(self, image_id):
        """Load the specified image and return a [H,W,3] Numpy array.

        Returns: uint8 [height, width, 3] RGB. Grayscale images are converted to RGB, an alpha
        channel is dropped, 16-bit (and other unsigned integer or [0, 1] float) images are scaled
        to 0..255 with skimage.util.img_as_ubyte (uint16: value // 256).

        Always RGB: for grayscale or RGB-D input (IMAGE_CHANNEL_COUNT 1 or 4) override this
        method, as with Matterport.
        Raises DatasetError naming the image id and path when the file is missing, does not
        decode, or has an unsupported layout.
        """
        info = self._info(self.image_info, image_id, "image")
        path = info["path"]

        def fail(reason):
            return DatasetError("cannot load image {} (path {!r}): {}".format(
                image_id, path, reason))

        if path is None:
            raise fail("it has no path; override load_image() to generate it")
        try:
            return read_image(path, channel_count=3)
        except Exception as e:
            raise fail("{}: {}".format(type(e).__name__, e)) from e

    def load_mask(self, image_id):
        """Load instance masks for the given image.

        Different datasets use different ways to store masks. Override this method to load
        instance masks and return them in the form of an array of binary masks of shape
        [height, width, instances].

        Returns:
            masks: A bool array of shape [height, width, instance count] with a binary mask per
                instance.
            class_ids: a 1D int32 array of class IDs of the instance masks.

        This default logs a warning and returns no instances: bool [H, W, 0] and int32 [0]
        (Matterport returned a [0, 0, 0] float array). H, W come from the image info "height"
        and "width" when given, else from load_image.
        """
        # Override this function to load a mask from your dataset.
        # Otherwise, it returns an empty mask.
        logger.warning("You are using the default load_mask(), maybe you need to define your own "
                       "one.")
        info = self._info(self.image_info, image_id, "image")
        if "height" in info and "width" in info:
            height, width = int(info["height"]), int(info["width"])
        else:
            height, width = self.load_image(image_id).shape[:2]
        mask = np.zeros([height, width, 0], dtype=bool)
        class_ids = np.empty([0], np.int32)
        return mask, class_ids

    def load_mask_crops(self, image_id):
        """Optional fast path of load_mask for the training pipeline (mini-masks, no
        augmentation): the image's instances without full-size masks.

        Returns None (this default: the pipeline calls load_mask), or (crops, class_ids,
        (height, width)): crops, a list of (y, x, content bool [h, w]) per instance, each
        instance's pixels inside its tight box, or None for an instance without pixels (see
        mrcnn.core.masks); class_ids as load_mask's; the size of the mask load_mask would give.
        A loader that defines it gives exactly the instances of its load_mask, and returns None
        when a subclass overrides load_mask.
        """
        return None

    # ------------------------------------------------------------------ summary
    def summary(self, verbose=True):
        """Count images, instances per class, images without instances and skipped annotations.

        verbose: print the counts (the dict is returned either way).
        Returns a dict:
            "images": number of images.
            "instances": {class name: instances}, every class but the background, in id order.
            "crowds": {class name: crowd instances (negative class ids)}, classes that have some.
            "images_without_instances": [image id, ...].
            "skipped": {why: [(file, what), ...]} from the ``skipped`` records loaders append.
        Instances are counted with load_mask, or more cheaply where a loader knows them without
        drawing masks. Class names are prefixed with "source." when two sources share a name.
        """
        names = [info["name"] for info in self.class_info]
        if len(set(names)) != len(names):
            names = ["{}.{}".format(info["source"], info["name"]) if i else info["name"]
                     for i, info in enumerate(self.class_info)]
        counts = np.zeros(len(names), dtype=np.int64)
        crowd_counts = np.zeros(len(names), dtype=np.int64)
        without = []
        for image_id in range(len(self.image_info)):
            class_ids = np.asarray(self._instance_class_ids(image_id), dtype=np.int64)
            if class_ids.size == 0:
                without.append(image_id)
            np.add.at(counts, class_ids[class_ids > 0], 1)
            np.add.at(crowd_counts, -class_ids[class_ids < 0], 1)
        skipped = {}
        for file, what, why in getattr(self, "skipped", []):
            skipped.setdefault(why, []).append((file, what))
        result = {
            "images": len(self.image_info),
            "instances": {names[i]: int(counts[i]) for i in range(1, len(names))},
            "crowds": {names[i]: int(crowd_counts[i]) for i in range(1, len(names))
                       if crowd_counts[i]},
            "images_without_instances": without,
            "skipped": skipped,
        }
        if verbose:
            print(self._summary_text(result))
        return result

    def _summary_text(self, result):
        """The printed form of summary()'s dict."""
        instances = result["instances"]
        lines = ["{} images, {} instances in {} classes{}".format(
            result["images"], sum(instances.values()), len(instances),
            ", {} crowd regions".format(sum(result["crowds"].values()))
            if result["crowds"] else "")]
        width = max([len(name) for name in instances] + [5])
        for name, count in instances.items():
            if count or name in result["crowds"]:
                crowds = result["crowds"].get(name)
                lines.append("  {:<{}} {:>7}{}".format(name, width, count,
                                                       " (+{} crowd)".format(crowds)
                                                       if crowds else ""))
        empty_classes = [name for name, count in instances.items()
                         if not count and name not in result["crowds"]]
        if empty_classes:
            lines.append("  {} classes without instances: {}{}".format(
                len(empty_classes), ", ".join(empty_classes[:10]),
                ", ..." if len(empty_classes) > 10 else ""))
        without = result["images_without_instances"]
        if without:
            shown = [self._reference_or_id(i) for i in without[:10]]
            lines.append("{} images without instances: {}{}".format(
                len(without), ", ".join(shown), ", ..." if len(without) > 10 else ""))
        skipped = result["skipped"]
        if skipped:
            lines.append("skipped {} annotations:".format(sum(map(len, skipped.values()))))
            for why, where in skipped.items():
                examples = ", ".join("{} {}".format(os.path.basename(file), what)
                                     for file, what in where[:3])
                lines.append("  {} x {}: {}{}".format(len(where), why, examples,
                                                      ", ..." if len(where) > 3 else ""))
        return "\n".join(lines)

    def _reference_or_id(self, image_id):
        """image_reference() where it gives something, else the source image id."""
        try:
            reference = self.image_reference(image_id)
        except Exception:  # a summary must not fail on a broken override
            reference = None
        return str(reference) if reference else str(self.image_info[image_id]["id"])

    def _instance_class_ids(self, image_id):
        """Class ids of an image's instances, for summary(). This default calls load_mask;
        loaders that know them without drawing masks override it."""
        return self.load_mask(image_id)[1]

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _info(infos, index, kind):
        """infos[index], with a DatasetError for a non-integer or out-of-range id."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, numbers.Integral):
            raise DatasetError("{} id must be an integer index, got {!r}".format(kind, index))
        if not 0 <= index < len(infos):
            raise DatasetError("{} id {} is out of range: the dataset has {} {}s".format(
                kind, index, len(infos), kind))
        return infos[index]


def subset_entries(subset, doing):
    """The entries of a loader's ``subset``: a list of names, or the path of a .txt file with one
    per line (blank lines and lines starting with "#" skipped). ``doing`` prefixes the
    DatasetError of a file that cannot be read."""
    if not isinstance(subset, (str, os.PathLike)):
        return [os.fspath(entry) if isinstance(entry, os.PathLike) else str(entry)
                for entry in subset]
    path = os.fspath(subset)
    try:
        with open(path, encoding="utf-8") as f:
            entries = [line.strip() for line in f]
    except OSError as e:
        raise DatasetError("{}: cannot read subset file {}: {}".format(
            doing, path, e.strerror or e)) from None
    return [entry for entry in entries if entry and not entry.startswith("#")]


#: The most entries an error message shows of a longer list (the rest are counted).
SHOWN_ENTRIES = 5


def few(entries, sep=", ", shown=SHOWN_ENTRIES):
    """The first ``shown`` entries as text joined by ``sep``, then "... (N in all)" when there
    are more: how error messages list many files or problems."""
    entries = [str(entry) for entry in entries]
    text = sep.join(entries[:shown])
    if len(entries) > shown:
        text += "{}... ({} in all)".format(sep, len(entries))
    return text


def missing_files_message(paths, what="image", total=None):
    """One line about files that do not exist: their count, a few of them, and the folders
    among theirs that do not exist ("98 images not found: the folder /x/nope does not
    exist"). total: how many files were looked for; when all of one existing folder are
    missing, the line asks whether it is the right folder."""
    paths = [os.fspath(path) for path in paths]
    folders = list(dict.fromkeys(os.path.dirname(path) or "." for path in paths))
    absent = [folder for folder in folders if not os.path.isdir(folder)]
    count = "{} {}{} not found".format(len(paths), what, "" if len(paths) == 1 else "s")
    gone = ("the folder {} does not exist" if len(absent) == 1 else
            "the folders {} do not exist").format(few(absent))
    if len(absent) == len(folders):
        return "{}: {}".format(count, gone)
    if len(folders) == 1:
        names = [os.path.basename(path) for path in paths]
        return "{} in {}: {}{}".format(count, folders[0], few(names),
                                       "; none is there: is it the right folder?"
                                       if total == len(paths) and total > 1 else "")
    return "{}: {}{}".format(count, few(paths), "; " + gone if absent else "")


def _check_source(source):
    """ValueError unless source is a str without "." (the "source.id" keys use the dot)."""
    if not isinstance(source, str):
        raise DatasetError("source must be a str, got {!r}".format(source))
    if "." in source:
        raise DatasetError("source {!r} must not contain a dot ('source.id' keys use it)".format(
            source))


def _is_zero(class_id):
    """Whether class_id is the number 0 (also as a NumPy integer)."""
    return isinstance(class_id, numbers.Number) and not isinstance(class_id, bool) \
        and class_id == 0
