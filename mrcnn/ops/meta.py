"""Image meta on tensors: the TensorFlow twin of :func:`mrcnn.core.meta.parse_image_meta`.

Layout of one meta row (length 12 + NUM_CLASSES), as Matterport's ``compose_image_meta``:
image_id (1), original_image_shape (3), image_shape (3), window (4, pixel y1 x1 y2 x2 of the image
inside the padded input), scale (1), active_class_ids (NUM_CLASSES).
"""


def parse_image_meta_graph(meta):
    """Split meta [batch, 12 + NUM_CLASSES] into its named parts (all float32 tensors)."""
    return {
        "image_id": meta[:, 0],
        "original_image_shape": meta[:, 1:4],
        "image_shape": meta[:, 4:7],
        "window": meta[:, 7:11],
        "scale": meta[:, 11],
        "active_class_ids": meta[:, 12:],
    }
