"""Image meta: the per-image attributes that travel with an image through the network.

Layout of one meta vector (length 12 + NUM_CLASSES, Matterport's order):
    [0]        image_id              index of the image in its Dataset
    [1:4]      original_image_shape  (height, width, channels) before resizing
    [4:7]      image_shape           (height, width, channels) after resizing and padding
    [7:11]     window                (y1, x1, y2, x2) of the real image inside the padded one,
                                     pixels, y2/x2 exclusive
    [11]       scale                 resize factor applied to the original image
    [12:]      active_class_ids      1 for each class of the dataset the image comes from
                                     (index 0 is background), 0 for the others
"""
import numpy as np

__all__ = ["META_FIELDS", "compose_image_meta", "parse_image_meta", "image_meta_size",
           "with_image_shape"]

#: Where each field sits in a meta vector (the layout above): the one definition, used by
#: parse_image_meta here and by its graph twin, mrcnn.ops.meta.parse_image_meta_graph.
META_FIELDS = {
    "image_id": 0,
    "original_image_shape": slice(1, 4),
    "image_shape": slice(4, 7),
    "window": slice(7, 11),
    "scale": 11,
    "active_class_ids": slice(12, None),
}
#: Number of entries before active_class_ids: image_id, two 3-value shapes, window, scale.
META_FIXED_SIZE = META_FIELDS["active_class_ids"].start


def image_meta_size(num_classes):
    """Length of a meta vector for a model with num_classes classes (background included):
    12 + num_classes."""
    return META_FIXED_SIZE + int(num_classes)


def compose_image_meta(image_id, original_image_shape, image_shape,
                       window, scale, active_class_ids):
    """Takes attributes of an image and puts them in one 1D array.

    image_id: An int ID of the image. Useful for debugging.
    original_image_shape: [H, W, C] before resizing or padding.
    image_shape: [H, W, C] after resizing and padding
    window: (y1, x1, y2, x2) in pixels. The area of the image where the real image is
        (excluding the padding)
    scale: The scaling factor applied to the original image (float32)
    active_class_ids: List of class_ids available in the dataset from which the image came.
        Useful if training on images from multiple datasets where not all classes are present
        in all datasets.

    Returns: float64 [12 + len(active_class_ids)] (Matterport built it with np.array, which is
    float64 whenever scale is a float; it is float64 here for every input).
    """
    original_image_shape = tuple(original_image_shape)
    image_shape = tuple(image_shape)
    window = tuple(window)
    if len(original_image_shape) != 3:
        raise ValueError("original_image_shape must be (height, width, channels), got {!r}"
                         .format(original_image_shape))
    if len(image_shape) != 3:
        raise ValueError("image_shape must be (height, width, channels), got {!r}"
                         .format(image_shape))
    if len(window) != 4:
        raise ValueError("window must be (y1, x1, y2, x2), got {!r}".format(window))
    if np.ndim(scale) != 0:
        raise ValueError("scale must be a number, got {!r}".format(scale))
    active_class_ids = np.asarray(active_class_ids, dtype=np.float64).reshape(-1)
    head = np.array([image_id, *original_image_shape, *image_shape, *window, scale],
                    dtype=np.float64)
    return np.concatenate([head, active_class_ids])


def parse_image_meta(meta):
    """Parses an array that contains image attributes to its components.

    See compose_image_meta() for more details.

    meta: [batch, meta length] where meta length depends on NUM_CLASSES

    Returns a dict of the parsed values:
        image_id: int32 [batch]
        original_image_shape: int32 [batch, 3]
        image_shape: int32 [batch, 3]
        window: int32 [batch, 4] (y1, x1, y2, x2)
        scale: float32 [batch]
        active_class_ids: int32 [batch, NUM_CLASSES]
    """
    meta = np.asarray(meta)
    if meta.ndim != 2 or meta.shape[1] < META_FIXED_SIZE:
        raise ValueError("meta must have shape [batch, 12 + NUM_CLASSES] (use meta[None] for a "
                         "single image), got shape {}".format(meta.shape))
    return {name: meta[:, where].astype(np.float32 if name == "scale" else np.int32)
            for name, where in META_FIELDS.items()}


def with_image_shape(meta, image_shape):
    """A copy of one meta vector [12 + NUM_CLASSES] with image_shape set to `image_shape`
    (height, width, channels): for an image padded further at the bottom and right, whose
    window, scale and other fields stay as they are."""
    meta = np.array(meta, dtype=np.float64)
    if meta.ndim != 1 or meta.shape[0] < META_FIXED_SIZE:
        raise ValueError("meta must have shape [12 + NUM_CLASSES], got shape {}"
                         .format(meta.shape))
    image_shape = tuple(image_shape)
    if len(image_shape) != 3:
        raise ValueError("image_shape must be (height, width, channels), got {!r}"
                         .format(image_shape))
    meta[META_FIELDS["image_shape"]] = image_shape
    return meta
