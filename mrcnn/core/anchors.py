"""Anchors: the reference boxes the RPN scores and refines, one set per FPN level.

Glossary:
    scale          anchor side in pixels for a square anchor (one scale per pyramid level).
    ratio          width / height of an anchor; height = scale / sqrt(ratio),
                   width = scale * sqrt(ratio), so every ratio keeps the area scale**2.
    feature_stride pixels of the image per cell of a feature map (4, 8, 16, 32, 64 for P2..P6).
    anchor_stride  anchors are placed on every anchor_stride-th feature-map cell (1: every cell,
                   2: every other cell in y and x, 4x fewer anchors).
    anchor         (y1, x1, y2, x2), centred on (cell_y * feature_stride, cell_x * feature_stride).
                   generate_* return pixel boxes (float); get_anchors returns them normalized
                   (norm_boxes) as the network uses them.

Order (Matterport's, the RPN's outputs depend on it): level by level (scale order), within a
level feature-map cells row by row (y outer, x inner), within a cell one anchor per ratio.
"""
import functools
import math
import weakref

import numpy as np

from mrcnn.core.boxes import norm_boxes

__all__ = ["generate_anchors", "cell_anchors", "generate_pyramid_anchors",
           "compute_backbone_shapes", "get_anchors", "get_pixel_anchors", "AnchorIndex",
           "anchor_index", "RESNET_BACKBONES",
           "BLOCK_COUNTS", "BASIC_BLOCK_COUNTS"]

#: Backbone names compute_backbone_shapes knows.
RESNET_BACKBONES = ("resnet50", "resnet101", "resnet18", "resnet34")
#: Identity blocks in stage 4 after its conv block (stage 4 is where ResNet50 and 101 differ).
BLOCK_COUNTS = {"resnet50": 5, "resnet101": 22}
#: Basic blocks per stage (2..5) of the light ResNets; stage k has 64 * 2**(k-2) channels.
BASIC_BLOCK_COUNTS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}


def generate_anchors(scales, ratios, shape, feature_stride, anchor_stride):
    """Generates the anchors of one feature map.

    scales: 1D array of anchor sizes in pixels. Example: [32, 64, 128]
    ratios: 1D array of anchor ratios of width/height. Example: [0.5, 1, 2]
    shape: [height, width] spatial shape of the feature map over which to generate anchors.
    feature_stride: Stride of the feature map relative to the image in pixels.
    anchor_stride: Stride of anchors on the feature map. For example, if the value is 2 then
        generate anchors for every other feature map pixel.

    Returns: [ceil(height / anchor_stride) * ceil(width / anchor_stride) * len(scales) *
        len(ratios), (y1, x1, y2, x2)] float pixel boxes: cells row by row (y outer, x inner);
        within a cell every (ratio, scale) pair, ratio outer and scale inner (Matterport's
        np.meshgrid(scales, ratios) flattening; with one scale, one anchor per ratio).
    """
    offsets = cell_anchors(scales, ratios)
    # Shifts (anchor centres) in image pixels.
    shifts_y = np.arange(0, shape[0], anchor_stride) * feature_stride
    shifts_x = np.arange(0, shape[1], anchor_stride) * feature_stride
    shifts_x, shifts_y = np.meshgrid(shifts_x, shifts_y)
    # [cells, (y, x, y, x)] centres + [sizes, (y1, x1, y2, x2)] offsets -> cells * sizes boxes.
    centers = np.stack([shifts_y.reshape(-1), shifts_x.reshape(-1)], axis=1)
    centers = np.concatenate([centers, centers], axis=1)
    return (centers[:, np.newaxis, :] + offsets[np.newaxis]).reshape([-1, 4])


def cell_anchors(scales, ratios):
    """The anchors of one feature-map cell, relative to the cell's centre.

    scales, ratios: as generate_anchors.

    Returns: float64 [len(scales) * len(ratios), (y1, x1, y2, x2)], (-h/2, -w/2, h/2, w/2) for
    every (ratio, scale) pair, ratio outer and scale inner (Matterport's
    np.meshgrid(scales, ratios) flattening). generate_anchors and the graph's anchor layer
    (mrcnn.ops.anchors) add these to each cell's centre, so both share this layout.
    """
    scales, ratios = np.meshgrid(np.array(scales, dtype=np.float64),
                                 np.array(ratios, dtype=np.float64))
    scales = scales.flatten()
    ratios = ratios.flatten()
    heights = scales / np.sqrt(ratios)
    widths = scales * np.sqrt(ratios)
    return np.stack([-0.5 * heights, -0.5 * widths, 0.5 * heights, 0.5 * widths], axis=1)


def generate_pyramid_anchors(scales, ratios, feature_shapes, feature_strides, anchor_stride):
    """Generates anchors at different levels of a feature pyramid. Each scale is associated
    with a level of the pyramid, but each ratio is used in all levels of the pyramid.

    scales: [levels] anchor sizes in pixels, one per level. Example: (32, 64, 128, 256, 512)
    ratios: [ratios] width/height ratios used at every level. Example: [0.5, 1, 2]
    feature_shapes: [levels, (height, width)] feature-map shapes (compute_backbone_shapes).
    feature_strides: [levels] strides of the feature maps in pixels.
    anchor_stride: anchor stride on the feature maps (see generate_anchors).

    Returns:
        anchors: [N, (y1, x1, y2, x2)] pixel boxes, all levels in one array, in the order of
            the given scales: anchors of scales[0] first, then scales[1], and so on.
    """
    if not (len(scales) == len(feature_shapes) == len(feature_strides)):
        raise ValueError("scales ({}), feature_shapes ({}) and feature_strides ({}) must have one "
                         "entry per pyramid level".format(len(scales), len(feature_shapes),
                                                          len(feature_strides)))
    anchors = [generate_anchors(scales[i], ratios, feature_shapes[i], feature_strides[i],
                                anchor_stride)
               for i in range(len(scales))]
    return np.concatenate(anchors, axis=0)


def compute_backbone_shapes(config, image_shape):
    """Computes the height and width of each stage of the backbone network.

    config: a Config; reads BACKBONE, BACKBONE_STRIDES and, for a callable BACKBONE,
        COMPUTE_BACKBONE_SHAPE.
    image_shape: (height, width[, channels]) of the network input.

    Returns:
        [N, (height, width)] int array, where N is the number of stages: for the named ResNets
        ceil(image_shape[:2] / stride) per entry of BACKBONE_STRIDES; for a
        callable BACKBONE whatever config.COMPUTE_BACKBONE_SHAPE(image_shape) returns.
    """
    backbone = config.BACKBONE
    if callable(backbone):
        compute = getattr(config, "COMPUTE_BACKBONE_SHAPE", None)
        if not callable(compute):
            raise ValueError("config.BACKBONE is a callable, so config.COMPUTE_BACKBONE_SHAPE "
                             "must be a function image_shape -> [levels, (height, width)]; "
                             "got {!r}".format(compute))
        return np.asarray(compute(image_shape))
    if backbone not in RESNET_BACKBONES:
        raise ValueError("config.BACKBONE must be one of {} or a callable, got {!r}"
                         .format(", ".join(RESNET_BACKBONES), backbone))
    return np.array([[int(math.ceil(image_shape[0] / stride)),
                      int(math.ceil(image_shape[1] / stride))]
                     for stride in config.BACKBONE_STRIDES])


def _hashable(values):
    """A tuple of Python numbers from a scalar or a (nested) sequence / array."""
    return tuple(np.asarray(values).reshape(-1).tolist())


@functools.lru_cache(maxsize=32)
def _pixel_pyramid_anchors(scales, ratios, backbone_shapes, strides, anchor_stride):
    """Cached generate_pyramid_anchors; every argument is a hashable tuple / number."""
    shapes = np.array(backbone_shapes, dtype=np.int64).reshape(-1, 2)
    anchors = generate_pyramid_anchors(scales, ratios, shapes, strides, anchor_stride)
    anchors.flags.writeable = False
    return anchors


@functools.lru_cache(maxsize=32)
def _normalized_pyramid_anchors(scales, ratios, backbone_shapes, strides, anchor_stride,
                                image_hw):
    """Cached normalized anchors (norm_boxes of the pixel anchors)."""
    anchors = norm_boxes(_pixel_pyramid_anchors(scales, ratios, backbone_shapes, strides,
                                                anchor_stride), image_hw)
    anchors.flags.writeable = False
    return anchors


def _anchor_key(config, image_shape):
    """The configuration values anchors depend on, as a hashable tuple."""
    return (_hashable(config.RPN_ANCHOR_SCALES), _hashable(config.RPN_ANCHOR_RATIOS),
            _hashable(compute_backbone_shapes(config, image_shape)),
            _hashable(config.BACKBONE_STRIDES), int(config.RPN_ANCHOR_STRIDE))


def get_pixel_anchors(config, image_shape):
    """The anchor pyramid of an image shape in pixel coordinates (what build_rpn_targets needs).

    Returns a read-only float [N, (y1, x1, y2, x2)] array, cached like get_anchors.
    """
    return _pixel_pyramid_anchors(*_anchor_key(config, image_shape))


def get_anchors(config, image_shape):
    """Returns the anchor pyramid for the given image size, normalized.

    config: a Config; reads RPN_ANCHOR_SCALES, RPN_ANCHOR_RATIOS, BACKBONE_STRIDES,
        RPN_ANCHOR_STRIDE and what compute_backbone_shapes reads.
    image_shape: (height, width[, channels]) of the network input (the molded image).

    Returns: float32 [N, (y1, x1, y2, x2)] normalized anchors (norm_boxes with
    image_shape[:2]). Results are cached on the relevant config values and the image size
    (configs are mutable, so the key is built from their current values); the returned array
    is shared between calls and therefore read-only (copy it to modify it).
    """
    return _normalized_pyramid_anchors(*_anchor_key(config, image_shape),
                                       (int(image_shape[0]), int(image_shape[1])))


class AnchorIndex:
    """Which anchors can intersect a box, found without testing every anchor.

    The anchors of one size (height, width) lie on a grid of (y1, x1) positions, one grid per
    level and ratio (15 grids for Matterport's 5 scales x 3 ratios); the anchors that can
    intersect a box are, in each grid, a rectangle of rows and columns found by binary search.
    At 1024x1024 with RPN_ANCHOR_STRIDE 1 a 100x120-pixel box meets 1,608 of 261,888 anchors.

    anchors: [A, (y1, x1, y2, x2)] pixel boxes in any order. Anchors that do not form such grids
    (hand-made ones) are indexed as one group that every box may intersect.
    """

    def __init__(self, anchors):
        anchors = np.asarray(anchors, dtype=np.float64)
        self.count = anchors.shape[0]
        self.grids = self._grids(anchors)

    @staticmethod
    def _grids(anchors):
        """[(height, width, ys, xs, index [len(ys), len(xs)])] per size, or None."""
        if anchors.ndim != 2 or anchors.shape[0] == 0 or anchors.shape[1] != 4:
            return None
        sizes = anchors[:, 2:] - anchors[:, :2]
        # Sizes of one grid differ by rounding only (centre +- half the size).
        _, group = np.unique(np.round(sizes, 4), axis=0, return_inverse=True)
        grids = []
        for g in range(group.max() + 1):
            members = np.flatnonzero(group.reshape(-1) == g)
            ys, rows = np.unique(anchors[members, 0], return_inverse=True)
            xs, cols = np.unique(anchors[members, 1], return_inverse=True)
            index = np.full((ys.size, xs.size), -1, dtype=np.int64)
            index[rows.reshape(-1), cols.reshape(-1)] = members
            if members.size != ys.size * xs.size or (index < 0).any():
                return None
            height, width = sizes[members].max(axis=0)
            grids.append((height, width, ys, xs, index))
        return grids

    def overlapping(self, box):
        """Sorted indices of the anchors whose intersection with ``box`` (y1, x1, y2, x2) may
        be non-empty: every anchor that intersects it, and perhaps some that only touch it."""
        if self.grids is None:
            return np.arange(self.count)
        y1, x1, y2, x2 = (float(v) for v in box)
        tolerance = 1e-6 * max(1.0, abs(y1), abs(x1), abs(y2), abs(x2))
        parts = []
        for height, width, ys, xs, index in self.grids:
            # An anchor meets the box when a.y1 < y2 and a.y1 + height > y1 (and so for x).
            r0 = np.searchsorted(ys, y1 - height - tolerance, side="left")
            r1 = np.searchsorted(ys, y2 + tolerance, side="right")
            c0 = np.searchsorted(xs, x1 - width - tolerance, side="left")
            c1 = np.searchsorted(xs, x2 + tolerance, side="right")
            parts.append(index[r0:r1, c0:c1].reshape(-1))
        return np.sort(np.concatenate(parts))


#: id(anchors) -> (weak reference to the anchors, their AnchorIndex). No lock: a race between
#: loader threads at most builds one index twice.
_INDEXES = {}


def anchor_index(anchors):
    """The AnchorIndex of ``anchors``, kept while a read-only array lives (get_pixel_anchors'
    cached arrays, one per image shape); built anew for a writable one, which may change."""
    if getattr(anchors, "flags", None) is None or anchors.flags.writeable:
        return AnchorIndex(anchors)
    key = id(anchors)
    entry = _INDEXES.get(key)
    if entry is not None and entry[0]() is anchors:
        return entry[1]
    index = AnchorIndex(anchors)
    _INDEXES[key] = (weakref.ref(anchors, lambda _, key=key: _INDEXES.pop(key, None)), index)
    return index
