"""Bilinear crop-and-resize built from gathers, which XLA compiles (it has no ``CropAndResize``).

Glossary
--------
- A box is ``(y1, x1, y2, x2)``, *normalized* as ``tf.image.crop_and_resize`` takes it: 0 and 1
  are the centres of the first and last pixel rows/columns of the image it is cropped from.
- Sampling is ``tf.image.crop_and_resize(..., method="bilinear")``'s: corner-aligned, output row
  ``i`` of a crop of height ``ch`` samples ``y = y1 * (H - 1) + i * (y2 - y1) * (H - 1) / (ch - 1)``
  (``ch == 1``: the centre ``(y1 + y2) / 2 * (H - 1)``), the same for columns; a sample outside
  ``[0, H - 1]`` or ``[0, W - 1]`` takes ``extrapolation_value``. Flipped boxes (``y1 > y2``) give
  flipped crops; zero-size boxes give a constant crop.
- Zero rows of ``boxes`` are ordinary boxes (a crop of pixel (0, 0)); callers ignore them.
- Every output has a static shape ``[num_boxes, crop_height, crop_width, channels]``: no
  data-dependent shapes, so the ops run under ``tf.function(jit_compile=True)``.

Values and gradients (w.r.t. the image) equal ``tf.image.crop_and_resize`` within 1e-5 on maps of
tens of pixels (tests/ops/test_crop.py). The sample positions here are exact (int64 fixed point,
box edges rounded to multiples of 2 ** -32, see :func:`_axis_samples`); TensorFlow's kernel rounds
them in float32, so the two differ by about ulp(position) * |pixel step|: a few 1e-5 on a
256-pixel map of unit-variance values (measured: 8e-5 on P2 of a 1024 px image), and a sample
within float rounding of the border (a box edge at exactly 0 or 1) may be extrapolated by one and
not the other. Gradients w.r.t. the boxes are those of the bilinear weights; the layers stop
them anyway.
"""
import tensorflow as tf

__all__ = ["crop_and_resize", "pyramid_crop_and_resize"]


_FIXED_POINT_BITS = 32   # box coordinates as multiples of 2 ** -32 for the integer positions


def _axis_samples(lo, hi, size, count):
    """Where the samples of one axis fall: (valid, low, high, frac), each [N, count].

    lo, hi: [N] normalized box edges; size: [N] int32 (H or W of each box's image);
    count: Python int. ``valid`` (bool) says the sample lies in [0, size - 1]; ``low`` and
    ``high`` (int32) are floor(position) and floor(position) + 1 clamped to the image; ``frac``
    (float32) is position - floor(position).

    Positions are integers: the edges as exact multiples of 2 ** -32 (a power-of-two scaling,
    then rounding), the position as the exact fraction
    ``(lo * (size - 1) * (count - 1) + i * (hi - lo) * (size - 1)) / (count - 1)`` in int64. XLA
    may evaluate float positions more than once (once per fusion, one copy with a fused
    multiply-add or float64 excess precision), and two copies on the two sides of an integer
    would gather one pixel and weight (or send the gradient to) another, or extrapolate a sample
    forward and not backward; integers are the same in every copy. TensorFlow's kernel computes
    positions in float32, so a sample within float32 rounding of the image's border (a box edge
    at exactly 0 or 1 with some crop sizes) may be extrapolated by one and not the other.
    """
    lo = tf.cast(lo, tf.float32)
    hi = tf.cast(hi, tf.float32)
    unit = float(2 ** _FIXED_POINT_BITS)
    q_lo = tf.cast(tf.round(lo * unit), tf.int64)[:, None]
    q_hi = tf.cast(tf.round(hi * unit), tf.int64)[:, None]
    extent_i = tf.cast(size - 1, tf.int64)[:, None]
    if count > 1:
        steps = tf.range(count, dtype=tf.int64)[None, :]
        numerator = q_lo * extent_i * (count - 1) + steps * (q_hi - q_lo) * extent_i
        denominator = (count - 1) * 2 ** _FIXED_POINT_BITS
    else:
        numerator = (q_lo + q_hi) * extent_i
        denominator = 2 ** (_FIXED_POINT_BITS + 1)
    valid = tf.logical_and(numerator >= 0, numerator <= extent_i * denominator)
    low = tf.math.floordiv(numerator, denominator)
    frac = tf.cast(numerator - low * denominator, tf.float32) / float(denominator)
    last = tf.cast(size[:, None] - 1, tf.int64)
    high = tf.cast(tf.clip_by_value(low + 1, 0, last), tf.int32)
    low = tf.cast(tf.clip_by_value(low, 0, last), tf.int32)
    return valid, low, high, frac


def _bilinear_crops(flat, base, heights, widths, boxes, crop_size, extrapolation_value):
    """Crops from images stored row-major in one table.

    flat: [M, C] float32 pixels; base: [N] int32, the row of ``flat`` holding each box's pixel
    (0, 0); heights, widths: [N] int32, each box's image size; boxes: [N, 4] normalized;
    crop_size: (crop_height, crop_width) Python ints. Returns [N, crop_height, crop_width, C]
    float32. A sample is ``top + (bottom - top) * y_lerp`` of the row blends
    ``left + (right - left) * x_lerp``, the kernel's order of operations.
    """
    crop_h, crop_w = (int(v) for v in crop_size)
    y1, x1, y2, x2 = tf.unstack(tf.cast(boxes, tf.float32), 4, axis=1)
    valid_y, top, bottom, y_lerp = _axis_samples(y1, y2, heights, crop_h)     # [N, ch]
    valid_x, left, right, x_lerp = _axis_samples(x1, x2, widths, crop_w)      # [N, cw]
    row_top = base[:, None] + top * widths[:, None]
    row_bottom = base[:, None] + bottom * widths[:, None]

    def gather(rows, cols):
        # rows [N, ch], cols [N, cw] -> [N, ch, cw, C]
        return tf.gather(flat, rows[:, :, None] + cols[:, None, :])

    x_lerp = x_lerp[:, None, :, None]
    y_lerp = y_lerp[:, :, None, None]
    top_left = gather(row_top, left)
    top_right = gather(row_top, right)
    bottom_left = gather(row_bottom, left)
    bottom_right = gather(row_bottom, right)
    top_row = top_left + (top_right - top_left) * x_lerp
    bottom_row = bottom_left + (bottom_right - bottom_left) * x_lerp
    crops = top_row + (bottom_row - top_row) * y_lerp
    valid = tf.logical_and(valid_y[:, :, None], valid_x[:, None, :])[..., None]
    return tf.where(valid, crops, tf.cast(extrapolation_value, tf.float32))


def crop_and_resize(image, boxes, box_indices, crop_size, extrapolation_value=0.0):
    """``tf.image.crop_and_resize(image, boxes, box_indices, crop_size, "bilinear",
    extrapolation_value)`` from gathers (see the module glossary).

    image: [batch, H, W, C]; boxes: [N, 4] normalized; box_indices: [N] int, the image of each
    box; crop_size: (crop_height, crop_width) Python ints.
    Returns [N, crop_height, crop_width, C] in the image's dtype (float images; TF's op returns
    float32 for every input dtype).
    """
    image = tf.convert_to_tensor(image)
    dtype = image.dtype if image.dtype.is_floating else tf.float32
    shape = tf.shape(image)
    height, width = shape[1], shape[2]
    channels = image.shape[-1] if image.shape[-1] is not None else shape[3]
    flat = tf.reshape(tf.cast(image, tf.float32), [-1, channels])
    box_indices = tf.cast(box_indices, tf.int32)
    n = tf.shape(box_indices)[0]
    base = box_indices * (height * width)
    crops = _bilinear_crops(flat, base, tf.fill([n], height), tf.fill([n], width), boxes,
                            crop_size, extrapolation_value)
    return tf.cast(crops, dtype)


def pyramid_crop_and_resize(feature_maps, boxes, box_indices, levels, crop_size,
                            extrapolation_value=0.0):
    """Crop each box from the feature map its level selects, one gather pass for all levels.

    feature_maps: list of L tensors [batch, H_l, W_l, C] (same C and dtype); boxes: [N, 4]
    normalized; box_indices: [N] int, the image of each box; levels: [N] int in [0, L), the
    index into ``feature_maps`` of each box; crop_size: (crop_height, crop_width) Python ints.
    Returns [N, crop_height, crop_width, C]: box ``k`` equals
    ``crop_and_resize(feature_maps[levels[k]], boxes[k:k+1], box_indices[k:k+1], crop_size)``.
    """
    dtype = feature_maps[0].dtype if feature_maps[0].dtype.is_floating else tf.float32
    tables, offsets, heights, widths = [], [], [], []
    offset = tf.constant(0, tf.int32)
    for feature_map in feature_maps:
        shape = tf.shape(feature_map)
        channels = feature_map.shape[-1] if feature_map.shape[-1] is not None else shape[3]
        tables.append(tf.reshape(tf.cast(feature_map, tf.float32), [-1, channels]))
        offsets.append(offset)
        heights.append(shape[1])
        widths.append(shape[2])
        offset = offset + shape[0] * shape[1] * shape[2]
    flat = tf.concat(tables, axis=0)        # every level's pixels, level after level
    levels = tf.cast(levels, tf.int32)
    box_indices = tf.cast(box_indices, tf.int32)
    box_heights = tf.gather(tf.stack(heights), levels)
    box_widths = tf.gather(tf.stack(widths), levels)
    base = tf.gather(tf.stack(offsets), levels) + box_indices * box_heights * box_widths
    crops = _bilinear_crops(flat, base, box_heights, box_widths, boxes, crop_size,
                            extrapolation_value)
    return tf.cast(crops, dtype)
