"""mrcnn.ops.crop equals tf.image.crop_and_resize (bilinear, extrapolation 0) within 1e-5, values
and gradients w.r.t. the image, and compiles with XLA. The reference is TensorFlow's own kernel;
images differ per image, row, column and channel, so a wrong gather or a swapped axis fails."""
import numpy as np
import pytest
import tensorflow as tf

from mrcnn.ops.crop import crop_and_resize, pyramid_crop_and_resize

TOL = 1e-5
# Gradients are sums over every sample that touches a pixel, taken in another order than
# TensorFlow's kernel: within 1e-5 plus float32 rounding of the sum (1e-6 of its size).
GRAD_RTOL = 1e-6


def make_image(batch=3, height=9, width=13, channels=4, seed=0):
    rng = np.random.default_rng(seed)
    # A distinct, smooth-free value per (image, y, x, channel).
    return rng.uniform(-2, 2, (batch, height, width, channels)).astype(np.float32)


def awkward_boxes(count=40, seed=1):
    """Random boxes inside, partly and fully outside the image, flipped and zero-size."""
    rng = np.random.default_rng(seed)
    inside = np.sort(rng.uniform(0, 1, (count, 2, 2)), axis=1).reshape(count, 4)
    inside = inside[:, [0, 2, 1, 3]]                      # (y1, x1, y2, x2)
    partly = rng.uniform(-0.5, 1.5, (count, 4))
    outside = np.array([[1.2, 1.1, 1.6, 1.9], [-0.9, -0.5, -0.2, -0.1], [0.2, 1.3, 0.8, 1.7]])
    flipped = inside[:, [2, 3, 0, 1]]
    degenerate = np.array([[0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0], [0.3, 0.1, 0.3, 0.9],
                           [1.0, 1.0, 1.0, 1.0]])
    exact = np.array([[0.0, 0.0, 1.0, 1.0], [0.25, 0.5, 0.75, 1.0]])   # samples on pixels
    # Edges on a 0.1 grid: many samples fall on (or within rounding of) a pixel, where a
    # position rounded differently in two places gathers one pixel and weights another.
    grid = np.round(rng.integers(0, 11, (count, 4)) / 10.0, 1)
    return np.concatenate([inside, partly, outside, flipped, degenerate, exact,
                           grid]).astype(np.float32)


def tf_positions(lo, hi, size, count):
    """TensorFlow's kernel's float32 sample positions along one axis: [N, count]."""
    lo = np.float32(lo)[:, None]
    hi = np.float32(hi)[:, None]
    extent = np.float32(size - 1)
    if count == 1:
        return np.float32(0.5 * np.float64(lo + hi) * (size - 1))
    scale = (hi - lo) * extent / np.float32(count - 1)
    return lo * extent + np.arange(count, dtype=np.float32)[None, :] * scale


def off_border(boxes, image_shape, crop_size, eps=1e-4):
    """[N, ch, cw, 1] bool: samples not within float rounding of the image's border, where the
    kernel's float32 positions and mrcnn.ops.crop's exact ones may fall on different sides."""
    height, width = image_shape[1:3]
    ys = tf_positions(boxes[:, 0], boxes[:, 2], height, crop_size[0])
    xs = tf_positions(boxes[:, 1], boxes[:, 3], width, crop_size[1])
    ok_y = (np.abs(ys) > eps) & (np.abs(ys - (height - 1)) > eps)
    ok_x = (np.abs(xs) > eps) & (np.abs(xs - (width - 1)) > eps)
    return (ok_y[:, :, None] & ok_x[:, None, :])[..., None]


def reference(image, boxes, box_indices, crop_size):
    return tf.image.crop_and_resize(image, boxes, box_indices, crop_size, method="bilinear",
                                    extrapolation_value=0.0)


def reference_gradient(image, boxes, box_indices, crop_size, weights):
    """d sum(crop_and_resize(...) * weights) / d image, one box at a time, summed in float64.

    TensorFlow's CPU kernel for this gradient (CropAndResizeGradImage) adds the boxes' shares
    from several threads without synchronisation (tensorflow/tensorflow#42033): with many boxes
    on one image it loses updates (measured here: run-to-run differences up to 3.6 on
    gradients of about 15). One box per call has no race."""
    image = tf.convert_to_tensor(image)
    total = np.zeros(image.shape, np.float64)
    for k in range(len(boxes)):
        with tf.GradientTape() as tape:
            tape.watch(image)
            crops = reference(image, boxes[k:k + 1], box_indices[k:k + 1], crop_size)
            loss = tf.reduce_sum(crops * weights[k:k + 1])
        total += tape.gradient(loss, image).numpy()
    return total


@pytest.mark.parametrize("crop_size", [(7, 7), (1, 1), (1, 5), (4, 1), (3, 6), (14, 9)])
def test_values_equal_crop_and_resize(crop_size):
    image = make_image()
    boxes = awkward_boxes()
    box_indices = np.random.default_rng(2).integers(0, image.shape[0], len(boxes)).astype(np.int32)
    expected = reference(image, boxes, box_indices, crop_size).numpy()
    got = crop_and_resize(image, boxes, box_indices, crop_size).numpy()
    assert got.shape == expected.shape == (len(boxes), *crop_size, image.shape[-1])
    keep = np.broadcast_to(off_border(boxes, image.shape, crop_size), got.shape)
    assert keep.mean() > 0.9
    np.testing.assert_allclose(got[keep], expected[keep], atol=TOL, rtol=0)
    # The case mixes in-image crops with extrapolated (zero) samples.
    assert (expected == 0).any() and (expected != 0).any()


def test_box_indices_pick_the_image():
    image = make_image()
    box = np.array([[0.1, 0.2, 0.9, 0.7]] * 3, np.float32)
    got = crop_and_resize(image, box, [2, 0, 1], (5, 5)).numpy()
    expected = reference(image, box, [2, 0, 1], (5, 5)).numpy()
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)
    assert not np.allclose(got[0], got[1]) and not np.allclose(got[1], got[2])


def test_gradient_wrt_image_equals_crop_and_resize():
    image = tf.constant(make_image())
    boxes = tf.constant(awkward_boxes())
    box_indices = tf.constant(
        np.random.default_rng(3).integers(0, 3, boxes.shape[0]).astype(np.int32))
    # Weights differ per output element, so each sample's gradient share is checked; samples on
    # the border (see off_border) weigh 0.
    weights = np.random.default_rng(4).normal(size=(boxes.shape[0], 6, 5, image.shape[-1]))
    weights = tf.constant((weights * off_border(boxes.numpy(), image.shape, (6, 5)))
                          .astype(np.float32))

    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.reduce_sum(crop_and_resize(image, boxes, box_indices, (6, 5)) * weights)
    got = tape.gradient(loss, image).numpy()
    expected = reference_gradient(image, boxes, box_indices, (6, 5), weights)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=GRAD_RTOL)


def test_compiles_with_xla_values_and_gradients():
    image = tf.constant(make_image())
    boxes = tf.constant(awkward_boxes())
    box_indices = tf.constant(np.arange(boxes.shape[0], dtype=np.int32) % 3)
    keep = off_border(boxes.numpy(), image.shape, (7, 7))
    weights = np.random.default_rng(6).normal(size=(boxes.shape[0], 7, 7, image.shape[-1]))
    weights = tf.constant((weights * keep).astype(np.float32))

    @tf.function(jit_compile=True)
    def compiled():
        with tf.GradientTape() as tape:
            tape.watch(image)
            crops = crop_and_resize(image, boxes, box_indices, (7, 7))
            loss = tf.reduce_sum(crops * weights)
        return crops, tape.gradient(loss, image)

    crops, gradient = compiled()
    expected = reference(image, boxes, box_indices, (7, 7))
    expected_gradient = reference_gradient(image, boxes, box_indices, (7, 7), weights)
    keep = np.broadcast_to(keep, crops.shape)
    np.testing.assert_allclose(crops.numpy()[keep], expected.numpy()[keep], atol=TOL, rtol=0)
    # XLA's scatter-add sums the ~70 contributions per pixel (weights of either sign) in its
    # own order: 5e-5 (a misplaced sample would be off by about 1).
    np.testing.assert_allclose(gradient.numpy(), expected_gradient, atol=5e-5, rtol=0)


def test_pyramid_crop_takes_each_box_from_its_level():
    maps = [make_image(2, 16, 20, 3, seed=10), make_image(2, 8, 10, 3, seed=11),
            make_image(2, 4, 5, 3, seed=12), make_image(2, 2, 3, 3, seed=13)]
    boxes = awkward_boxes(count=10)
    rng = np.random.default_rng(5)
    levels = rng.integers(0, 4, len(boxes)).astype(np.int32)
    box_indices = rng.integers(0, 2, len(boxes)).astype(np.int32)
    feature_maps = [tf.constant(m) for m in maps]

    keep = np.stack([off_border(boxes[k:k + 1], maps[lv].shape, (4, 3))[0]
                     for k, lv in enumerate(levels)]).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(feature_maps)
        got = pyramid_crop_and_resize(feature_maps, boxes, box_indices, levels, (4, 3)) * keep
        loss = tf.reduce_sum(got * tf.range(1.0, 4.0))
    got_grads = tape.gradient(loss, feature_maps)

    with tf.GradientTape() as tape:
        tape.watch(feature_maps)
        rows = [reference(feature_maps[lv], boxes[k:k + 1], box_indices[k:k + 1], (4, 3))
                for k, lv in enumerate(levels)]
        expected = tf.concat(rows, axis=0) * keep
        loss = tf.reduce_sum(expected * tf.range(1.0, 4.0))
    expected_grads = tape.gradient(loss, feature_maps)

    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=TOL, rtol=0)
    for g, e in zip(got_grads, expected_grads):
        np.testing.assert_allclose(g.numpy(), e.numpy(), atol=TOL, rtol=GRAD_RTOL)
    assert len(set(levels.tolist())) == 4


def test_pyramid_crop_compiles_with_xla():
    maps = [tf.constant(make_image(2, 16, 16, 3, seed=20 + i)[:, :16 >> i, :16 >> i])
            for i in range(4)]
    boxes = tf.constant(awkward_boxes(count=6))
    levels = tf.constant(np.arange(boxes.shape[0], dtype=np.int32) % 4)
    box_indices = tf.constant(np.arange(boxes.shape[0], dtype=np.int32) % 2)
    eager = pyramid_crop_and_resize(maps, boxes, box_indices, levels, (5, 5))
    compiled = tf.function(pyramid_crop_and_resize, jit_compile=True)
    got = compiled(maps, boxes, box_indices, levels, (5, 5))
    # Integer positions: the compiled and the eager crops agree on every sample, border included.
    np.testing.assert_allclose(got.numpy(), eager.numpy(), atol=TOL, rtol=0)
