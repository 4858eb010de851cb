"""Data contracts between the NumPy side (data pipeline, detect()) and the graph: one home each.

The image-meta layout has its own module, :mod:`mrcnn.core.meta`; box-delta normalization
constants live in :mod:`mrcnn.core.boxes`. Everything here is a plain constant, imported by the
data pipeline, the layers, the graph wiring, training and the facade.

Glossary:
    detection row  one row of DetectionLayer's output [B, DETECTION_MAX_INSTANCES, 6]:
                   (y1, x1, y2, x2) normalized to the molded image, class id, score. Real
                   detections come first, best score first; rows of zeros (class id 0) pad.
    input names    the training and inference models' Input layers, in Matterport's order; the
                   data pipeline feeds them by name.
    IoU thresholds Matterport's target-assignment rules, for the RPN (anchors) and for the
                   heads (ROIs).
"""

__all__ = [
    "DETECTION_BOX", "DETECTION_CLASS_ID", "DETECTION_SCORE", "DETECTION_ROW_SIZE",
    "INPUT_NAMES", "INPUT_ROI", "INFERENCE_INPUT_NAMES", "TARGET_NAMES", "LOSS_NAMES",
    "RPN_POSITIVE_IOU", "RPN_NEGATIVE_IOU", "CROWD_IOU", "ROI_FOREGROUND_IOU",
]

# Detection rows -------------------------------------------------------------------------------
#: Columns of the box (y1, x1, y2, x2), normalized.
DETECTION_BOX = slice(0, 4)
#: Column of the class id (0: a padding row).
DETECTION_CLASS_ID = 4
#: Column of the score.
DETECTION_SCORE = 5
#: Columns in a row.
DETECTION_ROW_SIZE = 6

# Model inputs and outputs ---------------------------------------------------------------------
#: Inputs of the training model, in the order of Matterport's data_generator inputs list.
INPUT_NAMES = ("input_image", "input_image_meta", "input_rpn_match", "input_rpn_bbox",
               "input_gt_class_ids", "input_gt_boxes", "input_gt_masks")
#: The extra training input when the heads train on given ROIs (USE_RPN_ROIS = False).
INPUT_ROI = "input_roi"
#: Inputs of the inference model, in order.
INFERENCE_INPUT_NAMES = ("input_image", "input_image_meta", "input_anchors")
#: Detection targets, in the order of Matterport's outputs list (detection_targets=True).
TARGET_NAMES = ("target_class_ids", "target_bbox", "target_mask")
#: The five losses, in the order of the training model's outputs and of LOSS_WEIGHTS' keys.
LOSS_NAMES = ("rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
              "mrcnn_mask_loss")

# Target assignment (Matterport's rules) --------------------------------------------------------
#: An anchor whose best IoU with a ground-truth box is at least this is positive.
RPN_POSITIVE_IOU = 0.7
#: An anchor whose best IoU is below this is negative (unless it is some box's best anchor).
RPN_NEGATIVE_IOU = 0.3
#: An anchor or ROI with an IoU at least this with a crowd box is never negative.
CROWD_IOU = 0.001
#: An ROI is foreground at this IoU with a ground-truth box: the training graph's
#: DetectionTargetLayer takes IoU >= it, Matterport's NumPy build_detection_targets > it, and
#: both take background below it.
ROI_FOREGROUND_IOU = 0.5
