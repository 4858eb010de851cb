"""DetectionTargetLayer: sampling, assignment, deltas, mini-mask crops, empty and crowd GT."""
import numpy as np
import tensorflow as tf

from mrcnn.layers.detection_target import DetectionTargetLayer

STD = (0.1, 0.1, 0.2, 0.2)


def run(proposals, gt_class_ids, gt_boxes, gt_masks, t=6, ratio=0.5, mini=True):
    layer = DetectionTargetLayer(train_rois_per_image=t, roi_positive_ratio=ratio,
                                 bbox_std_dev=STD, mask_shape=(4, 4), use_mini_mask=mini)
    out = layer([tf.constant(np.asarray(proposals, np.float32)[np.newaxis]),
                 tf.constant(np.asarray(gt_class_ids, np.int32)[np.newaxis]),
                 tf.constant(np.asarray(gt_boxes, np.float32)[np.newaxis]),
                 tf.constant(np.asarray(gt_masks, bool)[np.newaxis])])
    return [o.numpy()[0] for o in out]


def test_one_positive_one_negative_and_padding():
    gt_boxes = [[0.1, 0.1, 0.5, 0.5], [0, 0, 0, 0]]          # second row is padding
    gt_masks = np.zeros((8, 8, 2), bool)
    gt_masks[:, :4, 0] = True                                  # left half of the mini-mask
    proposals = [[0.1, 0.1, 0.5, 0.5],                        # IoU 1 -> positive
                 [0.6, 0.6, 0.9, 0.9],                        # IoU 0 -> negative
                 [0, 0, 0, 0]]                                # padding, ignored
    rois, class_ids, deltas, masks = run(proposals, [2, 0], gt_boxes, gt_masks)
    # ratio 0.5: 1 positive -> 1 / 0.5 - 1 = 1 negative; 4 rows of padding.
    np.testing.assert_allclose(rois[0], [0.1, 0.1, 0.5, 0.5])
    np.testing.assert_allclose(rois[1], [0.6, 0.6, 0.9, 0.9])
    assert not rois[2:].any()
    assert class_ids.tolist() == [2, 0, 0, 0, 0, 0]
    assert not deltas.any()                                    # exact match: zero deltas
    # The ROI equals the GT box, so the mask target is the mini-mask resized: left half set.
    np.testing.assert_array_equal(masks[0], np.tile([1, 1, 0, 0], (4, 1)))
    assert not masks[1:].any()


def test_deltas_are_divided_by_std_dev():
    gt_boxes = [[0.2, 0.2, 0.6, 0.6]]
    proposals = [[0.24, 0.2, 0.64, 0.6]]                       # IoU 0.82, shifted down 0.04
    _, class_ids, deltas, _ = run(proposals, [1], gt_boxes, np.ones((8, 8, 1), bool), t=2)
    # dy = (0.4 - 0.44) / 0.4 = -0.1, divided by 0.1 -> -1.
    np.testing.assert_allclose(deltas[0], [-1.0, 0, 0, 0], atol=1e-5)
    assert class_ids[0] == 1


def test_no_ground_truth_trains_background():
    proposals = [[0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.7, 0.7], [0.2, 0.6, 0.4, 0.9]]
    rois, class_ids, deltas, masks = run(proposals, [0, 0], np.zeros((2, 4)),
                                         np.zeros((8, 8, 2), bool), t=6, ratio=0.5)
    # T * (1 - ratio) = 3 negatives, all proposals here.
    assert (np.abs(rois).sum(axis=1) > 0).sum() == 3
    assert not class_ids.any() and not deltas.any() and not masks.any()
    assert np.isfinite(rois).all()


def test_crowd_box_is_never_positive_and_blocks_negatives():
    gt_boxes = [[0.1, 0.1, 0.5, 0.5], [0.6, 0.6, 0.9, 0.9]]
    gt_class_ids = [1, -3]                                      # second is a crowd
    proposals = [[0.1, 0.1, 0.5, 0.5],                         # positive (class 1)
                 [0.6, 0.6, 0.9, 0.9],                         # on the crowd: neither
                 [0.0, 0.6, 0.05, 0.9]]                        # far from both: negative
    rois, class_ids, _, _ = run(proposals, gt_class_ids, gt_boxes, np.ones((8, 8, 2), bool), t=4)
    assert class_ids.tolist() == [1, 0, 0, 0]
    np.testing.assert_allclose(rois[1], [0.0, 0.6, 0.05, 0.9])
    assert not rois[2:].any()
