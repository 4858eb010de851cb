"""The training step optimises what Matterport's did, checked independently of the code's own
filters: the total is sum(LOSS_WEIGHTS[k] * loss_k) + WEIGHT_DECAY * sum(mean(w**2)) over the
trainable weights but BatchNorm gamma/beta; each loss weight reaches its own head only;
GRADIENT_CLIP_NORM clips each weight's gradient; frozen layers (BatchNorm moving statistics
included) do not move; and the mask head's leading-rows shortcut gives Matterport's loss (the mask
head runs on every ROI when its BatchNorm trains).

The batch's ROIs are given (USE_RPN_ROIS False) and fit DetectionTargetLayer's quotas exactly
(two positives and two negatives per image, TRAIN_ROIS_PER_IMAGE 8 at ratio 0.5), so its random
sampling only permutes rows and two steps from the same weights see the same targets.
Most steps run eagerly (run_eagerly=True: the same train_step, without minutes of tracing).
"""
import keras
import numpy as np
import pytest

from mrcnn.data.pipeline import build_batch
from mrcnn.maskrcnn import MaskRCNN
from mrcnn.training.presets import layer_regex, set_trainable
from tiny import rectangles_dataset, tiny_config

LOSSES = ["rpn_class_loss", "rpn_bbox_loss", "mrcnn_class_loss", "mrcnn_bbox_loss",
          "mrcnn_mask_loss"]
SIZE = 64


def step_config(**overrides):
    return tiny_config(BACKBONE="resnet18", USE_RPN_ROIS=False, POST_NMS_ROIS_TRAINING=4,
                       TRAIN_ROIS_PER_IMAGE=8, ROI_POSITIVE_RATIO=0.5, **overrides)


def _iou(a, b):
    inter = (max(0, min(a[2], b[2]) - max(a[0], b[0])) *
             max(0, min(a[3], b[3]) - max(a[1], b[1])))

    def area(r):
        return (r[2] - r[0]) * (r[3] - r[1])

    return inter / (area(a) + area(b) - inter)


def fixed_rois(gt_boxes, count):
    """[B, count, 4] pixel ROIs: two positives on each image's first box, two negatives."""
    rois = np.zeros((gt_boxes.shape[0], count, 4), np.int32)
    for b, image_boxes in enumerate(gt_boxes):
        boxes = [g.astype(int) for g in image_boxes if g.any()]
        positives = [boxes[0], boxes[0] + np.array([1, 1, -1, -1])]
        negatives = [np.array([y, x, y + 8, x + 8]) for y in range(0, SIZE - 8, 4)
                     for x in range(0, SIZE - 8, 4)
                     if all(_iou((y, x, y + 8, x + 8), g) < 0.1 for g in boxes)]
        assert all(_iou(p, boxes[0]) >= 0.5 for p in positives)
        rows = positives + [negatives[0], negatives[-1]]
        assert len(rows) == count      # no zero rows: NormBoxes makes padding a (negative) ROI
        rois[b] = rows
    return rois


def make_batch(config):
    dataset = rectangles_dataset(count=2, size=SIZE)
    batch = build_batch(dataset, config, dataset.image_ids,
                        random_rois=config.POST_NMS_ROIS_TRAINING, rng=np.random.default_rng(0))
    batch["input_roi"] = fixed_rois(batch["input_gt_boxes"], config.POST_NMS_ROIS_TRAINING)
    return batch


class Trainer:
    """A seeded tiny training model, its first weights, and one-step helpers."""

    def __init__(self, tmp_path, **overrides):
        keras.utils.set_random_seed(0)
        self.config = step_config(**overrides)
        self.model = MaskRCNN("training", self.config, tmp_path)
        self.km = self.model.keras_model
        self.initial = self.km.get_weights()
        self.batch = make_batch(self.config)

    def step(self, layers="all", train_bn=False, loss_weights=None, weight_decay=0.0,
             clip=None, lr=0.01, eager=True, start=None):
        """One SGD step (momentum 0) from the initial weights (or ``start``): (logs, before,
        after), the last two {variable path: array} over every weight, moving statistics
        included."""
        km = self.km
        km.set_weights(self.initial if start is None else start)
        set_trainable(km, layer_regex(layers), train_bn=train_bn)
        km.mrcnn_loss_weights = dict(loss_weights or dict.fromkeys(LOSSES, 1.0))
        km.weight_decay = weight_decay
        km.gradient_clip_norm = clip
        km.compile(optimizer=keras.optimizers.SGD(lr, momentum=0.0), jit_compile=False,
                   run_eagerly=eager)
        km.reset_metrics()
        before = {v.path: v.numpy() for v in km.weights}
        logs = km.train_on_batch(self.batch, return_dict=True)
        after = {v.path: v.numpy() for v in km.weights}
        return logs, before, after


@pytest.fixture(scope="module")
def frozen_bn(tmp_path_factory):
    return Trainer(tmp_path_factory.mktemp("logs"))


@pytest.fixture(scope="module")
def trained_bn(tmp_path_factory):
    return Trainer(tmp_path_factory.mktemp("logs"), TRAIN_BN=True)


def all_layers(model):
    """Every layer, entering nested models (rpn_model) and TimeDistributed wrappers."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)
            continue
        yield layer
        if getattr(layer, "layer", None) is not None:
            yield layer.layer


def batch_norm_scales(model):
    """ids of the gamma and beta variables of every BatchNormalization layer."""
    return {id(v) for layer in all_layers(model)
            if isinstance(layer, keras.layers.BatchNormalization)
            for v in (layer.gamma, layer.beta)}


def layer_paths(model, prefixes):
    """Paths of the trainable-kind weights (kernels, biases) of layers named with a prefix."""
    return {v.path for layer in all_layers(model) if layer.name.startswith(prefixes)
            for v in layer.weights if v.name in ("kernel", "bias")}


# --------------------------------------------------------------------------- item 2: the total
def test_total_is_weighted_losses_plus_matterport_weight_decay(frozen_bn):
    """Matterport: keras.regularizers.l2(WEIGHT_DECAY)(w) / tf.size(w), i.e. WEIGHT_DECAY *
    mean(w**2), for the trainable weights whose name has no gamma/beta, biases included."""
    km = frozen_bn.km
    weights = dict(zip(LOSSES, [1.0, 2.0, 0.5, 3.0, 0.25]))
    set_trainable(km, layer_regex("all"), train_bn=None)   # BN trainable: gamma/beta count
    bn = batch_norm_scales(km)
    decayed = [v for v in km.trainable_weights if id(v) not in bn]
    trainable_bn = [v for v in km.trainable_weights if id(v) in bn]
    assert trainable_bn and len(decayed) == len(km.trainable_weights) - len(trainable_bn)
    assert any(v.name == "bias" for v in decayed)          # biases decay, as in Matterport
    decay = 0.01
    logs, before, _ = frozen_bn.step(train_bn=None, loss_weights=weights, weight_decay=decay)
    l2 = decay * sum(float(np.mean(np.square(before[v.path].astype(np.float64))))
                     for v in decayed)
    with_bn = l2 + decay * sum(float(np.mean(np.square(before[v.path]))) for v in trainable_bn)
    expected = sum(weights[k] * logs[k] for k in LOSSES) + l2
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    # The test can tell: gamma (ones) in the decay would add a visible amount.
    assert with_bn - l2 > 1e-3 * expected


def test_weight_decay_gradient_skips_batch_norm(frozen_bn):
    """With every loss weight 0 the step is the weight decay's alone: w -= lr * WD * 2w / size
    for kernels and biases, gamma and beta untouched."""
    km = frozen_bn.km
    lr, decay = 1.0, 50.0
    # Biases start at zero: give every weight a value, so a bias left out would show.
    start = [w + 0.05 if w.ndim == 1 else w for w in frozen_bn.initial]
    logs, before, after = frozen_bn.step(train_bn=None, loss_weights=dict.fromkeys(LOSSES, 0.0),
                                         weight_decay=decay, lr=lr, start=start)
    bn = batch_norm_scales(km)
    checked = set()
    for v in km.trainable_weights:
        w, moved = before[v.path], after[v.path]
        if id(v) in bn:
            np.testing.assert_array_equal(moved, w, err_msg=v.path)
            continue
        expected = w - lr * decay * 2.0 * w / w.size
        np.testing.assert_allclose(moved, expected, rtol=1e-6, atol=1e-8, err_msg=v.path)
        if w.size < 1e6 and np.abs(w).max() > 0:    # moves of 1e-4 * w and more: visible
            checked.add(v.name)
    assert checked == {"kernel", "bias"}
    assert logs["loss"] == pytest.approx(
        decay * sum(float(np.mean(np.square(before[v.path]))) for v in km.trainable_weights
                    if id(v) not in bn), rel=1e-5)


@pytest.mark.parametrize("loss,scaled,unchanged", [
    # The mask loss reaches the mask head; the RPN and the classifier/box head are unaffected.
    ("mrcnn_mask_loss", ("mrcnn_mask",), ("rpn_", "mrcnn_class", "mrcnn_bbox")),
    # The class loss reaches the logits (and the shared convs), not the box output or the mask.
    ("mrcnn_class_loss", ("mrcnn_class_logits",), ("rpn_", "mrcnn_bbox_fc", "mrcnn_mask")),
])
def test_a_loss_weight_reaches_its_head_only(frozen_bn, loss, scaled, unchanged):
    km = frozen_bn.km
    ones = dict.fromkeys(LOSSES, 1.0)
    _, before, base = frozen_bn.step(loss_weights=ones)
    _, _, tripled = frozen_bn.step(loss_weights={**ones, loss: 3.0})
    delta = {p: base[p] - before[p] for p in before}
    delta3 = {p: tripled[p] - before[p] for p in before}
    scaled_paths, unchanged_paths = layer_paths(km, scaled), layer_paths(km, unchanged)
    assert scaled_paths and unchanged_paths
    for path in scaled_paths:
        np.testing.assert_allclose(delta3[path], 3 * delta[path], rtol=1e-3,
                                   atol=1e-4 * np.abs(delta[path]).max(), err_msg=path)
        assert np.abs(delta[path]).max() > 0, path
    for path in unchanged_paths:
        np.testing.assert_allclose(delta3[path], delta[path], rtol=1e-3,
                                   atol=1e-4 * np.abs(delta[path]).max() + 1e-12, err_msg=path)
    # The shared part (FPN) sees the changed total, so the test compares something real.
    fpn = layer_paths(km, ("fpn_c2p2",))
    assert any(not np.allclose(delta3[p], delta[p], rtol=1e-2) for p in fpn)


def test_gradient_clip_norm_bounds_each_weight(frozen_bn):
    """A huge loss: each weight tensor moves by at most lr * GRADIENT_CLIP_NORM (Matterport's
    per-variable clipnorm), and the ones with a gradient by exactly that."""
    km = frozen_bn.km
    lr, clip = 0.1, 5.0
    _, before, after = frozen_bn.step(loss_weights=dict.fromkeys(LOSSES, 1e5), clip=clip, lr=lr)
    norms = {v.path: float(np.linalg.norm(after[v.path] - before[v.path]))
             for v in km.trainable_weights}
    assert max(norms.values()) <= lr * clip * (1 + 1e-5)
    at_clip = [p for p, n in norms.items() if n == pytest.approx(lr * clip, rel=1e-4)]
    assert len(at_clip) > 0.8 * len(norms), sorted(set(norms) - set(at_clip))


# -------------------------------------------------------------------- item 2: frozen layers
def test_heads_step_leaves_the_backbone_and_batch_norm_statistics_alone(frozen_bn):
    """layers="heads", TRAIN_BN False, a compiled (traced) step as fit() runs it."""
    km = frozen_bn.km
    _, before, after = frozen_bn.step(layers="heads", lr=0.1, eager=False)
    heads = layer_paths(km, ("mrcnn_", "rpn_", "fpn_"))
    moving = [p for p in before if p.endswith(("moving_mean", "moving_variance"))]
    assert moving
    for path in before:
        if path in heads:
            continue
        np.testing.assert_array_equal(after[path], before[path], err_msg=path)
    assert all(np.abs(after[p] - before[p]).max() > 0 for p in layer_paths(
        km, ("mrcnn_mask_conv1", "rpn_conv_shared", "fpn_c5p5")))


def test_all_layers_with_frozen_batch_norm_keep_its_statistics(frozen_bn):
    _, before, after = frozen_bn.step(layers="all", lr=0.1)
    for path in before:
        if path.endswith(("moving_mean", "moving_variance", "gamma", "beta")):
            np.testing.assert_array_equal(after[path], before[path], err_msg=path)
    assert np.abs(after["conv1/kernel"] - before["conv1/kernel"]).max() > 0


def test_trained_batch_norm_updates_its_statistics_unless_frozen_by_layers(trained_bn):
    """TRAIN_BN True: layers="all" moves the backbone's moving statistics (so the test above can
    fail); layers="heads" leaves them, but the heads' BatchNorm statistics move."""
    km = trained_bn.km
    backbone_bn = km.get_layer("bn_conv1")
    head_bn = km.get_layer("mrcnn_mask_bn1").layer
    statistics = [bn.moving_mean.path for bn in (backbone_bn, head_bn)] + [
        backbone_bn.moving_variance.path]
    _, before, after = trained_bn.step(layers="all", train_bn=True)
    for path in statistics:
        assert np.abs(after[path] - before[path]).max() > 0, path
    _, before, after = trained_bn.step(layers="heads", train_bn=True)
    for path in before:
        if path.startswith(("bn", "res", "conv1")):
            np.testing.assert_array_equal(after[path], before[path], err_msg=path)
    assert np.abs(after[head_bn.moving_mean.path] - before[head_bn.moving_mean.path]).max() > 0


# ------------------------------------------------------ item 3: TRAIN_BN and the mask head's rows
def _mask_head_on(trainer, rows):
    """The model's mask loss and its mask head run on the first ``rows`` target ROIs.

    One forward pass (training=True) of the training graph gives the targets, P2..P5 and the
    model's mrcnn_mask / mrcnn_mask_loss; a second mask head with the same weights runs on the
    chosen rows; the loss over those rows is computed here in NumPy (binary cross-entropy of the
    true class's mask over positive ROIs, Matterport's mrcnn_mask_loss_graph)."""
    from mrcnn.graph.heads import build_fpn_mask_graph
    km, config = trainer.km, trainer.config
    km.set_weights(trainer.initial)
    maps = [km.get_layer(f"fpn_p{i}").output for i in range(2, 6)]
    targets = km.get_layer("proposal_targets").output
    probe = keras.Model(km.inputs, maps + list(targets) +
                        [km.outputs[6], km.get_layer("mrcnn_mask_loss").output])
    *maps, rois, class_ids, _, target_mask, model_masks, model_loss = [
        np.asarray(x) for x in probe(trainer.batch, training=True)]

    inputs = [keras.Input((None, 4)), keras.Input((config.IMAGE_META_SIZE,))] + [
        keras.Input((None, None, config.TOP_DOWN_PYRAMID_SIZE)) for _ in maps]
    head = keras.Model(inputs, build_fpn_mask_graph(
        inputs[0], inputs[2:], inputs[1], config.MASK_POOL_SIZE, config.NUM_CLASSES,
        train_bn=config.TRAIN_BN))
    for layer in head.layers:
        if layer.weights:
            layer.set_weights(km.get_layer(layer.name).get_weights())
    masks = np.asarray(head([rois[:, :rows], trainer.batch["input_image_meta"]] + maps,
                            training=True))
    terms = []
    for b, r in zip(*np.nonzero(class_ids[:, :rows] > 0)):
        p = np.clip(masks[b, r, :, :, class_ids[b, r]], 1e-7, 1 - 1e-7)
        t = target_mask[b, r]
        terms.append(-(t * np.log(p) + (1 - t) * np.log(1 - p)))
    return float(model_loss), float(np.mean(terms)), model_masks, masks, class_ids


def test_mask_head_rows_with_frozen_batch_norm(frozen_bn):
    """TRAIN_BN False: the mask head runs on the leading int(8 * 0.5) = 4 rows, the only ones
    that can be positive, and the loss is the one of the mask head run on all 8 rows."""
    assert frozen_bn.km.outputs[6].shape[1] == 4
    loss, on_all_rows, model_masks, all_masks, class_ids = _mask_head_on(frozen_bn, rows=8)
    assert (class_ids > 0).sum() == 4 and not (class_ids[:, 4:] > 0).any()
    assert model_masks.shape[1] == 4
    assert loss > 0.1
    assert loss == pytest.approx(on_all_rows, rel=1e-4)
    np.testing.assert_allclose(model_masks, all_masks[:, :4], rtol=1e-4, atol=1e-6)


def test_mask_head_rows_with_trained_batch_norm(trained_bn):
    """TRAIN_BN True: batch statistics depend on every row, so the mask head runs on all
    TRAIN_ROIS_PER_IMAGE rows as Matterport's; on the leading rows alone the loss would differ."""
    assert trained_bn.km.outputs[6].shape[1] == 8
    loss, on_all_rows, model_masks, _, _ = _mask_head_on(trained_bn, rows=8)
    assert model_masks.shape[1] == 8
    assert loss == pytest.approx(on_all_rows, rel=1e-4)
    _, on_leading_rows, _, _, _ = _mask_head_on(trained_bn, rows=4)
    assert abs(on_leading_rows - loss) > 1e-3 * loss
