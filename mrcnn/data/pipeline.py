"""The training batch pipeline: image ids -> the input dict of the training model.

Glossary:
    B           images per batch (config.BATCH_SIZE unless given).
    A           number of anchors of the batch's image shape (all pyramid levels, the order of
                generate_pyramid_anchors); config.IMAGE_SHAPE in modes "square" and "crop",
                which is what Matterport's generator used.
    molded      float32 image minus config.MEAN_PIXEL (mold_image).
    gt rows     MAX_GT_INSTANCES rows per image; rows past the image's instances are zero
                (class 0, box 0, empty mask) = padding. Boxes are pixels (y1, x1, y2, x2),
                y2/x2 exclusive; the graph normalizes them. Negative class ids mark crowds.

The batch (build_batch) is a dict keyed by the training model's input names:
    input_image         float32 [B, H, W, C]
    input_image_meta    float32 [B, IMAGE_META_SIZE]
    input_rpn_match     int32   [B, A, 1]      1 positive, -1 negative, 0 neutral anchor
    input_rpn_bbox      float32 [B, RPN_TRAIN_ANCHORS_PER_IMAGE, 4]
    input_gt_class_ids  int32   [B, MAX_GT_INSTANCES]
    input_gt_boxes      float32 [B, MAX_GT_INSTANCES, 4]
    input_gt_masks      bool    [B, MINI_MASK_SHAPE[0], MINI_MASK_SHAPE[1], MAX_GT_INSTANCES]
                                ([B, H, W, MAX_GT_INSTANCES] when USE_MINI_MASK is False)
  with random_rois > 0 (training the heads without the RPN, USE_RPN_ROIS = False):
    input_roi          int32   [B, random_rois, 4] pixel boxes (Matterport's input_roi dtype)
  with random_rois > 0 and detection_targets (debugging, as Matterport's generator):
    target_rois         [B, TRAIN_ROIS_PER_IMAGE, 4]
    target_class_ids    int32   [B, TRAIN_ROIS_PER_IMAGE]
    target_bbox         float32 [B, TRAIN_ROIS_PER_IMAGE, NUM_CLASSES, 4]
    target_mask         float32 [B, TRAIN_ROIS_PER_IMAGE, MASK_SHAPE[0], MASK_SHAPE[1],
                                 NUM_CLASSES]

Randomness (crop, flips, augmentation, anchor and ROI sampling, the MAX_GT_INSTANCES subset)
comes from batch_rng(seed, epoch, index), so a batch does not depend on which worker built it
or in which order. Unlike Matterport's generator, images without instances are kept (all GT
rows zero, all anchors negative candidates), and a broken image raises an error naming it
instead of being skipped.
"""
import collections
import concurrent.futures
import math
import multiprocessing
import sys

import keras
import numpy as np

from mrcnn.core.anchors import get_pixel_anchors
from mrcnn.core.contracts import INPUT_NAMES, INPUT_ROI, TARGET_NAMES  # noqa: F401 (public)
from mrcnn.core.images import mold_image_float32
from mrcnn.core.meta import with_image_shape
from mrcnn.data.grouping import grouped_batches, image_batch_shapes
from mrcnn.data.image_gt import errors_naming_image, load_image_gt
from mrcnn.data.roi_targets import build_detection_targets, generate_random_rois
from mrcnn.data.rpn_targets import build_rpn_targets

__all__ = ["INPUT_NAMES", "TARGET_NAMES", "batch_rng", "build_batch",
           "DataSequence", "data_generator"]



def batch_rng(seed, epoch, index):
    """The numpy Generator of batch `index` in epoch `epoch`: the same (seed, epoch, index)
    always gives the same random stream, whichever worker builds the batch."""
    return np.random.default_rng([int(seed), int(epoch), 1, int(index)])


def _epoch_order(image_ids, seed, epoch, shuffle):
    """The image ids in the order of epoch `epoch` (a seeded permutation if shuffle)."""
    if not shuffle:
        return np.asarray(image_ids)
    return np.random.default_rng([int(seed), int(epoch), 0]).permutation(image_ids)


def _batch_ids(order, index, batch_size):
    """Image ids of batch `index`: the next batch_size ids of `order`, wrapping around to its
    start, so every batch is full (the graph has a fixed batch size)."""
    return order[(index * batch_size + np.arange(batch_size)) % len(order)]


def _resolve_seed(seed):
    """`seed`, or one drawn from np.random's global state (so np.random.seed() makes runs
    without an explicit seed reproducible, as with Matterport's generator)."""
    return int(np.random.randint(0, 2 ** 31 - 1)) if seed is None else int(seed)


def _load_gt(dataset, config, image_id, augment, augmentation, no_augmentation_sources, rng):
    """Ground truth of one image (load_image_gt with mini-masks as configured), as a dict."""
    if dataset.image_info[image_id]["source"] in no_augmentation_sources:
        augmentation = None
    image, image_meta, gt_class_ids, gt_boxes, gt_masks = load_image_gt(
        dataset, config, image_id, augment=augment, augmentation=augmentation,
        use_mini_mask=config.USE_MINI_MASK, rng=rng)
    return {"image_id": image_id, "image": image, "image_meta": image_meta,
            "gt_class_ids": gt_class_ids, "gt_boxes": gt_boxes, "gt_masks": gt_masks}


def _pad_item(item, shape, config):
    """Pad the item's image (and full-size masks) with zeros at the bottom and right to
    `shape` (height, width); the window and boxes stay, image_meta's image_shape follows."""
    h, w = item["image"].shape[:2]
    if (h, w) == tuple(shape):
        return item
    pad = [(0, int(shape[0]) - h), (0, int(shape[1]) - w)]
    item["image"] = np.pad(item["image"], pad + [(0, 0)])
    item["image_meta"] = with_image_shape(item["image_meta"], item["image"].shape)
    if not config.USE_MINI_MASK:
        item["gt_masks"] = np.pad(item["gt_masks"], pad + [(0, 0)])
    return item


def _add_targets(dataset, config, item, random_rois, detection_targets, rng):
    """RPN targets (and random ROIs / head targets) of one loaded item, for the anchors of its
    image's shape; then the MAX_GT_INSTANCES subset (Matterport's generator body)."""
    image_id, image = item["image_id"], item["image"]
    gt_class_ids, gt_boxes, gt_masks = item["gt_class_ids"], item["gt_boxes"], item["gt_masks"]
    with errors_naming_image(dataset, image_id, doing="building the targets of"):
        anchors = get_pixel_anchors(config, image.shape)
        item["rpn_match"], item["rpn_bbox"] = build_rpn_targets(
            image.shape, anchors, gt_class_ids, gt_boxes, config, rng=rng)
        if random_rois:
            rpn_rois = generate_random_rois(image.shape, random_rois, gt_class_ids, gt_boxes,
                                            rng=rng)
            item["rpn_rois"] = rpn_rois
            if detection_targets:
                item["detection_targets"] = build_detection_targets(
                    rpn_rois, gt_class_ids, gt_boxes, gt_masks, config, rng=rng)

    # If more instances than fit in the arrays, sub-sample from them (after the targets, which
    # use all instances, as Matterport).
    if gt_boxes.shape[0] > config.MAX_GT_INSTANCES:
        generator = np.random if rng is None else rng
        ids = generator.choice(np.arange(gt_boxes.shape[0]), config.MAX_GT_INSTANCES,
                               replace=False)
        gt_class_ids = gt_class_ids[ids]
        gt_boxes = gt_boxes[ids]
        gt_masks = gt_masks[:, :, ids]
    item.update(gt_class_ids=gt_class_ids, gt_boxes=gt_boxes, gt_masks=gt_masks)
    return item


def build_batch(dataset, config, image_ids, augment=False, augmentation=None, random_rois=0,
                detection_targets=False, no_augmentation_sources=None, rng=None, pad_to=None,
                mold=True):
    """Loads images and builds the training inputs of one batch.

    dataset: a prepared Dataset.
    config: the model Config.
    image_ids: sequence of B image ids (B is the batch size).
    augment: deprecated left-right flip half of the time (see load_image_gt).
    augmentation: imgaug / albumentations / callable augmentation (see apply_augmentation).
    random_rois: if > 0, also generate that many random ROIs per image (input_roi).
    detection_targets: with random_rois > 0, also build the head targets (target_*).
    no_augmentation_sources: sources (dataset.image_info[id]["source"]) never augmented.
    rng: optional numpy.random.Generator; each image gets its own child stream (rng.spawn),
        so image k of the batch is the same whatever the other images are. None uses the
        global random state (Matterport's behaviour).
    pad_to: optional (height, width) the batch is padded to (its bucket, see
        mrcnn.data.grouping). Images of a batch that differ in shape (modes "pad64",
        "scale_pad64", "none") are padded with zeros at the bottom and right to the largest
        height and width among them and pad_to, before their RPN targets are built, so the
        targets belong to the shape the network is fed.
    mold: False leaves "input_image" unmolded (the images' dtype, e.g. uint8: a quarter of the
        bytes for a loader process to send back); mold_batch molds it.

    Returns: dict of arrays, see the module docstring. Images without instances are included
    with all-zero GT rows. An error from the dataset or the augmentation names the image.
    """
    image_ids = list(np.asarray(image_ids).reshape(-1))
    if not image_ids:
        raise ValueError("image_ids is empty: a batch needs at least one image")
    no_augmentation_sources = no_augmentation_sources or []
    rngs = [None] * len(image_ids) if rng is None else rng.spawn(len(image_ids))
    items = [_load_gt(dataset, config, image_id, augment, augmentation, no_augmentation_sources,
                      item_rng)
             for image_id, item_rng in zip(image_ids, rngs)]
    shape = np.max([item["image"].shape[:2] for item in items] + [pad_to or (0, 0)], axis=0)
    items = [_add_targets(dataset, config, _pad_item(item, shape, config), random_rois,
                          detection_targets, item_rng)
             for item, item_rng in zip(items, rngs)]

    batch_size = len(items)
    max_gt = int(config.MAX_GT_INSTANCES)
    mask_shape = items[0]["gt_masks"].shape[:2]
    batch = {
        "input_image": np.stack([item["image"] for item in items]),
        "input_image_meta": np.stack([item["image_meta"] for item in items]).astype(np.float32),
        "input_rpn_match": np.stack([item["rpn_match"] for item in items])[:, :, np.newaxis]
                             .astype(np.int32),
        "input_rpn_bbox": np.stack([item["rpn_bbox"] for item in items]).astype(np.float32),
        "input_gt_class_ids": np.zeros((batch_size, max_gt), dtype=np.int32),
        "input_gt_boxes": np.zeros((batch_size, max_gt, 4), dtype=np.float32),
        "input_gt_masks": np.zeros((batch_size,) + mask_shape + (max_gt,), dtype=bool),
    }
    for b, item in enumerate(items):
        count = item["gt_class_ids"].shape[0]
        batch["input_gt_class_ids"][b, :count] = item["gt_class_ids"]
        batch["input_gt_boxes"][b, :count] = item["gt_boxes"]
        batch["input_gt_masks"][b, :, :, :count] = item["gt_masks"]
    if mold:
        mold_batch(batch, config)
    if random_rois:
        batch[INPUT_ROI] = np.stack([item["rpn_rois"] for item in items]).astype(np.int32)
        if detection_targets:
            rois, class_ids, bbox, mask = zip(*(item["detection_targets"] for item in items))
            batch["target_rois"] = np.stack(rois)
            batch["target_class_ids"] = np.stack(class_ids).astype(np.int32)
            batch["target_bbox"] = np.stack(bbox).astype(np.float32)
            batch["target_mask"] = np.stack(mask).astype(np.float32)
    return batch


def mold_batch(batch, config):
    """Mold the batch's "input_image" (built with mold=False) in place: float32, minus
    config.MEAN_PIXEL (mold_image_float32). Returns the batch."""
    images = batch["input_image"]
    molded = np.empty(images.shape, dtype=np.float32)
    for b, image in enumerate(images):
        mold_image_float32(image, config, out=molded[b])
    batch["input_image"] = molded
    return batch


class DataSequence(keras.utils.PyDataset):
    """Training batches for keras.Model.fit: item i is the input dict of batch i (a dict is
    taken as the inputs x with no targets y; the model computes its losses from the inputs).

    dataset: a prepared Dataset. config: the model Config.
    shuffle: shuffle the image order, anew each epoch (on_epoch_end).
    augmentation: imgaug / albumentations / callable (see apply_augmentation).
    random_rois, detection_targets: see build_batch.
    batch_size: images per batch; None means config.BATCH_SIZE.
    no_augmentation_sources: sources never augmented.
    seed: seed of all randomness; batch i of epoch e uses batch_rng(seed, e, i), so results do
        not depend on worker count or order. None draws a seed from np.random.
    workers, use_multiprocessing, max_queue_size: keras.utils.PyDataset's.
    steps: batches per epoch; None means one pass over the images. Batches are always full:
        the ids wrap around to the start of the epoch's order.
    image_ids: the images to draw from (default: all of dataset.image_ids), e.g. one worker's
        shard in multi-worker training.

    Images of one batch share a shape. In modes "square" and "crop" all do; in "pad64",
    "scale_pad64" and "none" the images are grouped by their bucket shape
    (mrcnn.data.grouping): each batch holds images of one bucket, padded to it, and the batches
    of all buckets are shuffled together. ``batch_shapes`` lists the distinct shapes.
    """

    def __init__(self, dataset, config, shuffle=True, augmentation=None, random_rois=0,
                 batch_size=None, no_augmentation_sources=None, detection_targets=False,
                 seed=None, workers=1, use_multiprocessing=False, max_queue_size=10,
                 steps=None, image_ids=None):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing,
                         max_queue_size=max_queue_size)
        self.dataset = dataset
        self.config = config
        self.image_ids = np.array(dataset.image_ids if image_ids is None else image_ids)
        if self.image_ids.shape[0] == 0:
            raise ValueError("dataset has no images (did you call dataset.prepare()?)")
        self.shuffle = shuffle
        self.augmentation = augmentation
        self.random_rois = random_rois
        self.batch_size = int(config.BATCH_SIZE if batch_size is None else batch_size)
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1, got {}".format(self.batch_size))
        self.no_augmentation_sources = list(no_augmentation_sources or [])
        self.detection_targets = detection_targets
        self.seed = _resolve_seed(seed)
        if steps is not None and int(steps) < 1:
            raise ValueError("steps must be >= 1 or None, got {}".format(steps))
        self.steps = None if steps is None else int(steps)
        self.epoch = 0
        self._shapes = image_batch_shapes(dataset, config, self.image_ids)
        self.batch_shapes = sorted(set(self._shapes))
        self._plans = {}

    def __len__(self):
        if self.steps is not None:
            return self.steps
        if len(self.batch_shapes) > 1:
            return len(self._plan(self.epoch))
        return math.ceil(self.image_ids.shape[0] / self.batch_size)

    def _plan(self, epoch):
        """The epoch's image order (one shape) or its list of (shape, ids) batches."""
        if epoch not in self._plans:
            if len(self.batch_shapes) > 1:
                rng = (np.random.default_rng([self.seed, int(epoch), 0]) if self.shuffle
                       else None)
                plan = grouped_batches(self.image_ids, self._shapes, self.batch_size, rng)
            else:
                plan = _epoch_order(self.image_ids, self.seed, epoch, self.shuffle)
            self._plans = {e: p for e, p in self._plans.items() if e >= epoch - 1}
            self._plans[epoch] = plan
        return self._plans[epoch]

    def batch(self, epoch, index, mold=True):
        """Batch `index` of epoch `epoch` (what __getitem__ gives in that epoch); mold: see
        build_batch."""
        plan = self._plan(epoch)
        if len(self.batch_shapes) > 1:
            shape, ids = plan[index % len(plan)]
        else:
            shape, ids = self.batch_shapes[0], _batch_ids(plan, index, self.batch_size)
        return build_batch(self.dataset, self.config, ids,
                           augmentation=self.augmentation, random_rois=self.random_rois,
                           detection_targets=self.detection_targets,
                           no_augmentation_sources=self.no_augmentation_sources,
                           rng=batch_rng(self.seed, epoch, index), pad_to=shape, mold=mold)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError("batch index {} out of range [0, {})".format(index, len(self)))
        return self.batch(self.epoch, index)

    def on_epoch_end(self):
        """Moves to the next epoch: a new image order (if shuffle) and new random streams."""
        self.epoch += 1

    def signature(self):
        """tf.TensorSpec per input name. With one batch shape, the batch's own shapes (a step
        traced for them ran up to 15% faster on a 2-core CPU); with several, every axis but the
        last is of unknown size: one spec for batches of every shape."""
        import tensorflow as tf
        example = _feed(self.batch(self.epoch, 0))
        several = len(self.batch_shapes) > 1
        return {name: tf.TensorSpec((None,) * (value.ndim - 1) + value.shape[-1:] if several
                                    else value.shape, tf.as_dtype(value.dtype), name=name)
                for name, value in example.items()}

    def as_tf_dataset(self):
        """An endless tf.data.Dataset of this sequence's batches, epoch after epoch from
        ``epoch``, built by ``workers`` threads in order (as PyDataset's workers), with a
        signature that takes every batch shape (Keras' own adapter fixes the shapes of the
        first two batches, and the images of later batches may differ). Bool arrays (the
        masks) travel as 0/1 uint8, the training graph's input_gt_masks dtype."""
        import tensorflow as tf
        return tf.data.Dataset.from_generator(self._endless,
                                              output_signature=self.signature()).prefetch(1)

    def _endless(self):
        """Batches of epoch self.epoch, self.epoch + 1, ..., forever."""
        def keys():
            epoch = self.epoch
            while True:
                for index in range(len(self)):
                    yield epoch, index
                epoch += 1

        processes = self.use_multiprocessing and FORK_CONTEXT is not None
        if self.workers <= 1 and not processes:
            for epoch, index in keys():
                yield _feed(self.batch(epoch, index))
            return
        if processes:
            # Forked processes inherit this sequence (its dataset need not pickle); the
            # (epoch, index) keys go to them and unmolded batches come back (uint8 images: a
            # quarter of the bytes), molded here.
            pool = concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=FORK_CONTEXT, initializer=_adopt_sequence,
                initargs=(self,))
            build = _build_in_loader
        else:
            pool = concurrent.futures.ThreadPoolExecutor(self.workers)
            build = self.batch
        try:
            pending = collections.deque()
            for key in keys():
                pending.append(pool.submit(build, *key))
                if len(pending) > max(self.workers, self.max_queue_size):
                    batch = pending.popleft().result()
                    yield _feed(mold_batch(batch, self.config) if processes else batch)
        finally:                      # fit() ended: drop the batches built ahead
            pool.shutdown(wait=False, cancel_futures=True)


#: The start method of loader processes: fork (POSIX but macOS, whose system frameworks are not
#: fork-safe), so that a loader inherits the sequence instead of unpickling it (a notebook's
#: Dataset class does not pickle, and spawn would run an unguarded script again). None where
#: there is none: DataSequence then loads with threads.
FORK_CONTEXT = (multiprocessing.get_context("fork")
                if "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
                else None)

#: The DataSequence a loader process builds batches of (set once, when the process starts).
_LOADER_SEQUENCE = None


def _adopt_sequence(sequence):
    global _LOADER_SEQUENCE
    _LOADER_SEQUENCE = sequence


def _build_in_loader(epoch, index):
    return _LOADER_SEQUENCE.batch(epoch, index, mold=False)


def _feed(batch):
    """The batch with its bool arrays viewed as 0/1 uint8 (no copy), as the graph takes them."""
    return {name: value.view(np.uint8) if value.dtype == bool else value
            for name, value in batch.items()}


def data_generator(dataset, config, shuffle=True, augment=False, augmentation=None,
                   random_rois=0, batch_size=1, detection_targets=False,
                   no_augmentation_sources=None, *, seed=None):
    """A generator that returns images and corresponding target class ids,
    bounding box deltas, and masks (Matterport's interface, built on build_batch).

    dataset: The Dataset object to pick data from
    config: The model config object
    shuffle: If True, shuffles the samples before every epoch
    augment: (deprecated. Use augmentation instead). If true, flip half of the images.
    augmentation: Optional. imgaug / albumentations / callable (see apply_augmentation).
    random_rois: If > 0 then generate proposals to be used to train the network classifier
        and mask heads. Useful if training the Mask RCNN part without the RPN.
    batch_size: How many images to return in each call
    detection_targets: If True (and random_rois > 0), generate detection targets (class IDs,
        bbox deltas, and masks). Typically for debugging or visualizations because in
        training detection targets are generated by DetectionTargetLayer.
    no_augmentation_sources: Optional. List of sources to exclude for augmentation.
    seed: keyword only. Batch i of epoch e is build_batch(..., rng=batch_rng(seed, e, i)) of
        the ids DataSequence would give; None draws a seed from np.random.

    Yields forever (inputs, outputs):
    inputs list: the arrays of INPUT_NAMES in that order (images, image_meta, rpn_match,
        rpn_bbox, gt_class_ids, gt_boxes, gt_masks), then rpn_rois if random_rois, then
        rois if also detection_targets.
    outputs list: empty, or with detection_targets the target class_ids [batch, rois, 1],
        bbox deltas and masks.
    Unlike Matterport, images without instances are kept and errors are raised (naming the
    image) rather than logged and skipped.
    """
    image_ids = np.copy(dataset.image_ids)
    if image_ids.shape[0] == 0:
        raise ValueError("dataset has no images (did you call dataset.prepare()?)")
    seed = _resolve_seed(seed)
    batches_per_epoch = math.ceil(image_ids.shape[0] / batch_size)
    epoch = 0
    while True:
        order = _epoch_order(image_ids, seed, epoch, shuffle)
        for index in range(batches_per_epoch):
            batch = build_batch(dataset, config, _batch_ids(order, index, batch_size),
                                augment=augment, augmentation=augmentation,
                                random_rois=random_rois, detection_targets=detection_targets,
                                no_augmentation_sources=no_augmentation_sources,
                                rng=batch_rng(seed, epoch, index))
            inputs = [batch[name] for name in INPUT_NAMES]
            outputs = []
            if random_rois:
                inputs.append(batch[INPUT_ROI])
                if detection_targets:
                    inputs.append(batch["target_rois"])
                    # Keras required outputs and targets of the same rank.
                    outputs = [batch["target_class_ids"][..., np.newaxis],
                               batch["target_bbox"], batch["target_mask"]]
            yield inputs, outputs
        epoch += 1
