"""Detections out of the network, in the original image's pixels: the NumPy side of ``detect()``.

:func:`mrcnn.ops.molding.unmold_detections_graph` is its twin on tensors (a batch at once, inside
an exported model).

Glossary:
    detection row  (y1, x1, y2, x2, class_id, score), the columns of
                   :mod:`mrcnn.core.contracts` (DETECTION_*); the box normalized to the molded
                   image. Real detections come first; the first row of class id 0 (background)
                   starts the zero padding.
    window         pixel (y1, x1, y2, x2) of the image inside the molded one, y2/x2 exclusive.
    boxes          results are int32 pixel boxes (y1, x1, y2, x2) of the original image, y2/x2
                   exclusive.
    masks          network masks [max_instances, h, w, num_classes] float in [0, 1]; results
                   bool [H, W, N], instances last.
"""
import numpy as np

from mrcnn.core.boxes import denorm_boxes, norm_boxes
from mrcnn.core.contracts import DETECTION_BOX, DETECTION_CLASS_ID, DETECTION_SCORE
from mrcnn.core.masks import unmold_mask

__all__ = ["unmold_detections"]


def unmold_detections(detections, mrcnn_mask, original_image_shape, image_shape, window):
    """Turn one image's padded network outputs into ``detect()`` results.

    detections: [max_instances, 6] (y1, x1, y2, x2, class_id, score) normalized;
    mrcnn_mask: [max_instances, h, w, num_classes]; original_image_shape: [H, W, C];
    image_shape: [h, w, C] of the molded image; window: pixel window inside it.
    Returns boxes int32 [N, 4] in original pixels, class_ids int32 [N], scores float32 [N],
    masks bool [H, W, N].
    """
    zero_ix = np.where(detections[:, DETECTION_CLASS_ID] == 0)[0]
    n = zero_ix[0] if zero_ix.shape[0] > 0 else detections.shape[0]
    boxes = detections[:n, DETECTION_BOX]
    class_ids = detections[:n, DETECTION_CLASS_ID].astype(np.int32)
    scores = detections[:n, DETECTION_SCORE].astype(np.float32)
    masks = mrcnn_mask[np.arange(n), :, :, class_ids]

    # Boxes from normalized coordinates of the molded image to pixels of the original one.
    wy1, wx1, wy2, wx2 = norm_boxes(np.asarray(window), image_shape[:2])
    shift = np.array([wy1, wx1, wy1, wx1])
    scale = np.array([wy2 - wy1, wx2 - wx1, wy2 - wy1, wx2 - wx1])
    boxes = denorm_boxes(np.divide(boxes - shift, scale), original_image_shape[:2])

    # Boxes squeezed to nothing by the window clip are dropped.
    keep = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) > 0
    boxes, class_ids, scores, masks = boxes[keep], class_ids[keep], scores[keep], masks[keep]

    height, width = original_image_shape[:2]
    full_masks = [unmold_mask(masks[i], boxes[i], original_image_shape)
                  for i in range(boxes.shape[0])]
    full_masks = (np.stack(full_masks, axis=-1) if full_masks
                  else np.zeros((height, width, 0), dtype=bool))
    return boxes.astype(np.int32), class_ids, scores, full_masks
