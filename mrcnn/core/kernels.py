"""The input pipeline's inner loops, compiled with numba (they release the GIL, so loading
threads run them in parallel): bilinear resampling equal, bit for bit, to scikit-image's
resize(order=1, mode="constant", cval=0, anti_aliasing=False), and a per-channel table lookup.

Glossary:
    image       float64 [height, width, channels] (the caller converts, as scikit-image does).
    grid        scikit-image (>= 0.19) resamples with scipy.ndimage.zoom(grid_mode=True): output
                pixel i samples input coordinate (i + 0.5) * in / out - 0.5 (pixel centres
                aligned, pixel edges at the image's edges).
    outside     an input row or column outside the image reads 0 (scipy's "grid-constant", which
                scikit-image's mode "constant" with cval 0 becomes).

Why: the input pipeline resizes every training image (and every mini-mask) this way, and
scipy's general spline code took most of a 1024x1024 image's loading time (about 0.13 s for a
768x576 photo here, against about 0.01 s compiled). The arithmetic is scipy's own: each of the 4
taps is value * row weight * column weight, summed in scipy's order, so the result (and the
uint8 value truncated from it) is identical, and inference molding does not change.
"""
import numba
import numpy as np

__all__ = ["bilinear_resize", "channel_lookup"]


@numba.njit(nogil=True, cache=True)
def _bilinear(image, rows, row_weights, cols, col_weights, out):
    """out[i, j, c] = sum over the 2x2 taps at (rows[i] + dy, cols[j] + dx), dy, dx in {0, 1},
    of image value * row weight * column weight (weights 1 - w and w), outside taps skipped
    (they read 0), in scipy's order of taps."""
    height, width, channels = image.shape
    for i in range(out.shape[0]):
        y0 = rows[i]
        b = row_weights[i]
        a = 1.0 - b
        top = 0 <= y0 < height
        bottom = 0 <= y0 + 1 < height
        for j in range(out.shape[1]):
            x0 = cols[j]
            q = col_weights[j]
            p = 1.0 - q
            left = 0 <= x0 < width
            right = 0 <= x0 + 1 < width
            for c in range(channels):
                total = 0.0
                if top:
                    if left:
                        total += image[y0, x0, c] * a * p
                    if right:
                        total += image[y0, x0 + 1, c] * a * q
                if bottom:
                    if left:
                        total += image[y0 + 1, x0, c] * b * p
                    if right:
                        total += image[y0 + 1, x0 + 1, c] * b * q
                out[i, j, c] = total


def _axis(size_in, size_out):
    """First input index (int) and weight of the second tap of each output index along one
    axis, as scipy's zoom computes them with grid_mode=True."""
    coordinates = (np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out) - 0.5
    first = np.floor(coordinates)
    return first.astype(np.intp), coordinates - first


def bilinear_resize(image, output_shape):
    """Resize a float64 image [H, W] or [H, W, C] to output_shape (height, width).

    Returns: float64 [height, width] or [height, width, C], the unclipped values of
    skimage.transform.resize(image, output_shape, order=1, mode="constant", cval=0,
    clip=False, preserve_range=True, anti_aliasing=False), bit for bit.
    """
    image = np.asarray(image, dtype=np.float64)
    flat = image.ndim == 2
    if flat:
        image = image[:, :, np.newaxis]
    height, width = (int(v) for v in output_shape[:2])
    rows, row_weights = _axis(image.shape[0], height)
    cols, col_weights = _axis(image.shape[1], width)
    out = np.empty((height, width, image.shape[2]), dtype=np.float64)
    _bilinear(np.ascontiguousarray(image), rows, row_weights, cols, col_weights, out)
    return out[:, :, 0] if flat else out


@numba.njit(nogil=True, cache=True)
def _lookup(image, table, out):
    height, width, channels = image.shape
    for i in range(height):
        for j in range(width):
            for c in range(channels):
                out[i, j, c] = table[image[i, j, c], c]


def channel_lookup(image, table, out=None):
    """out[i, j, c] = table[image[i, j, c], c] for a uint8 image [H, W, C] and a table
    [256, C]: any per-channel function of a uint8 image in one pass.

    out: optional array [H, W, C] of the table's dtype to write into (e.g. a slot of a batch).
    Returns: out.
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if out is None:
        out = np.empty(image.shape, dtype=table.dtype)
    _lookup(image, np.ascontiguousarray(table), out)
    return out
