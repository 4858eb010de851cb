"""Image meta on tensors: the TensorFlow twin of :func:`mrcnn.core.meta.parse_image_meta`.

Layout of one meta row (length 12 + NUM_CLASSES), as Matterport's ``compose_image_meta``:
image_id (1), original_image_shape (3), image_shape (3), window (4, pixel y1 x1 y2 x2 of the image
inside the padded input), scale (1), active_class_ids (NUM_CLASSES); the positions are
:data:`mrcnn.core.meta.META_FIELDS`.
"""
from mrcnn.core.meta import META_FIELDS


def parse_image_meta_graph(meta):
    """Split meta [batch, 12 + NUM_CLASSES] into its named parts (all float32 tensors)."""
    return {name: meta[:, where] for name, where in META_FIELDS.items()}
