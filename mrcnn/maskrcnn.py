"""The ``MaskRCNN`` class: Matterport's facade over the graph, weights, inputs and outputs.

Glossary: ``rois`` returned by :meth:`MaskRCNN.detect` are int32 pixel boxes (y1, x1, y2, x2) of the
original image, y2/x2 exclusive; ``masks`` are full-size bool [H, W, N]; everything inside the
graph is normalized and zero-padded (see :mod:`mrcnn.graph.build`).
"""
import datetime
import errno
import functools
import logging
import os
import re
import warnings
from collections import OrderedDict

import numpy as np

from mrcnn.core.anchors import get_anchors
from mrcnn.core.boxes import denorm_boxes
from mrcnn.core.detections import unmold_detections
from mrcnn.core.images import mold_for_inference
from mrcnn.core.meta import parse_image_meta

logger = logging.getLogger("mrcnn")

CHECKPOINT_PATTERN = re.compile(
    r".*[/\\][\w-]+(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})[/\\]mask\_rcnn\_[\w-]+(\d{4})\.h5$")
"""A checkpoint path ``.../<name>YYYYmmddTHHMM/mask_rcnn_<name>_<epoch>.h5`` (Matterport's)."""


class MaskRCNN:
    """Mask R-CNN for training or inference, with Matterport's interface.

    mode: "training" or "inference"; config: a :class:`mrcnn.config.Config`; model_dir: where
    training writes ``<name><YYYYmmddTHHMM>/`` log folders with checkpoints.
    strategy: a ``tf.distribute`` strategy to train under. By default, in training mode,
    ``GPU_COUNT > 1`` trains on that many GPUs with ``MirroredStrategy`` (see
    :mod:`mrcnn.training.distribute`); inference runs on the default device.
    """

    def __init__(self, mode, config, model_dir, strategy=None):
        if mode not in ("training", "inference"):
            raise ValueError(f"mode must be 'training' or 'inference', not {mode!r}")
        self.mode = mode
        self.config = config
        self.model_dir = os.fspath(model_dir)
        self.set_log_dir()
        self.strategy = None
        self._cpu_hint_shown = False       # train() forecasts CPU time once per model
        if mode == "training":
            from mrcnn.training.distribute import resolve_strategy
            self.strategy = resolve_strategy(config, strategy)
            with self.strategy.scope():
                self.keras_model = self.build(mode=mode, config=config)
        else:
            self.keras_model = self.build(mode=mode, config=config)

    def build(self, mode, config):
        """Build the Keras model of ``mode`` (see :func:`mrcnn.graph.build.build_graph`).

        The training graph is a :class:`~mrcnn.training.train_model.MaskRCNNTrainModel`, whose
        ``train_step`` adds the five losses and the weight decay.
        """
        from mrcnn.graph.build import build_graph
        if mode == "training":
            from mrcnn.training.train_model import MaskRCNNTrainModel
            model_class = functools.partial(MaskRCNNTrainModel, loss_weights=config.LOSS_WEIGHTS,
                                            weight_decay=config.WEIGHT_DECAY,
                                            gradient_clip_norm=config.GRADIENT_CLIP_NORM)
            return build_graph(mode, config, model_class=model_class)
        return build_graph(mode, config)

    # ----------------------------------------------------------------- logs and checkpoints
    def set_log_dir(self, model_path=None):
        """Set ``log_dir``, ``checkpoint_path`` and ``epoch``.

        With ``model_path`` a checkpoint in Matterport's layout
        (``.../<name>YYYYmmddTHHMM/mask_rcnn_<name>_<epoch>.h5``), training continues in that
        folder from the epoch after the checkpoint's; otherwise a new folder stamped now.
        """
        self.epoch = 0
        now = datetime.datetime.now()
        if model_path:
            m = CHECKPOINT_PATTERN.match(os.fspath(model_path).replace("\\", "/"))
            if m:
                now = datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)),
                                        int(m.group(4)), int(m.group(5)))
                # The file's number is the epoch it finished (1-based), so the next one to run
                # is that number (0-based).
                self.epoch = int(m.group(6))
                logger.info("Re-starting from epoch %d", self.epoch)
        self.log_dir = os.path.join(
            self.model_dir, "{}{:%Y%m%dT%H%M}".format(self.config.NAME.lower(), now))
        self.checkpoint_path = os.path.join(
            self.log_dir, "mask_rcnn_{}_*epoch*.h5".format(self.config.NAME.lower()))
        self.checkpoint_path = self.checkpoint_path.replace("*epoch*", "{epoch:04d}")

    def find_last(self):
        """Path of the last checkpoint of the last log folder of this config's NAME.

        A checkpoint that cannot be read (truncated or spoiled by a crash, see
        :func:`mrcnn.training.callbacks.checkpoint_problem`) is skipped with a warning naming
        it, for the one before (in an older folder if need be); ``train(resume=True)`` resumes
        from that. Raises FileNotFoundError (with errno ENOENT, as Matterport) when there is none.
        """
        return find_last(self.model_dir, self.config.NAME)

    # -------------------------------------------------------------------------- weights
    def load_weights(self, filepath, by_name=False, exclude=None):
        """Load a Keras-2 layout ``.h5`` (Matterport's, a TF2 port's, or ours).

        ``by_name=True`` matches layers by name (the usual way); ``exclude`` lists layers to skip,
        e.g. ``["mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_bbox", "mrcnn_mask"]`` to fine-tune
        COCO weights on another number of classes. A shape mismatch raises
        :class:`mrcnn.weights.WeightsFileError` naming the layers and the likely cause: a
        BACKBONE, NUM_CLASSES ... of this model's config other than the file's (the config the
        file stores, or its layer shapes), with the fix. (``Config.from_weights(path)`` gives the
        config a checkpoint of this package was trained with.)
        Afterwards ``log_dir`` and ``epoch`` follow the file, so training resumes where it stopped.
        Returns None, as Matterport (:func:`mrcnn.weights.load_weights` returns the layer names).
        """
        from mrcnn.weights import load_weights
        loaded = load_weights(self.keras_model, filepath, by_name=by_name, exclude=exclude,
                              config=self.config)
        logger.info("Loaded %d layers from %s", len(loaded), filepath)
        self.set_log_dir(filepath)

    def save_weights(self, filepath, class_names=None):
        """Write the weights in the by-name layout (loads into either mode and into Matterport),
        storing the config and ``class_names`` (a dataset's, "BG" first) beside them
        (``Config.from_weights`` reads the config back)."""
        from mrcnn.weights import save_weights, weights_metadata
        save_weights(self.keras_model, filepath,
                     metadata=weights_metadata(self.config, class_names))

    def get_imagenet_weights(self):
        """Path of the ImageNet ResNet50 weights, downloaded once to ~/.keras/models.

        Raises ConfigError, before any download, for a BACKBONE they do not fit (resnet18,
        resnet34, a callable), and :class:`mrcnn.download.DownloadError` with what to do by hand
        when offline.
        """
        from mrcnn.config import ConfigError
        from mrcnn.download import IMAGENET_BACKBONES, imagenet_weights_path
        backbone = self.config.BACKBONE
        if not isinstance(backbone, str) or backbone not in IMAGENET_BACKBONES:
            name = backbone if isinstance(backbone, str) else "a callable"
            raise ConfigError(
                f"there are no ImageNet weights for BACKBONE {name} (only for "
                f"{' and '.join(IMAGENET_BACKBONES)}); train it from random weights "
                f"(--weights none), or set BACKBONE=resnet50 or resnet101 to start from "
                f"ImageNet (or from coco, a resnet101)")
        return imagenet_weights_path()

    # ------------------------------------------------------------------------ trainable
    def set_trainable(self, layer_regex, keras_model=None, indent=0, verbose=1):
        """Make layers whose names fully match ``layer_regex`` trainable, and the others not.

        Reaches into nested models (``rpn_model``) and TimeDistributed wrappers. BatchNorm layers
        stay frozen when the config's TRAIN_BN is False. (``layer_regex`` may also be a preset:
        "heads", "3+", "4+", "5+", "all".)
        """
        from mrcnn.training.presets import layer_regex as regex_of, set_trainable
        if verbose > 0:
            log("Selecting layers to train")
        return set_trainable(keras_model or self.keras_model, regex_of(layer_regex),
                             train_bn=self.config.TRAIN_BN, verbose=verbose, indent=indent)

    def train(self, train_dataset, val_dataset, learning_rate, epochs, layers,
              augmentation=None, custom_callbacks=None, no_augmentation_sources=None, **kwargs):
        """Train up to epoch ``epochs`` (cumulative), the ``layers`` preset or regex only.

        Matterport's signature; see :func:`mrcnn.training.train.train` for the details and the
        extra keywords (``workers``, ``use_multiprocessing``, ``seed``, ``verbose``). Returns the
        Keras History.
        """
        from mrcnn.training.speed import cpu_training_hint
        from mrcnn.training.train import train
        hint = None if self._cpu_hint_shown else cpu_training_hint(self.config)
        if hint:
            print(hint)
            self._cpu_hint_shown = True
        return train(self, train_dataset, val_dataset, learning_rate, epochs, layers,
                     augmentation=augmentation, custom_callbacks=custom_callbacks,
                     no_augmentation_sources=no_augmentation_sources, **kwargs)

    # --------------------------------------------------------------- inputs and outputs
    def mold_inputs(self, images):
        """Resize and normalize images for the network.

        images: list of [H, W, C] arrays. Their molded shapes must agree (always so in mode
        "square"; detect() itself takes images of any sizes in every mode).
        Returns molded_images [N, h, w, C] float32, image_metas [N, 12 + NUM_CLASSES],
        windows [N, 4] (pixel window of the image inside the molded one).
        """
        molded = [mold_for_inference(image, self.config) for image in images]
        if not molded:
            shape = tuple(self.config.IMAGE_SHAPE)
            return (np.zeros((0,) + shape, np.float32),
                    np.zeros((0, self.config.IMAGE_META_SIZE), np.float32),
                    np.zeros((0, 4), np.int32))
        shapes = sorted({m[0].shape for m in molded})
        if len(shapes) > 1:
            raise ValueError(
                f"mold_inputs: the images mold to {len(shapes)} different shapes {shapes} in "
                f"IMAGE_RESIZE_MODE {self.config.IMAGE_RESIZE_MODE!r}; mold them in groups of "
                f"one shape, or call detect(), which takes images of any sizes")
        molded_images, image_metas, windows = zip(*molded)
        return np.stack(molded_images), np.stack(image_metas), np.stack(windows)

    def unmold_detections(self, detections, mrcnn_mask, original_image_shape, image_shape,
                          window):
        """Turn one image's padded network outputs into ``detect()`` results
        (:func:`mrcnn.core.detections.unmold_detections`).

        detections: [max_instances, 6] (y1, x1, y2, x2, class_id, score) normalized;
        mrcnn_mask: [max_instances, h, w, num_classes]; original_image_shape: [H, W, C];
        image_shape: [h, w, C] of the molded image; window: pixel window inside it.
        Returns boxes int32 [N, 4] in original pixels, class_ids int32 [N], scores float32 [N],
        masks bool [H, W, N].
        """
        return unmold_detections(detections, mrcnn_mask, original_image_shape, image_shape,
                                 window)

    def get_anchors(self, image_shape):
        """Normalized anchors [N, 4] for a molded image of ``image_shape`` (cached).

        As Matterport, the pixel anchors of the last call stay in ``self.anchors`` for notebooks.
        """
        anchors = get_anchors(self.config, image_shape)
        self.anchors = denorm_boxes(anchors, image_shape[:2])
        return anchors

    # ------------------------------------------------------------------------ detection
    def detect(self, images, verbose=0):
        """Detect instances in any number of images (run in batches of BATCH_SIZE).

        images: list of [H, W, C] uint8 arrays (sizes may differ).
        Returns one dict per image: ``rois`` int32 [N, 4] (y1, x1, y2, x2) in original pixels,
        ``class_ids`` int32 [N], ``scores`` float32 [N], ``masks`` bool [H, W, N].
        """
        self._require_inference("detect")
        images = list(images)
        if verbose:
            log(f"Processing {len(images)} images")
        results = [None] * len(images)
        # Images that mold to one shape (all of them in mode "square") run together.
        molded = [mold_for_inference(image, self.config) for image in images]
        groups = OrderedDict()
        for i, (molded_image, _, _) in enumerate(molded):
            groups.setdefault(molded_image.shape, []).append(i)
        for indices in groups.values():
            detections, mrcnn_mask = self._run_detection(
                np.stack([molded[i][0] for i in indices]),
                np.stack([molded[i][1] for i in indices]))
            for j, i in enumerate(indices):
                rois, class_ids, scores, masks = self.unmold_detections(
                    detections[j], mrcnn_mask[j], np.asarray(images[i]).shape,
                    molded[i][0].shape, molded[i][2])
                results[i] = {"rois": rois, "class_ids": class_ids, "scores": scores,
                              "masks": masks}
        return results

    def detect_molded(self, molded_images, image_metas, verbose=0):
        """Detect on images already molded (as :func:`mrcnn.model.load_image_gt` + mold_image).

        Returns the same dicts as :meth:`detect`, in the coordinates of the images before molding
        as recorded in ``image_metas``.
        """
        self._require_inference("detect_molded")
        molded_images = np.asarray(molded_images, dtype=np.float32)
        image_metas = np.asarray(image_metas)
        detections, mrcnn_mask = self._run_detection(molded_images, image_metas)
        results = []
        for i in range(molded_images.shape[0]):
            meta = parse_image_meta(image_metas[i:i + 1])
            window = meta["window"][0]
            original_shape = tuple(int(v) for v in meta["original_image_shape"][0])
            rois, class_ids, scores, masks = self.unmold_detections(
                detections[i], mrcnn_mask[i], original_shape, molded_images[i].shape, window)
            results.append({"rois": rois, "class_ids": class_ids, "scores": scores,
                            "masks": masks})
        return results

    def _run_detection(self, molded_images, image_metas):
        """Run the inference graph in batches on images of one molded shape [N, h, w, C];
        returns detections and masks as NumPy arrays."""
        n = molded_images.shape[0]
        max_instances = self.config.DETECTION_MAX_INSTANCES
        mask_hw = tuple(self.config.MASK_SHAPE)
        if n == 0:
            return (np.zeros((0, max_instances, 6), np.float32),
                    np.zeros((0, max_instances) + mask_hw + (self.config.NUM_CLASSES,),
                             np.float32))
        # One molded shape: the images share their anchors.
        anchors = self.get_anchors(molded_images.shape[1:])
        detections, masks = [], []
        batch_size = max(1, self.config.BATCH_SIZE)
        for start in range(0, n, batch_size):
            ids = slice(start, start + batch_size)
            count = molded_images[ids].shape[0]
            outputs = self.keras_model.predict_on_batch(
                [molded_images[ids], image_metas[ids].astype(np.float32),
                 np.ascontiguousarray(np.broadcast_to(anchors, (count,) + anchors.shape))])
            detections.append(np.asarray(outputs[0]))
            masks.append(np.asarray(outputs[3]))
        return np.concatenate(detections), np.concatenate(masks)

    def export(self, path, class_names=None):
        """Write a TensorFlow SavedModel to the folder ``path`` that detects like :meth:`detect`.

        Its ``serve`` function (``serving_default`` signature) takes uint8 images [batch, H, W, C]
        of any size and returns pixel ``rois``, ``class_ids``, ``scores``, full-size ``masks`` and
        ``num_detections`` (see :mod:`mrcnn.export`); molding and unmolding run in the graph, so
        ``tf.saved_model.load`` or TF Serving need nothing from this package. class_names: the
        NUM_CLASSES names, to add a ``class_names`` output. IMAGE_RESIZE_MODE "square",
        "scale_pad64", "pad64" or "none" (not "crop", a training mode).
        Returns ``path``.
        """
        from mrcnn.export import export_saved_model
        self._require_inference("export")
        return export_saved_model(self.keras_model, self.config, path, class_names=class_names)

    def _require_inference(self, what):
        if self.mode != "inference":
            raise RuntimeError(f"{what}() needs a model built with mode='inference', "
                               f"this one is {self.mode!r}")

    # ------------------------------------------------------------------------ inspection
    def run_graph(self, images, outputs, image_metas=None):
        """Run the inference graph on ``images`` and return the named intermediate tensors.

        outputs: list of (name, tensor) with tensors of this model, e.g.
        ``[("proposals", model.keras_model.get_layer("ROI").output)]``.
        Returns an OrderedDict name -> NumPy array (batch first).
        """
        import keras
        self._require_inference("run_graph")
        names = [name for name, _ in outputs]
        tensors = [tensor for _, tensor in outputs]
        probe = keras.Model(inputs=self.keras_model.inputs, outputs=tensors)
        molded_images, metas, _ = self.mold_inputs(images)
        if image_metas is not None:
            metas = np.asarray(image_metas)
        anchors = self.get_anchors(molded_images[0].shape)
        anchors = np.broadcast_to(anchors, (molded_images.shape[0],) + anchors.shape)
        values = probe.predict_on_batch([molded_images, metas.astype(np.float32),
                                         np.ascontiguousarray(anchors)])
        if len(tensors) == 1:
            values = [values]
        result = OrderedDict()
        for name, value in zip(names, values):
            result[name] = np.asarray(value)
        for name, value in result.items():
            log(name, value)
        return result

    def ancestor(self, tensor, name, checked=None):
        """Matterport's helper kept for old notebooks: the layer named ``name`` if it produced
        ``tensor`` (Keras 3 tensors keep their history in ``_keras_history``)."""
        layer = tensor._keras_history[0]
        return layer if layer.name == name else None

    def get_trainable_layers(self):
        """Layers with weights, TimeDistributed wrappers resolved to their inner layer."""
        layers = []
        for layer in self.keras_model.layers:
            inner = getattr(layer, "layer", layer)
            if layer.weights:
                layers.append(inner)
        return layers


def find_last(model_dir, name):
    """Path of the last readable checkpoint of the last log folder of config NAME ``name`` under
    ``model_dir``: what :meth:`MaskRCNN.find_last` returns, without a model."""
    from mrcnn.training.callbacks import checkpoint_problem
    key = name.lower()
    dir_names = sorted(d for d in _listdir(model_dir)
                       if d.startswith(key) and os.path.isdir(os.path.join(model_dir, d)))
    if not dir_names:
        raise FileNotFoundError(
            errno.ENOENT, f"Could not find a model directory starting with {key!r} under",
            model_dir)
    unreadable = []
    for dir_name in reversed(dir_names):
        folder = os.path.join(model_dir, dir_name)
        checkpoints = sorted(f for f in os.listdir(folder)
                             if f.startswith("mask_rcnn") and f.endswith(".h5"))
        for checkpoint in reversed(checkpoints):
            path = os.path.join(folder, checkpoint)
            problem = checkpoint_problem(path)
            if problem is None:
                return path
            unreadable.append(path)
            warnings.warn(f"Checkpoint {path} cannot be read ({problem}); using the one "
                          f"before it.", stacklevel=3)
    raise FileNotFoundError(
        errno.ENOENT, f"Could not find readable weight files (mask_rcnn*.h5) in the {key!r} "
        f"folders{' (unreadable: ' + ', '.join(unreadable) + ')' if unreadable else ''} of",
        model_dir)


def _listdir(path):
    return os.listdir(path) if os.path.isdir(path) else []


def log(text, array=None):
    """Print a text and, optionally, an array's shape, min, max and dtype (Matterport's ``log``)."""
    if array is not None:
        text = text.ljust(25)
        array = np.asarray(array)
        if array.size:
            text += "shape: {:20}  min: {:10.5f}  max: {:10.5f}  {}".format(
                str(array.shape), float(array.min()), float(array.max()), array.dtype)
        else:
            text += "shape: {:20}  min: {:10}  max: {:10}  {}".format(
                str(array.shape), "", "", array.dtype)
    print(text)
