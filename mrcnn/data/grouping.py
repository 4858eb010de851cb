"""Aspect-ratio grouping: which images train together, and at which padded shape.

The images of one batch share one tensor shape. In modes "square" and "crop" every image is
resized to config.IMAGE_SHAPE, so there is one group. In "pad64", "scale_pad64" and "none" each
image keeps its own aspect: its resized shape (mrcnn.core.images.resized_shape) is rounded up to
a *bucket* shape, the images of one bucket form the batches (Detectron2's aspect-ratio grouping),
and each batch is padded at the bottom and right to its bucket. Buckets keep the number of
distinct batch shapes, and so of graph traces, small: each side is rounded up on the ladder

    64, 128, ..., 512 (every multiple of 64), then 4 steps per doubling: 640, 768, 896, 1024,
    1280, 1536, 1792, 2048, 2560, ...

so a side grows by at most a quarter (an eighth above 512 on average), and a dataset whose
images span sides up to 1024 has at most 12 x 12 bucket shapes; a camera's photos usually all
fall in one or two (landscape and portrait).

Glossary: shapes are (height, width) in pixels of the network input; image ids index the
dataset.
"""
import collections
import math

import numpy as np

from mrcnn.core.images import resized_shape

__all__ = ["bucket_side", "bucket_shape", "batch_shape_of", "image_batch_shapes",
           "grouped_batches"]


def bucket_side(size):
    """The smallest ladder value >= size (see the module docstring)."""
    size = int(size)
    if size <= 512:
        return max(64, -(-size // 64) * 64)
    octave = 2 ** math.floor(math.log2((size - 1) / 512))     # 512 * octave < size <= 1024 * oct
    step = 128 * octave
    return -(-size // step) * step


def bucket_shape(shape):
    """(bucket_side(height), bucket_side(width))."""
    return bucket_side(shape[0]), bucket_side(shape[1])


def _source_size(dataset, image_id):
    """(height, width) of the dataset's image: from image_info when the loader recorded it (the
    COCO, labelme, VIA and shapes loaders do), else from the loaded image."""
    info = dataset.image_info[image_id]
    if info.get("height") and info.get("width"):
        return int(info["height"]), int(info["width"])
    return tuple(np.shape(dataset.load_image(image_id))[:2])


def batch_shape_of(config, height, width):
    """The padded shape an image of height x width trains at: config.IMAGE_SHAPE in modes
    "square" and "crop", else the bucket of its resized shape."""
    if config.IMAGE_RESIZE_MODE in ("square", "crop"):
        return int(config.IMAGE_SHAPE[0]), int(config.IMAGE_SHAPE[1])
    return bucket_shape(resized_shape(height, width, min_dim=config.IMAGE_MIN_DIM,
                                      max_dim=config.IMAGE_MAX_DIM,
                                      min_scale=config.IMAGE_MIN_SCALE,
                                      mode=config.IMAGE_RESIZE_MODE))


def image_batch_shapes(dataset, config, image_ids):
    """[len(image_ids)] list of the (height, width) each image trains at (batch_shape_of).

    Reads no image in modes "square" and "crop"; elsewhere only images whose image_info has no
    height and width.
    """
    if config.IMAGE_RESIZE_MODE in ("square", "crop"):
        return [batch_shape_of(config, 0, 0)] * len(image_ids)
    return [batch_shape_of(config, *_source_size(dataset, i)) for i in image_ids]


def grouped_batches(image_ids, shapes, batch_size, rng=None):
    """Batches of images that share a batch shape: a list of (shape, ids) with ids an int array
    of batch_size image ids.

    image_ids, shapes: parallel sequences (image_batch_shapes). Within a shape the ids are
    shuffled with rng (none if None) and cut into batches of batch_size; the last batch of a
    shape wraps around to the shape's first ids, so every batch is full. The batches of all
    shapes are then shuffled together with rng. The number of batches, sum over shapes of
    ceil(count / batch_size), does not depend on rng.
    """
    groups = collections.defaultdict(list)
    for image_id, shape in zip(image_ids, shapes):
        groups[tuple(shape)].append(image_id)
    batches = []
    for shape in sorted(groups):
        ids = np.asarray(groups[shape])
        if rng is not None:
            ids = rng.permutation(ids)
        for start in range(0, len(ids), batch_size):
            batches.append((shape, ids[(start + np.arange(batch_size)) % len(ids)]))
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
