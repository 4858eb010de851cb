"""NumPy core of mrcnn: boxes, masks, images, anchors, image meta, metrics and detections.

Everything here is plain NumPy (plus scikit-image / SciPy for resampling) and never imports
TensorFlow or Keras, so the data pipeline, evaluation and tests can use it without a graph.
The public facade ``mrcnn.utils`` (and ``mrcnn.model`` for the image-meta helpers) imports
from the modules below; names, arguments and results are those of Matterport's Mask_RCNN.

Modules:
    boxes    extract_bboxes, IoU, NMS, box deltas, norm/denorm, trim_zeros
    masks    mask IoU, resize/minimize/expand/unmold masks
    images   resize (scikit-image wrapper), resize_image modes, mold/unmold_image
    anchors  generate_(pyramid_)anchors, compute_backbone_shapes, get_anchors
    meta     compose_image_meta, parse_image_meta, image_meta_size
    metrics  compute_matches, compute_ap, compute_ap_range, compute_recall
    detections  unmold_detections: detection rows to detect() results in original pixels

Glossary used throughout:
    boxes      (y1, x1, y2, x2). Pixel boxes have y2/x2 exclusive (the row/column just past the
               object, as Matterport's extract_bboxes); normalized boxes are as Matterport's
               norm_boxes: (y1, x1, y2 - 1, x2 - 1) / (H - 1, W - 1), inclusive corners in [0, 1].
    padding    rows that are all zero are padding and carry no instance.
    class ids  0 is background; negative class ids mark crowd instances.
    masks      [height, width, instances] (instances last), bool unless stated.
"""
