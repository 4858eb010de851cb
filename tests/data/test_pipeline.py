"""Tests of mrcnn.data.pipeline: build_batch, DataSequence and data_generator."""
import albumentations as A
import keras
import numpy as np
import pytest

from mrcnn.core.anchors import get_pixel_anchors
from mrcnn.data.pipeline import INPUT_NAMES, DataSequence, batch_rng, build_batch, data_generator

# TinyConfig, 64x64 images: feature maps ceil(64 / (4, 8, 16, 32, 64)) = 16, 8, 4, 2, 1;
# anchor stride 2 keeps ceil(n / 2)**2 = 64, 16, 4, 1, 1 cells, 3 ratios each:
# (64 + 16 + 4 + 1 + 1) * 3 = 258 anchors.
ANCHOR_COUNT = 258


@pytest.fixture
def dataset(make_dataset, helpers):
    """Four 64x64 images: 2 instances, none, 6 instances, 1 crowd + 1 instance."""
    items = [
        helpers.boxes_image(64, 64, [(4, 4, 20, 20), (30, 30, 60, 50)], [1, 2]),
        helpers.boxes_image(64, 64, []),
        helpers.boxes_image(64, 64, [(2, 10 * i, 8, 10 * i + 6) for i in range(6)],
                            [1, 2, 1, 2, 1, 2]),
        helpers.boxes_image(64, 64, [(0, 0, 32, 32), (40, 40, 60, 60)], [-1, 2]),
    ]
    return make_dataset(items)


def assert_batches_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_pixel_anchors_count_and_cache(config):
    anchors = get_pixel_anchors(config, (64, 64, 3))
    assert anchors.shape == (ANCHOR_COUNT, 4)
    assert get_pixel_anchors(config, (64, 64, 3)) is anchors   # cached
    assert not anchors.flags.writeable


def test_shapes_and_dtypes(config, dataset):
    batch = build_batch(dataset, config, [0, 2], rng=np.random.default_rng(0))
    expected = {
        "input_image": ((2, 64, 64, 3), np.float32),
        "input_image_meta": ((2, config.IMAGE_META_SIZE), np.float32),   # 12 + 3 classes
        "input_rpn_match": ((2, ANCHOR_COUNT, 1), np.int32),
        "input_rpn_bbox": ((2, 32, 4), np.float32),
        "input_gt_class_ids": ((2, 4), np.int32),
        "input_gt_boxes": ((2, 4, 4), np.float32),
        "input_gt_masks": ((2, 16, 16, 4), np.bool_),                     # mini-masks
    }
    assert set(batch) == set(expected) == set(INPUT_NAMES)
    for key, (shape, dtype) in expected.items():
        assert batch[key].shape == shape, key
        assert batch[key].dtype == dtype, key
    # The image is molded: pixel 10 (background) minus MEAN_PIXEL.
    np.testing.assert_allclose(batch["input_image"][0, 0, 0], 10 - config.MEAN_PIXEL, rtol=1e-6)
    np.testing.assert_array_equal(batch["input_gt_boxes"][0, :2], [(4, 4, 20, 20),
                                                                   (30, 30, 60, 50)])
    np.testing.assert_array_equal(batch["input_gt_class_ids"][0], [1, 2, 0, 0])
    masks = batch["input_gt_masks"][0]
    assert masks[:, :, :2].all() and not masks[:, :, 2:].any()


def test_full_size_masks(config, dataset):
    config.USE_MINI_MASK = False
    batch = build_batch(dataset, config, [0, 1])
    assert batch["input_gt_masks"].shape == (2, 64, 64, 4)
    assert batch["input_gt_masks"][0, 4:20, 4:20, 0].all()
    assert batch["input_gt_masks"][0, :, :, 0].sum() == 16 * 16


def test_image_without_instances_is_kept(config, dataset):
    batch = build_batch(dataset, config, [1, 0], rng=np.random.default_rng(0))
    assert not batch["input_gt_class_ids"][0].any()
    assert not batch["input_gt_boxes"][0].any()
    assert not batch["input_gt_masks"][0].any()
    # No object: no positive anchor, RPN_TRAIN_ANCHORS_PER_IMAGE = 32 negatives, zero deltas.
    match = batch["input_rpn_match"][0, :, 0]
    assert np.sum(match == 1) == 0 and np.sum(match == -1) == 32
    assert not batch["input_rpn_bbox"][0].any()
    # The other image has positives.
    assert np.sum(batch["input_rpn_match"][1] == 1) > 0


def test_max_gt_instances_keeps_a_random_subset(config, dataset):
    # Image 2 has 6 instances; MAX_GT_INSTANCES is 4.
    originals = {(int(c), tuple(b)) for c, b in zip([1, 2, 1, 2, 1, 2],
                                                    [(2, 10 * i, 8, 10 * i + 6) for i in range(6)])}
    subsets = set()
    for seed in range(4):
        batch = build_batch(dataset, config, [2], rng=np.random.default_rng(seed))
        rows = {(int(c), tuple(int(v) for v in b)) for c, b in
                zip(batch["input_gt_class_ids"][0], batch["input_gt_boxes"][0])}
        assert len(rows) == 4 and rows <= originals
        # Each kept mini-mask is the full box of its instance.
        assert batch["input_gt_masks"][0].all()
        subsets.add(frozenset(rows))
    assert len(subsets) > 1


def test_crowds_pass_through(config, dataset):
    batch = build_batch(dataset, config, [3])
    np.testing.assert_array_equal(batch["input_gt_class_ids"][0], [-1, 2, 0, 0])


def test_build_batch_reproducible(config, dataset):
    flip = A.Compose([A.HorizontalFlip(p=0.5)])
    a = build_batch(dataset, config, [0, 2], augmentation=flip, rng=np.random.default_rng(3))
    b = build_batch(dataset, config, [0, 2], augmentation=flip, rng=np.random.default_rng(3))
    assert_batches_equal(a, b)
    # Each image has its own stream: image 0 is the same whatever its batch neighbour is.
    c = build_batch(dataset, config, [0, 3], augmentation=flip, rng=np.random.default_rng(3))
    for key in a:
        np.testing.assert_array_equal(a[key][0], c[key][0], err_msg=key)


def test_random_rois_and_detection_targets(config, dataset):
    batch = build_batch(dataset, config, [0, 1], random_rois=10, detection_targets=True,
                        rng=np.random.default_rng(0))
    assert batch["input_roi"].shape == (2, 10, 4) and batch["input_roi"].dtype == np.int32
    assert batch["target_rois"].shape == (2, 8, 4)
    assert batch["target_class_ids"].shape == (2, 8)
    assert batch["target_bbox"].shape == (2, 8, 3, 4)
    assert batch["target_mask"].shape == (2, 8, 28, 28, 3)
    assert not batch["target_class_ids"][1].any()   # the image without instances


def test_mixed_image_shapes_are_padded_to_one_batch_shape(config, make_dataset, helpers):
    from mrcnn.core.anchors import get_anchors
    from mrcnn.core.meta import parse_image_meta
    config.IMAGE_RESIZE_MODE = "none"
    dataset = make_dataset([helpers.boxes_image(64, 64, [(8, 8, 40, 40)]),
                            helpers.boxes_image(128, 64, [(70, 10, 120, 50)])])
    batch = build_batch(dataset, config, [0, 1])
    # Padded at the bottom to 128 x 64; the padding is molded zero (0 - MEAN_PIXEL).
    assert batch["input_image"].shape == (2, 128, 64, 3)
    np.testing.assert_allclose(batch["input_image"][0, 64:], -np.asarray(config.MEAN_PIXEL)
                               * np.ones((64, 64, 1)), rtol=1e-6)
    np.testing.assert_allclose(batch["input_image"][0, 8, 8], 200 - config.MEAN_PIXEL, rtol=1e-6)
    meta = parse_image_meta(batch["input_image_meta"])
    np.testing.assert_array_equal(meta["image_shape"], [[128, 64, 3], [128, 64, 3]])
    np.testing.assert_array_equal(meta["original_image_shape"], [[64, 64, 3], [128, 64, 3]])
    np.testing.assert_array_equal(meta["window"], [[0, 0, 64, 64], [0, 0, 128, 64]])
    # RPN targets for the anchors of the padded shape, not of IMAGE_SHAPE (64 x 64).
    assert batch["input_rpn_match"].shape[1] == get_anchors(config, (128, 64)).shape[0]
    assert get_anchors(config, (128, 64)).shape[0] != get_anchors(config, (64, 64)).shape[0]
    np.testing.assert_array_equal(batch["input_gt_boxes"][:, 0], [[8, 8, 40, 40],
                                                                  [70, 10, 120, 50]])


def test_pad_to_pads_further_than_the_largest_image(config, make_dataset, helpers):
    config.IMAGE_RESIZE_MODE = "none"
    dataset = make_dataset([helpers.boxes_image(64, 64, [(8, 8, 40, 40)])] * 2)
    batch = build_batch(dataset, config, [0, 1], pad_to=(128, 192))
    assert batch["input_image"].shape == (2, 128, 192, 3)


def test_size_not_a_multiple_of_64_in_mode_none_names_the_image(config, make_dataset, helpers):
    config.IMAGE_RESIZE_MODE = "none"
    dataset = make_dataset([helpers.boxes_image(64, 64, []), helpers.boxes_image(32, 64, [])])
    with pytest.raises(ValueError, match=r"image 1 \(toy://1\) is 32x64 .*multiples of 64"
                                         r".*'scale_pad64'"):
        build_batch(dataset, config, [0, 1])


def test_sequence_groups_images_by_bucket_shape(config, make_dataset, helpers):
    config.IMAGE_RESIZE_MODE = "pad64"
    config.IMAGE_MIN_DIM = 0
    sizes = [(64, 128), (128, 64), (64, 120), (120, 64), (64, 64), (70, 130)]
    dataset = make_dataset([helpers.boxes_image(h, w, [(2, 2, 30, 30)]) for h, w in sizes])
    sequence = DataSequence(dataset, config, batch_size=2, seed=3)
    # pad64 shapes: 64x128, 128x64, 64x128, 128x64, 64x64, 128x192 -> four buckets.
    assert sequence.batch_shapes == [(64, 64), (64, 128), (128, 64), (128, 192)]
    expected = {0: (64, 128), 1: (128, 64), 2: (64, 128), 3: (128, 64), 4: (64, 64),
                5: (128, 192)}
    # One batch per bucket (a bucket of one image repeats it to fill the batch).
    assert len(sequence) == 4
    for epoch in range(2):
        seen = set()
        for index in range(len(sequence)):
            batch = sequence.batch(epoch, index)
            ids = parse_ids(batch)
            shapes = {expected[i] for i in ids}
            assert len(shapes) == 1 and batch["input_image"].shape[1:3] == shapes.pop()
            seen.update(ids)
        assert seen == set(range(6))


def test_signature_is_static_for_one_shape_and_open_for_several(config, make_dataset, helpers):
    """fit() traces its step for the feed's signature: with one batch shape the shapes are
    static, with several only the last axis is (one trace serves every bucket)."""
    config.IMAGE_RESIZE_MODE = "pad64"
    config.IMAGE_MIN_DIM = 0
    one = make_dataset([helpers.boxes_image(64, 128, [(2, 2, 30, 30)]) for _ in range(3)])
    static = DataSequence(one, config, batch_size=2, seed=0).signature()
    batch = DataSequence(one, config, batch_size=2, seed=0).batch(0, 0)
    assert static["input_image"].shape.as_list() == [2, 64, 128, 3]
    for name, value in batch.items():
        assert static[name].shape.as_list() == list(value.shape), name
    several = make_dataset([helpers.boxes_image(h, w, [(2, 2, 30, 30)])
                            for h, w in [(64, 128), (128, 64)]])
    open_ = DataSequence(several, config, batch_size=2, seed=0).signature()
    assert open_["input_image"].shape.as_list() == [None, None, None, 3]
    assert open_["input_rpn_match"].shape.as_list() == [None, None, 1]


def parse_ids(batch):
    from mrcnn.core.meta import parse_image_meta
    return [int(i) for i in parse_image_meta(batch["input_image_meta"])["image_id"]]


def test_bucket_ladder():
    from mrcnn.data.grouping import bucket_side
    assert [bucket_side(s) for s in (1, 64, 65, 448, 512, 513, 640, 700, 1024, 1025, 1300,
                                     2048, 2049)] == \
        [64, 64, 128, 448, 512, 640, 640, 768, 1024, 1280, 1536, 2048, 2560]


def test_broken_annotation_names_the_image(config, make_dataset, helpers):
    good = helpers.boxes_image(64, 64, [(0, 0, 4, 4)])
    broken = (good[0], np.ones((60, 64, 1), bool), good[2])
    dataset = make_dataset([good, broken])
    with pytest.raises(ValueError, match=r"image 1 \(toy://1\): mask is 60x64"):
        build_batch(dataset, config, [0, 1])


# ---------------------------------------------------------------- DataSequence
def test_sequence_length_and_full_batches(config, dataset):
    sequence = DataSequence(dataset, config, shuffle=False, seed=0, batch_size=3)
    assert isinstance(sequence, keras.utils.PyDataset)
    assert len(sequence) == 2                      # ceil(4 / 3)
    last = sequence[1]
    assert isinstance(last, dict)
    assert last["input_image"].shape[0] == 3       # ids 3, 0, 1: wraps around
    first = sequence[0]
    np.testing.assert_array_equal(last["input_image_meta"][1:, 0], [0, 1])
    np.testing.assert_array_equal(first["input_image_meta"][:, 0], [0, 1, 2])
    assert len(DataSequence(dataset, config, seed=0, steps=7)) == 7
    assert len(DataSequence(dataset, config, seed=0)) == 2       # BATCH_SIZE 2


def test_sequence_items_do_not_depend_on_order_or_instance(config, dataset):
    flip = A.Compose([A.HorizontalFlip(p=0.5)])
    one = DataSequence(dataset, config, augmentation=flip, seed=11)
    two = DataSequence(dataset, config, augmentation=flip, seed=11)
    later_first = two[1]
    assert_batches_equal(one[0], two[0])
    assert_batches_equal(one[1], later_first)
    assert_batches_equal(one[1], one[1])


def test_sequence_reshuffles_each_epoch(config, dataset):
    sequence = DataSequence(dataset, config, seed=4, batch_size=4)
    orders = []
    for _ in range(5):
        orders.append(tuple(sequence[0]["input_image_meta"][:, 0].astype(int)))
        sequence.on_epoch_end()
    assert all(sorted(order) == [0, 1, 2, 3] for order in orders)
    assert len(set(orders)) > 1
    # The order of an epoch depends on the seed and the epoch only.
    again = DataSequence(dataset, config, seed=4, batch_size=4)
    again.on_epoch_end()
    assert tuple(again[0]["input_image_meta"][:, 0].astype(int)) == orders[1]


def test_sequence_no_augmentation_sources(config, make_dataset, helpers):
    dataset = make_dataset([helpers.boxes_image(64, 64, [(0, 0, 10, 10)])] * 2)

    def move(im, m):
        return np.roll(im, 5, axis=1), np.roll(m, 5, axis=1)

    moved = DataSequence(dataset, config, augmentation=move, seed=0)[0]
    kept = DataSequence(dataset, config, augmentation=move, seed=0,
                        no_augmentation_sources=["toy"])[0]
    np.testing.assert_array_equal(moved["input_gt_boxes"][:, 0], [(0, 5, 10, 15)] * 2)
    np.testing.assert_array_equal(kept["input_gt_boxes"][:, 0], [(0, 0, 10, 10)] * 2)


def test_sequence_bad_arguments(config, dataset, helpers):
    with pytest.raises(ValueError, match="batch_size"):
        DataSequence(dataset, config, batch_size=0)
    with pytest.raises(ValueError, match="steps"):
        DataSequence(dataset, config, steps=0)
    empty = helpers.ArrayDataset()
    empty.prepare()
    with pytest.raises(ValueError, match="no images"):
        DataSequence(empty, config)
    with pytest.raises(IndexError):
        DataSequence(dataset, config, seed=0)[2]


# ---------------------------------------------------------------- data_generator
def test_generator_matches_build_batch(config, dataset):
    flip = A.Compose([A.HorizontalFlip(p=0.5)])
    generator = data_generator(dataset, config, shuffle=False, augmentation=flip,
                               batch_size=2, seed=5)
    for epoch, index, ids in [(0, 0, [0, 1]), (0, 1, [2, 3]), (1, 0, [0, 1])]:
        inputs, outputs = next(generator)
        expected = build_batch(dataset, config, ids, augmentation=flip,
                               rng=batch_rng(5, epoch, index))
        assert outputs == []
        assert len(inputs) == len(INPUT_NAMES)
        for name, array in zip(INPUT_NAMES, inputs):
            np.testing.assert_array_equal(array, expected[name], err_msg=name)


def test_generator_matches_sequence(config, dataset):
    sequence = DataSequence(dataset, config, seed=9)
    generator = data_generator(dataset, config, batch_size=2, seed=9)
    for index in range(2):
        inputs, _ = next(generator)
        batch = sequence[index]
        for name, array in zip(INPUT_NAMES, inputs):
            np.testing.assert_array_equal(array, batch[name], err_msg=name)


def test_generator_detection_targets_layout(config, dataset):
    inputs, outputs = next(data_generator(dataset, config, random_rois=10, batch_size=2,
                                          detection_targets=True, seed=0))
    # Matterport's layout: 7 inputs + rpn_rois + rois; outputs class ids [B, rois, 1], bbox,
    # mask.
    assert [a.shape for a in inputs[7:]] == [(2, 10, 4), (2, 8, 4)]
    assert [a.shape for a in outputs] == [(2, 8, 1), (2, 8, 3, 4), (2, 8, 28, 28, 3)]


def test_crop_without_instances_trains_as_background(config, make_dataset, helpers):
    # Matterport's nucleus recipe: random IMAGE_MIN_DIM crops. An object at the far right of a
    # wide image is outside most 64 x 64 crops; such a batch has no instance and no positive
    # anchor, and trains as background (as an image without annotations does).
    config.IMAGE_RESIZE_MODE = "crop"
    dataset = make_dataset([helpers.boxes_image(64, 512, [(10, 480, 50, 510)])])
    crops = {True: 0, False: 0}
    for seed in range(8):
        batch = build_batch(dataset, config, [0, 0], rng=np.random.default_rng(seed))
        assert batch["input_image"].shape == (2, 64, 64, 3)
        for b in range(2):
            empty = not batch["input_gt_class_ids"][b].any()
            crops[empty] += 1
            if empty:
                assert not batch["input_gt_boxes"][b].any()
                assert not (batch["input_rpn_match"][b] == 1).any()
                assert (batch["input_rpn_match"][b] == -1).sum() > 0
    assert crops[True] > 0 and crops[False] > 0, crops


@pytest.mark.parametrize("workers, processes", [(2, False), (2, True), (1, True)])
def test_the_feed_gives_the_batches_in_order_with_threads_and_processes(config, dataset,
                                                                         workers, processes):
    """fit()'s feed (as_tf_dataset's generator) with loading threads or forked processes gives
    batch(epoch, index), in order, across the epoch boundary and into later epochs (shuffled
    anew). The augmentation is a lambda, which does not pickle: the processes must inherit the
    sequence. Images are molded after the transfer."""
    from mrcnn.data.pipeline import FORK_CONTEXT
    if processes and FORK_CONTEXT is None:
        pytest.skip("no fork start method on this platform: processes fall back to threads")
    sequence = DataSequence(dataset, config, seed=7, workers=workers, batch_size=2,
                            use_multiprocessing=processes,
                            augmentation=lambda image, masks: (255 - image, masks))
    reference = DataSequence(dataset, config, seed=7, workers=1, batch_size=2,
                             augmentation=sequence.augmentation)
    keys = [(epoch, index) for epoch in range(4) for index in range(len(reference))]
    feed = sequence._endless()
    try:
        for epoch, index in keys:
            got = next(feed)
            expected = reference.batch(epoch, index)
            assert got.keys() == expected.keys()
            for key in got:
                value = expected[key]
                value = value.view(np.uint8) if value.dtype == bool else value
                np.testing.assert_array_equal(got[key], value, err_msg=f"{key} {epoch} {index}")
                assert got[key].dtype == value.dtype, key
    finally:
        feed.close()


def test_an_error_in_a_loading_process_names_the_image(config, make_dataset, helpers):
    from mrcnn.data.pipeline import FORK_CONTEXT
    if FORK_CONTEXT is None:
        pytest.skip("no fork start method on this platform")
    image, mask, class_ids = helpers.boxes_image(64, 64, [(4, 4, 20, 20)])
    dataset = make_dataset([(image, mask, class_ids)] * 2)

    def broken(image, masks):
        raise RuntimeError("augmenter broke")
    sequence = DataSequence(dataset, config, seed=0, workers=2, batch_size=1,
                            use_multiprocessing=True, augmentation=broken)
    feed = sequence._endless()
    try:
        with pytest.raises(RuntimeError, match="augmenter broke") as info:
            next(feed)
        assert any("toy://" in note for note in getattr(info.value, "__notes__", []))
    finally:
        feed.close()


def test_data_loader_defaults(monkeypatch):
    import tensorflow as tf

    from mrcnn.training import train as train_module
    monkeypatch.setattr(train_module.os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [])
    assert train_module.data_loader() == {"workers": 4, "use_multiprocessing": False}
    assert train_module.data_loader(workers=2) == {"workers": 2, "use_multiprocessing": False}
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: ["GPU:0"])
    # A GPU host: one process per core but the training loop's.
    assert train_module.data_loader() == {"workers": 7, "use_multiprocessing": True}
    assert train_module.data_loader(use_multiprocessing=False) == {
        "workers": 4, "use_multiprocessing": False}
    monkeypatch.setattr(train_module.os, "sched_getaffinity", lambda pid: {0})
    assert train_module.data_loader(use_multiprocessing=True)["workers"] == 1
