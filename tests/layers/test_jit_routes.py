"""The layers' static-shape routes (``jit_compatible=True``, Config.JIT_COMPILE) give what their
default routes give, computed independently by the default route (tf.image.crop_and_resize,
tf.image.non_max_suppression in map_fn, tf.where gathers, tf.random.shuffle), and compile with
XLA."""
import numpy as np
import pytest
import tensorflow as tf

from mrcnn.core.meta import compose_image_meta
from mrcnn.layers.detection_target import DetectionTargetLayer
from mrcnn.layers.losses import LOSS_FUNCTIONS, STATIC_LOSS_FUNCTIONS, LossLayer
from mrcnn.layers.proposal import ProposalLayer
from mrcnn.layers.roi_align import PyramidROIAlign, roi_level_graph

STD = (0.1, 0.1, 0.2, 0.2)


def xla(fn):
    return tf.function(fn, jit_compile=True)


def random_boxes(rng, shape, low=0.02, high=0.98, min_size=0.02):
    corners = rng.uniform(low, high, (*shape, 2, 2))
    y = np.sort(corners[..., 0], axis=-1)
    x = np.sort(corners[..., 1], axis=-1)
    boxes = np.stack([y[..., 0], x[..., 0], y[..., 1], x[..., 1]], axis=-1)
    boxes[..., 2:] = np.maximum(boxes[..., 2:], boxes[..., :2] + min_size)
    return boxes.astype(np.float32)


# ---------------------------------------------------------------- PyramidROIAlign

def roi_align_inputs(size=256, batch=2, count=30, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    maps = [tf.constant(rng.uniform(-1, 1, (batch, size // 2 ** k, size // 2 ** k, channels))
                        .astype(np.float32)) for k in range(2, 6)]
    # Boxes of every level (sides from 8 to 250 px), inside the image.
    boxes = random_boxes(rng, (batch, count), min_size=8 / size)
    meta = np.stack([compose_image_meta(0, (size, size, 3), (size, size, 3),
                                        (0, 0, size, size), 1.0, np.zeros(4))] * batch)
    return [tf.constant(boxes), tf.constant(meta.astype(np.float32))] + maps


def test_roi_align_routes_agree_and_compile():
    inputs = roi_align_inputs()
    expected = PyramidROIAlign([7, 5])(inputs).numpy()
    layer = PyramidROIAlign([7, 5], jit_compatible=True)
    got = layer(inputs).numpy()
    compiled = xla(layer)(inputs).numpy()
    assert got.shape == expected.shape == (2, 30, 7, 5, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(compiled, expected, atol=1e-5, rtol=0)
    assert layer.supports_jit and not PyramidROIAlign([7, 5]).supports_jit


def test_roi_align_routes_have_equal_gradients():
    """The reference: each box cropped by its own tf.image.crop_and_resize call from the level
    roi_level_graph gives it. (One call for all boxes would race: TensorFlow's CPU kernel of
    the image gradient adds the boxes' shares from several threads without synchronisation,
    tensorflow/tensorflow#42033, and loses some when boxes overlap.)"""
    inputs = roi_align_inputs(seed=1)
    boxes, maps = inputs[0], inputs[2:]
    weights = tf.constant(np.random.default_rng(2).normal(size=(2, 30, 4, 4, 3))
                          .astype(np.float32))
    levels = roi_level_graph(boxes, tf.constant([256.0, 256.0, 3.0])).numpy()

    with tf.GradientTape() as tape:
        tape.watch(maps)
        loss = tf.reduce_sum(PyramidROIAlign([4, 4], jit_compatible=True)(inputs) * weights)
    got = tape.gradient(loss, maps)
    with tf.GradientTape() as tape:
        tape.watch(maps)
        loss = tf.add_n([
            tf.reduce_sum(tf.image.crop_and_resize(
                maps[levels[b, k] - 2], boxes[b, k][tf.newaxis], [b], (4, 4)) * weights[b, k])
            for b in range(2) for k in range(30)])
    expected = tape.gradient(loss, maps, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    # TensorFlow's kernel rounds its sample positions in float32 (an ulp of a position on the
    # 64-pixel P2 is 4e-6 pixel), mrcnn.ops.crop's are exact: 2e-5 on gradients of about 1.
    reached = 0
    for g, e in zip(got, expected):
        reached += np.abs(e.numpy()).max() > 0.5
        np.testing.assert_allclose(g.numpy(), e.numpy(), atol=2e-5, rtol=0)
    assert reached >= 3                                   # boxes on (at least) three levels


def test_roi_align_get_config():
    layer = PyramidROIAlign([7, 7], jit_compatible=True, name="roi_align_classifier")
    assert PyramidROIAlign.from_config(layer.get_config()).jit_compatible is True


# ---------------------------------------------------------------- ProposalLayer

@pytest.mark.parametrize("count, pre_nms_limit", [(40, 200), (300, 200), (100, 1000)])
def test_proposal_routes_agree_and_compile(count, pre_nms_limit):
    rng = np.random.default_rng(count)
    foreground = rng.uniform(0, 1, (2, 1200, 1)).astype(np.float32)
    probs = np.concatenate([1 - foreground, foreground], axis=-1)
    deltas = rng.normal(0, 1, (2, 1200, 4)).astype(np.float32)
    anchors = random_boxes(rng, (2, 1200), min_size=0.05)
    expected = ProposalLayer(count, 0.7, pre_nms_limit=pre_nms_limit)(
        [probs, deltas, anchors]).numpy()
    layer = ProposalLayer(count, 0.7, pre_nms_limit=pre_nms_limit, jit_compatible=True)
    got = layer([probs, deltas, anchors]).numpy()
    compiled = xla(layer)([probs, deltas, anchors]).numpy()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(compiled, expected, atol=1e-6, rtol=0)
    kept = (np.abs(expected).sum(-1) > 0).sum(1)
    assert (kept > 0).all()
    assert ProposalLayer.from_config(layer.get_config()).jit_compatible is True


# ---------------------------------------------------------------- losses

def loss_inputs(seed=0, positives=True):
    rng = np.random.default_rng(seed)
    b, anchors, rows, rois, classes, m = 2, 50, 16, 6, 4, 5
    rpn_match = rng.choice([-1, 0, 1], (b, anchors, 1), p=[0.3, 0.6, 0.1] if positives
                           else [0.3, 0.7, 0.0]).astype(np.int32)
    class_ids = rng.integers(0, classes, (b, rois)) * (1 if positives else 0)
    return {
        "rpn_class_loss": [rpn_match, rng.normal(size=(b, anchors, 2)).astype(np.float32)],
        "rpn_bbox_loss": [rng.normal(size=(b, rows, 4)).astype(np.float32), rpn_match,
                          rng.normal(size=(b, anchors, 4)).astype(np.float32)],
        "mrcnn_class_loss": [class_ids, rng.normal(size=(b, rois, classes)).astype(np.float32),
                             np.array([[1, 1, 0, 1], [1, 1, 1, 1]], np.float32)],
        "mrcnn_bbox_loss": [rng.normal(size=(b, rois, 4)).astype(np.float32), class_ids,
                            rng.normal(size=(b, rois, classes, 4)).astype(np.float32)],
        "mrcnn_mask_loss": [rng.integers(0, 2, (b, rois, m, m)).astype(np.float32), class_ids,
                            rng.uniform(0.01, 0.99, (b, rois, m, m, classes))
                            .astype(np.float32)],
    }


@pytest.mark.parametrize("positives", [True, False])
@pytest.mark.parametrize("name", sorted(LOSS_FUNCTIONS))
def test_static_losses_equal_the_graph_losses(name, positives):
    inputs = loss_inputs(positives=positives)[name]
    if name == "rpn_bbox_loss":
        # At most `rows` positive anchors per image (the data pipeline's contract).
        assert (inputs[1] == 1).sum(axis=(1, 2)).max() <= inputs[0].shape[1]
    expected = float(LOSS_FUNCTIONS[name](*[tf.constant(x) for x in inputs]))
    got = float(STATIC_LOSS_FUNCTIONS[name](*[tf.constant(x) for x in inputs]))
    compiled = float(xla(LossLayer(name, jit_compatible=True))(
        [tf.constant(x) for x in inputs]))
    np.testing.assert_allclose([got, compiled], [expected, expected], rtol=1e-5, atol=1e-6)
    if positives or name in ("rpn_class_loss", "mrcnn_class_loss"):
        assert expected > 0
    else:
        assert expected == 0                   # nothing to measure: 0, not NaN


# ---------------------------------------------------------------- DetectionTargetLayer

def target_layers(t, ratio, mask_shape=(4, 4), mini=True):
    kwargs = dict(train_rois_per_image=t, roi_positive_ratio=ratio, bbox_std_dev=STD,
                  mask_shape=mask_shape, use_mini_mask=mini)
    return DetectionTargetLayer(**kwargs), DetectionTargetLayer(jit_compatible=True, **kwargs)


def rows_by_roi(rois, *targets):
    """{roi tuple: (targets of that row)} over the non-zero rows (rows come in random order)."""
    out = {}
    for i, roi in enumerate(rois):
        if np.abs(roi).sum() > 0:
            out[tuple(np.round(roi, 6))] = tuple(np.asarray(t[i]) for t in targets)
    return out


def scene(seed, batch=2, proposals=24, gt=5):
    """Random GT boxes (one crowd, one padding row), proposals around them and elsewhere, masks
    that differ per box and pixel."""
    rng = np.random.default_rng(seed)
    gt_boxes = random_boxes(rng, (batch, gt), 0.05, 0.9, min_size=0.15)
    gt_boxes[:, -1] = 0                                               # padding
    class_ids = rng.integers(1, 4, (batch, gt)).astype(np.int32)
    class_ids[:, -1] = 0
    class_ids[0, 1] = -2                                              # a crowd box
    near = gt_boxes[:, rng.integers(0, gt - 1, proposals // 2)]
    near = near + rng.normal(0, 0.01, near.shape).astype(np.float32)
    far = random_boxes(rng, (batch, proposals - proposals // 2))
    props = np.concatenate([near, far], axis=1).astype(np.float32)
    props[:, -2:] = 0                                                 # padding proposals
    masks = rng.uniform(0, 1, (batch, 12, 12, gt)) > 0.5
    return props, class_ids, gt_boxes, masks


def test_detection_targets_equal_when_every_candidate_is_taken():
    # T large: every positive (up to the quota) and the negatives the ratio allows are taken
    # by both routes; the rows are the same up to order.
    props, class_ids, gt_boxes, masks = scene(0)
    classic, static = target_layers(t=60, ratio=0.5)
    inputs = [tf.constant(x) for x in (props, class_ids, gt_boxes, masks)]
    expected = [x.numpy() for x in classic(inputs)]
    got = [x.numpy() for x in static(inputs)]
    compiled = [x.numpy() for x in xla(static)(inputs)]
    for result in (got, compiled):
        for b in range(2):
            want = rows_by_roi(expected[0][b], *[x[b] for x in expected[1:]])
            have = rows_by_roi(result[0][b], *[x[b] for x in result[1:]])
            assert want.keys() == have.keys()
            assert len(want) > 4
            for key, (cls, delta, mask) in want.items():
                assert have[key][0] == cls
                np.testing.assert_allclose(have[key][1], delta, atol=1e-5)
                np.testing.assert_array_equal(have[key][2], mask)
            # Positives first, then negatives, then padding.
            ids = result[1][b]
            positive = ids > 0
            assert not positive[np.argmin(positive):].any()
    assert (expected[1] > 0).sum() > 4 and (expected[3].sum(axis=(2, 3)) > 0).sum() > 4


@pytest.mark.parametrize("seed", [1, 2])
def test_detection_targets_sampling_rules_when_quotas_bind(seed):
    # T small: both routes sample. The static route's rows obey Matterport's rules and are
    # rows of the default route's candidate set with the same targets.
    props, class_ids, gt_boxes, masks = scene(seed, proposals=40)
    classic_all, _ = target_layers(t=200, ratio=0.5)
    inputs = [tf.constant(x) for x in (props, class_ids, gt_boxes, masks)]
    everything = [x.numpy() for x in classic_all(inputs)]       # all candidates (T = 200)
    _, static = target_layers(t=6, ratio=0.34)
    got = [x.numpy() for x in static(inputs)]
    for b in range(2):
        candidates = rows_by_roi(everything[0][b], *[x[b] for x in everything[1:]])
        have = rows_by_roi(got[0][b], *[x[b] for x in got[1:]])
        positives = sum(1 for c in candidates.values() if c[0] > 0)
        quota = int(6 * 0.34)
        chosen_positives = sum(1 for c in have.values() if c[0] > 0)
        assert chosen_positives == min(positives, quota)
        assert len(have) - chosen_positives == int(chosen_positives / 0.34) - chosen_positives
        for key, (cls, delta, mask) in have.items():
            assert key in candidates                 # sampled from the right sets
            assert candidates[key][0] == cls
            np.testing.assert_allclose(candidates[key][1], delta, atol=1e-5)
            np.testing.assert_array_equal(candidates[key][2], mask)


def test_detection_targets_without_ground_truth_take_background():
    props, class_ids, gt_boxes, masks = scene(3)
    class_ids[:] = 0
    gt_boxes[:] = 0
    _, static = target_layers(t=6, ratio=0.5)
    rois, ids, deltas, target_masks = [x.numpy() for x in static(
        [tf.constant(x) for x in (props, class_ids, gt_boxes, masks)])]
    # T * (1 - ratio) = 3 negatives per image.
    assert ((np.abs(rois).sum(-1) > 0).sum(1) == 3).all()
    assert not ids.any() and not deltas.any() and not target_masks.any()
    assert np.isfinite(rois).all()


def test_detection_target_get_config():
    _, static = target_layers(t=6, ratio=0.5)
    assert DetectionTargetLayer.from_config(static.get_config()).jit_compatible is True
