"""Molding and unmolding on tensors: the in-graph twins of ``MaskRCNN.mold_inputs`` and
``MaskRCNN.unmold_detections``, so that an exported model takes raw images and gives pixel results.

Glossary
--------
- ``images`` are uint8 ``[batch, height, width, channels]``; the images of one batch share their
  size (a tensor is rectangular), so they share the resize ``scale`` and the ``window`` too.
- Molding is :func:`mrcnn.core.images.resize_image` in mode ``"square"``, ``"scale_pad64"``,
  ``"pad64"`` or ``"none"``: scale up so the short side is ``min_dim`` (never down; also at least
  ``min_scale``), in "square" and "scale_pad64" down so the long side fits ``max_dim``, truncate
  to uint8, pad with zeros (centred) to ``[max_dim, max_dim]`` ("square") or each side to a
  multiple of 64, subtract ``MEAN_PIXEL``. ``molded_size`` is the result's (height, width).
- ``window`` is int32 ``(y1, x1, y2, x2)``: the image's part of the molded one, in molded pixels,
  y2/x2 exclusive. Pixel boxes are int32 ``(y1, x1, y2, x2)`` of the original image, y2/x2
  exclusive; normalized boxes as in :mod:`mrcnn.ops.boxes`.
- ``detections`` are ``[batch, max_instances, 6]`` rows ``(y1, x1, y2, x2, class_id, score)``,
  normalized to the molded image, zero rows (class 0) padding after the real ones.
- Resampling is bilinear exactly as scikit-image's ``resize(order=1, mode="constant",
  anti_aliasing=False)``, which :mod:`mrcnn.core` uses: pixel centres aligned
  (``src = (dst + 0.5) * in / out - 0.5``), samples beyond the border blended with zeros, the
  result clipped to the input's range. So the graph and ``detect()`` agree to float rounding.
"""
import tensorflow as tf

from mrcnn.core.contracts import DETECTION_BOX, DETECTION_CLASS_ID, DETECTION_SCORE
from mrcnn.ops.boxes import denorm_boxes_graph, norm_boxes_graph

__all__ = ["resample_bilinear", "resize_geometry", "mold_images_graph",
           "unmold_detections_graph", "paste_masks_graph"]


def resample_bilinear(images, out_size, offset, scale):
    """Bilinear samples of ``images`` on a scaled and shifted grid, zeros beyond the border.

    images: float32 [N, h, w, C]. out_size: int32 (out_h, out_w), the grid's size.
    offset, scale: float32 [N, 2] (y, x): output pixel (i, j) of item n samples the source at
    ``((i - offset_y + 0.5) * scale_y - 0.5, (j - offset_x + 0.5) * scale_x - 0.5)``.
    Resizing is offset 0 and scale in / out; pasting a small mask into a box at (y1, x1) of a
    larger canvas is offset (y1, x1) and scale mask size / box size.
    Returns float32 [N, out_h, out_w, C].
    """
    # One ring of zeros around the image makes samples within a pixel of the border blend with
    # zero (scikit-image's "constant" mode); crop_and_resize gives 0 further out.
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    # crop_and_resize normalizes by the padded size - 1, that is the image's size + 1.
    norm = tf.cast(tf.shape(images)[1:3] + 1, tf.float32)
    out_size = tf.convert_to_tensor(out_size, tf.int32)
    steps = tf.cast(out_size - 1, tf.float32)
    # The first and last samples in padded pixels (source + 1).
    first = (0.5 - offset) * scale + 0.5
    last = first + scale * steps
    boxes = tf.concat([first / norm, last / norm], axis=1)
    n = tf.shape(images)[0]
    return tf.image.crop_and_resize(padded, boxes, tf.range(n), out_size, method="bilinear",
                                    extrapolation_value=0.0)


def _clip_to_range(resampled, source):
    """Clip each item of ``resampled`` [N, ...] to the [min, max] of its ``source`` [N, ...]
    (scikit-image's ``clip=True``)."""
    axes = list(range(1, source.shape.rank))
    low = tf.reduce_min(source, axis=axes, keepdims=True)
    high = tf.reduce_max(source, axis=axes, keepdims=True)
    return tf.clip_by_value(resampled, low, high)


def resize_geometry(height, width, mode, min_dim, max_dim, min_scale=0):
    """Scale, resized size, molded size and window of resize_image in ``mode`` ("square",
    "scale_pad64", "pad64" or "none") for an image of ``height`` x ``width`` (int32 scalars),
    computed in float64 as the NumPy code does.

    Returns scale float64 [], new_size int32 [2] (h, w), molded_size int32 [2] (h, w),
    window int32 [4] (y1, x1, y2, x2).
    """
    if mode not in ("square", "scale_pad64", "pad64", "none"):
        raise ValueError(f"no in-graph molding for IMAGE_RESIZE_MODE {mode!r}")
    h = tf.cast(height, tf.float64)
    w = tf.cast(width, tf.float64)
    scale = tf.constant(1.0, tf.float64)
    if mode != "none":
        if min_dim:
            scale = tf.maximum(scale, min_dim / tf.minimum(h, w))
        if min_scale:
            scale = tf.maximum(scale, tf.constant(float(min_scale), tf.float64))
    if mode in ("square", "scale_pad64"):
        image_max = tf.maximum(h, w)
        scale = tf.where(tf.round(image_max * scale) > max_dim, max_dim / image_max, scale)
    # tf.round rounds half to even, as Python's round().
    new_size = tf.cast(tf.round(tf.stack([h, w]) * scale), tf.int32)
    if mode == "square":
        molded_size = tf.constant([max_dim, max_dim], tf.int32)
    elif mode == "none":
        molded_size = new_size
    else:
        molded_size = (new_size + 63) // 64 * 64
    top_left = (molded_size - new_size) // 2
    window = tf.concat([top_left, top_left + new_size], axis=0)
    return scale, new_size, molded_size, window


def mold_images_graph(images, min_dim, max_dim, mean_pixel, num_classes, min_scale=0,
                      mode="square"):
    """Mold a batch as ``MaskRCNN.mold_inputs`` does, in resize ``mode`` (see resize_geometry).

    images: uint8 [batch, height, width, channels]. mean_pixel: [channels].
    Returns molded float32 [batch, molded_h, molded_w, channels], image_metas float32
    [batch, 12 + num_classes] (image_id 0, no active classes: inference ignores them), window
    int32 [4], molded_size int32 [2]. In mode "none" a size that is not a multiple of 64 fails
    with an InvalidArgumentError that says so.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    scale, new_size, molded_size, window = resize_geometry(height, width, mode, min_dim,
                                                           max_dim, min_scale)
    if mode == "none":
        tf.debugging.assert_equal(
            molded_size % 64, 0, message="IMAGE_RESIZE_MODE 'none' feeds images unchanged and "
            "the network needs height and width to be multiples of 64")
    pixels = tf.cast(images, tf.float32)

    def resize():
        ratio = tf.cast(tf.stack([height, width]), tf.float32) / tf.cast(new_size, tf.float32)
        grid = tf.ones([batch, 2], tf.float32)
        resized = resample_bilinear(pixels, new_size, grid * 0.0, grid * ratio)
        # The NumPy code casts the resized image back to uint8 (truncating).
        return tf.floor(_clip_to_range(resized, pixels))

    resized = tf.cond(tf.equal(scale, 1.0), lambda: pixels, resize)
    paddings = tf.stack([[0, 0], [window[0], molded_size[0] - window[2]],
                         [window[1], molded_size[1] - window[3]], [0, 0]])
    molded = tf.pad(resized, paddings) - tf.constant(mean_pixel, tf.float32)
    side = max_dim if mode == "square" else None
    molded = tf.ensure_shape(molded, [None, side, side, images.shape[-1]])

    channels = tf.shape(images)[3]
    head = tf.cast(tf.concat([[0, height, width, channels], molded_size, [channels], window],
                             axis=0), tf.float32)
    head = tf.concat([head, [tf.cast(scale, tf.float32)], tf.zeros([num_classes])], axis=0)
    metas = tf.tile(head[tf.newaxis], [batch, 1])
    return molded, metas, window, molded_size


def unmold_detections_graph(detections, mrcnn_mask, image_size, molded_size, window):
    """Detections of a batch in original pixels, as ``MaskRCNN.unmold_detections``
    (:func:`mrcnn.core.detections.unmold_detections`) per image.

    detections: [batch, max_instances, 6]; mrcnn_mask: [batch, max_instances, mask_h, mask_w,
    num_classes] sigmoid masks; image_size: int32 (height, width) of the original images;
    molded_size: int32 (height, width) of the molded ones; window: int32 [4].
    Returns a dict, K the largest number of detections of an image in the batch, the rows past
    an image's ``num_detections`` zero:
        num_detections int32 [batch]; rois int32 [batch, K, 4] pixel boxes; class_ids int32
        [batch, K]; scores float32 [batch, K]; masks bool [batch, height, width, K] (the mask
        resized bilinearly into its box, threshold 0.5).
    """
    detections = tf.cast(detections, tf.float32)
    class_ids = tf.cast(detections[..., DETECTION_CLASS_ID], tf.int32)
    # The real detections are the rows before the first class 0.
    real = tf.cast(tf.math.cumprod(tf.cast(class_ids > 0, tf.int32), axis=1), tf.bool)

    # Normalized boxes of the molded image -> normalized in the window -> original pixels.
    wy1, wx1, wy2, wx2 = tf.unstack(norm_boxes_graph(window, molded_size))
    shift = tf.stack([wy1, wx1, wy1, wx1])
    span = tf.stack([wy2 - wy1, wx2 - wx1, wy2 - wy1, wx2 - wx1])
    boxes = denorm_boxes_graph((detections[..., DETECTION_BOX] - shift) / span, image_size)

    # Boxes squeezed to nothing by the window clip are dropped; the others move to the front.
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    keep = real & (area > 0)
    counts = tf.reduce_sum(tf.cast(keep, tf.int32), axis=1)
    k = tf.reduce_max(tf.concat([counts, [0]], axis=0))
    order = tf.argsort(tf.cast(~keep, tf.int32), axis=1, stable=True)[:, :k]
    slot = tf.range(k)[tf.newaxis] < counts[:, tf.newaxis]                  # [batch, K]
    boxes = tf.where(slot[..., tf.newaxis], tf.gather(boxes, order, batch_dims=1), 0)
    class_ids = tf.where(slot, tf.gather(class_ids, order, batch_dims=1), 0)
    scores = tf.where(slot, tf.gather(detections[..., DETECTION_SCORE], order, batch_dims=1), 0.0)

    masks = tf.gather(tf.cast(mrcnn_mask, tf.float32), order, batch_dims=1)
    masks = tf.gather(masks, class_ids, axis=4, batch_dims=2)                # [batch, K, h, w]
    full = paste_masks_graph(tf.reshape(masks, tf.concat([[-1], tf.shape(masks)[2:]], 0)),
                             tf.reshape(boxes, [-1, 4]), image_size)
    full = tf.reshape(full, tf.concat([tf.shape(masks)[:2], image_size], 0))
    full = tf.logical_and(full, slot[:, :, tf.newaxis, tf.newaxis])
    return {"num_detections": counts, "rois": boxes, "class_ids": class_ids, "scores": scores,
            "masks": tf.transpose(full, [0, 2, 3, 1])}


def paste_masks_graph(masks, boxes, image_size, threshold=0.5):
    """Full-size bool masks from small ones, as :func:`mrcnn.core.masks.unmold_mask`.

    masks: float [N, mask_h, mask_w] in [0, 1]; boxes: int32 [N, 4] pixel boxes;
    image_size: int32 (height, width). Returns bool [N, height, width]: each mask resized
    bilinearly to its box, >= threshold inside the box, False elsewhere (all False for an empty
    box, such as the padding rows of a batch). One canvas at a time, so memory stays at one
    float image per mask in flight.
    """
    image_size = tf.convert_to_tensor(image_size, tf.int32)
    rows = tf.range(image_size[0])
    cols = tf.range(image_size[1])

    def paste_one(mask, box):
        mask = mask[tf.newaxis, :, :, tf.newaxis]
        mask_size = tf.cast(tf.shape(mask)[1:3], tf.float32)
        box_size = tf.cast(box[2:] - box[:2], tf.float32)
        canvas = resample_bilinear(mask, image_size, tf.cast(box[tf.newaxis, :2], tf.float32),
                                   (mask_size / box_size)[tf.newaxis])
        canvas = _clip_to_range(canvas, mask)[0, :, :, 0] >= threshold
        inside = ((rows >= box[0]) & (rows < box[2]))[:, tf.newaxis] & \
                 ((cols >= box[1]) & (cols < box[3]))[tf.newaxis]
        return canvas & inside

    def paste(args):
        mask, box = args
        return tf.cond(tf.reduce_all(box[2:] > box[:2]), lambda: paste_one(mask, box),
                       lambda: tf.zeros(image_size, tf.bool))

    def paste_all():
        return tf.map_fn(paste, (masks, boxes),
                         fn_output_signature=tf.TensorSpec([None, None], tf.bool))

    # map_fn over no masks would stack to shape [0].
    return tf.cond(tf.shape(masks)[0] > 0, paste_all,
                   lambda: tf.zeros(tf.concat([[0], image_size], 0), tf.bool))
