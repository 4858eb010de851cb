"""ProposalLayer against a NumPy re-implementation of Matterport's steps."""
import numpy as np
import tensorflow as tf

from mrcnn.core.boxes import apply_box_deltas, non_max_suppression
from mrcnn.layers.proposal import ProposalLayer

STD = np.array([0.1, 0.1, 0.2, 0.2])


def numpy_proposals(probs, deltas, anchors, proposal_count, nms_threshold, pre_nms_limit):
    """One image: top-k by score, deltas * std, clip to 0..1, greedy NMS, zero padding."""
    scores = probs[:, 1]
    order = np.argsort(-scores, kind="stable")[:pre_nms_limit]
    boxes = apply_box_deltas(anchors[order].astype(np.float64), deltas[order] * STD)
    boxes = np.clip(boxes, 0.0, 1.0)
    keep = non_max_suppression(boxes, scores[order], nms_threshold)[:proposal_count]
    out = np.zeros((proposal_count, 4))
    out[:len(keep)] = boxes[keep]
    return out


def random_inputs(rng, batch, n):
    y1x1 = rng.uniform(0, 0.8, (batch, n, 2))
    hw = rng.uniform(0.05, 0.3, (batch, n, 2))
    anchors = np.concatenate([y1x1, y1x1 + hw], axis=-1).astype(np.float32)
    logits = rng.normal(size=(batch, n, 2))
    probs = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    deltas = rng.normal(0, 1, (batch, n, 4)).astype(np.float32)
    return probs, deltas, anchors


def test_matches_numpy_reimplementation(rng):
    probs, deltas, anchors = random_inputs(rng, batch=2, n=60)
    layer = ProposalLayer(proposal_count=25, nms_threshold=0.5, rpn_bbox_std_dev=STD,
                          pre_nms_limit=40)
    out = layer([tf.constant(probs), tf.constant(deltas), tf.constant(anchors)]).numpy()
    assert out.shape == (2, 25, 4)
    for b in range(2):
        expected = numpy_proposals(probs[b], deltas[b], anchors[b], 25, 0.5, 40)
        np.testing.assert_allclose(out[b], expected, atol=1e-5)


def test_pads_with_zero_rows_when_nms_keeps_few():
    # Four identical anchors: NMS keeps one, three rows of padding follow.
    anchors = np.tile([[0.1, 0.1, 0.5, 0.5]], (1, 4, 1)).astype(np.float32)
    probs = np.array([[[0.2, 0.8], [0.1, 0.9], [0.5, 0.5], [0.3, 0.7]]], np.float32)
    deltas = np.zeros((1, 4, 4), np.float32)
    out = ProposalLayer(4, 0.7, STD, pre_nms_limit=10)(
        [tf.constant(probs), tf.constant(deltas), tf.constant(anchors)]).numpy()
    np.testing.assert_allclose(out[0, 0], [0.1, 0.1, 0.5, 0.5], atol=1e-6)
    assert not out[0, 1:].any()


def test_clips_to_image_and_applies_std_dev():
    # dy = 10 * 0.1 = 1 box height down: (0.8, 0.0, 1.0, 0.2) -> y 1.0..1.2, clipped to 1.0.
    anchors = np.array([[[0.8, 0.0, 1.0, 0.2], [0.0, 0.0, 0.2, 0.2]]], np.float32)
    deltas = np.array([[[10, 0, 0, 0], [0, 5, 0, 0]]], np.float32)
    probs = np.array([[[0.1, 0.9], [0.2, 0.8]]], np.float32)
    out = ProposalLayer(2, 0.7, STD, pre_nms_limit=10)(
        [tf.constant(probs), tf.constant(deltas), tf.constant(anchors)]).numpy()
    # First: y centre 0.9 + 1 * 0.2 = 1.1, so (1.0, 0.0, 1.2, 0.2) clipped to (1, 0, 1, 0.2).
    np.testing.assert_allclose(out[0, 0], [1.0, 0.0, 1.0, 0.2], atol=1e-6)
    # Second: dx = 5 * 0.1 = 0.5 widths -> x shifted by 0.1.
    np.testing.assert_allclose(out[0, 1], [0.0, 0.1, 0.2, 0.3], atol=1e-6)


def test_get_config_round_trip():
    layer = ProposalLayer(7, 0.6, STD, pre_nms_limit=99, name="ROI")
    clone = ProposalLayer.from_config(layer.get_config())
    assert (clone.proposal_count, clone.nms_threshold, clone.pre_nms_limit, clone.name) == \
        (7, 0.6, 99, "ROI")
    assert clone.rpn_bbox_std_dev == tuple(STD)
