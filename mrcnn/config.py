"""Mask R-CNN configuration: the ``Config`` base class (Matterport's, plus loading and checking).

Use it as with Matterport's Mask_RCNN: subclass, override class attributes, instantiate::

    class ShapesConfig(Config):
        NAME = "shapes"
        NUM_CLASSES = 1 + 3          # background + 3 shapes
        IMAGES_PER_GPU = 8

    config = ShapesConfig()          # computes BATCH_SIZE, IMAGE_SHAPE, IMAGE_META_SIZE; validates
    config.display()

On top of Matterport: ``to_dict``/``save`` and ``from_dict``/``from_file`` (JSON or YAML
files), ``from_weights`` (the config a checkpoint stores), ``update(**kw)``/
``apply_overrides(["KEY=VALUE"])`` (values parsed as YAML, for a ``--set KEY=VALUE`` flag), and
``validate()``, which explains bad values naming the attribute.

Glossary:
  settings    upper-case attributes (``NUM_CLASSES``, ``MEAN_PIXEL`` ...); methods are lower-case.
  computed    ``BATCH_SIZE``, ``IMAGE_SHAPE``, ``IMAGE_META_SIZE``: derived from the settings by
              ``__init__`` and by every loader/updater. Setting an attribute by hand on an
              instance (``config.IMAGES_PER_GPU = 4``) does not recompute them (as in
              Matterport); ``config.update(IMAGES_PER_GPU=4)`` does.
  class ids   class 0 is the background, so ``NUM_CLASSES`` = 1 + number of object classes.
  boxes       (y1, x1, y2, x2).

This module never imports TensorFlow.
"""
import contextlib
import copy
import difflib
import importlib
import json
import numbers
import os
import warnings
from collections.abc import Mapping

import numpy as np
import yaml

from mrcnn.core.anchors import RESNET_BACKBONES
from mrcnn.core.boxes import BBOX_STD_DEV as DEFAULT_BBOX_STD_DEV
from mrcnn.core.contracts import LOSS_NAMES  # noqa: F401 (public here: the keys of LOSS_WEIGHTS)
from mrcnn.core.images import RESIZE_MODES
from mrcnn.core.meta import image_meta_size

__all__ = ["Config", "ConfigError", "check_dataset_classes", "BACKBONES",
           "MIXED_PRECISION_POLICIES", "LOSS_NAMES", "COMPUTED_ATTRIBUTES"]

#: Backbone names the model builds; ``BACKBONE`` may also be a callable (see ``Config.BACKBONE``).
BACKBONES = RESNET_BACKBONES
#: Valid ``MIXED_PRECISION`` values (``None`` is plain float32).
MIXED_PRECISION_POLICIES = (None, "mixed_float16", "mixed_bfloat16")
#: Attributes derived from the settings; never set them, set what they are computed from.
COMPUTED_ATTRIBUTES = ("BATCH_SIZE", "IMAGE_SHAPE", "IMAGE_META_SIZE")

# Settings that may hold a callable, written to files as "module:qualname".
_CALLABLE_SETTINGS = ("BACKBONE", "COMPUTE_BACKBONE_SHAPE")


class ConfigError(ValueError):
    """A configuration value, key or file is invalid; the message names the attribute.

    ``ConfigError(message)`` or ``ConfigError([message, ...])``: ``problems`` is the list of
    messages. One problem is the message as it is; several are listed one a line under
    "N problems in the configuration:" (``Config.validate`` reports all it finds at once).
    """

    def __init__(self, problems):
        self.problems = [problems] if isinstance(problems, str) else [str(p) for p in problems]
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = "{} problems in the configuration:\n{}".format(
                len(self.problems), "\n".join("  - " + p for p in self.problems))
        super().__init__(message)


class Config:
    """Base configuration class. For custom configurations, create a sub-class that inherits from
    this one and override the attributes that need to be changed, then instantiate it.
    """
    # Name of the configuration, e.g. "coco" or "experiment_3". Used in log directory and checkpoint
    # names (logs/<name><timestamp>/mask_rcnn_<name>_<epoch>.h5). Override in sub-classes.
    NAME = None

    # Number of GPUs (replicas) to train on. Set to 1 when training on a CPU.
    GPU_COUNT = 1

    # Images per GPU in each step. A 12 GB GPU typically takes 2 images of 1024x1024 px; use the
    # largest number that fits in memory.
    IMAGES_PER_GPU = 2

    # Training steps per epoch. Need not match the training set size; TensorBoard logs and
    # checkpoints are written at the end of each epoch.
    STEPS_PER_EPOCH = 1000

    # Validation steps run at the end of every epoch. More steps give steadier validation losses
    # but slow training down.
    VALIDATION_STEPS = 50

    # Backbone network: "resnet50" or "resnet101" (Matterport's; ImageNet/COCO weights exist), or
    # "resnet18" / "resnet34" (basic blocks, lighter, for training from scratch). May also be a
    # callable with the signature of the ResNet graph function
    # (input_image, stage5=..., train_bn=...) -> [C1, C2, C3, C4, C5]; then
    # COMPUTE_BACKBONE_SHAPE must be given too.
    BACKBONE = "resnet101"

    # Only used with a callable BACKBONE: function image_shape -> [levels, 2] array of the
    # (height, width) of each feature pyramid level.
    COMPUTE_BACKBONE_SHAPE = None

    # Stride in pixels of each feature pyramid level (P2..P6) relative to the input image.
    BACKBONE_STRIDES = [4, 8, 16, 32, 64]

    # Size of the fully-connected layers in the classification head.
    FPN_CLASSIF_FC_LAYERS_SIZE = 1024

    # Number of channels of the top-down feature pyramid layers.
    TOP_DOWN_PYRAMID_SIZE = 256

    # Number of classes INCLUDING the background: 1 + number of object classes. Override in
    # sub-classes (the default 1 is background only and fails validation).
    NUM_CLASSES = 1

    # Side length in pixels of the square anchor at each pyramid level (one scale per level).
    RPN_ANCHOR_SCALES = (32, 64, 128, 256, 512)

    # Anchor aspect ratios (width / height) at each position: 1 is square, 0.5 is tall, 2 is wide.
    RPN_ANCHOR_RATIOS = [0.5, 1, 2]

    # Anchor stride in feature-map cells. 1 places anchors at every cell of each feature map (as the
    # paper does); 2 at every other cell, which gives 4x fewer anchors and a faster RPN. This
    # project defaults to 2; Matterport's default was 1 (set 1 to reproduce its models exactly).
    RPN_ANCHOR_STRIDE = 2

    # IoU threshold of the non-max suppression that filters RPN proposals. Raise it to get more
    # proposals during training.
    RPN_NMS_THRESHOLD = 0.7

    # Anchors per image sampled to train the RPN (at most half of them positive).
    RPN_TRAIN_ANCHORS_PER_IMAGE = 256

    # Proposals kept (by RPN score) before non-max suppression.
    PRE_NMS_LIMIT = 6000

    # Proposals kept after non-max suppression, in training and in inference.
    POST_NMS_ROIS_TRAINING = 2000
    POST_NMS_ROIS_INFERENCE = 1000

    # Store ground-truth instance masks resized to the object's box at MINI_MASK_SHAPE
    # (height, width) instead of at full image size; saves memory on large images.
    USE_MINI_MASK = True
    MINI_MASK_SHAPE = (56, 56)

    # Input image resizing (see mrcnn.core.images.resize_image):
    #   none:   no resizing or padding, the image is used as it is.
    #   square: scale so the short side is IMAGE_MIN_DIM and the long side at most IMAGE_MAX_DIM,
    #           then pad with zeros to IMAGE_MAX_DIM x IMAGE_MAX_DIM (good for training and
    #           inference in most cases).
    #   pad64:  pad height and width with zeros to multiples of 64 (after scaling up for
    #           IMAGE_MIN_DIM / IMAGE_MIN_SCALE if they are set); IMAGE_MAX_DIM is ignored.
    #   crop:   scale for IMAGE_MIN_DIM / IMAGE_MIN_SCALE, then take a random
    #           IMAGE_MIN_DIM x IMAGE_MIN_DIM crop. Training only; IMAGE_MAX_DIM is ignored.
    #   scale_pad64: scale as "square", then pad height and width each to the next multiple of
    #           64 instead of to a square: a 1920x1080 photo with 800/1024 trains at 1024x576.
    #           The mode for rectangular photos (not in Matterport).
    # The model input side (IMAGE_MAX_DIM, or IMAGE_MIN_DIM in crop mode) must be a multiple of 64
    # so the six halvings of the feature pyramid (2**6 = 64) stay aligned.
    IMAGE_RESIZE_MODE = "square"
    IMAGE_MIN_DIM = 800
    IMAGE_MAX_DIM = 1024
    # Minimum scale factor, applied after IMAGE_MIN_DIM; e.g. 2 doubles the image size at least.
    # In "square" mode IMAGE_MAX_DIM still caps it. 0 disables it.
    IMAGE_MIN_SCALE = 0
    # Channels per image: 3 for RGB, 1 for grayscale, 4 for RGB-D. Other values than 3 need a
    # Dataset that overrides load_image and a MEAN_PIXEL with one value per channel.
    IMAGE_CHANNEL_COUNT = 3

    # Mean pixel value per channel (RGB), subtracted from images before they enter the network.
    MEAN_PIXEL = np.array([123.7, 116.8, 103.9])

    # ROIs per image sampled to train the classifier and mask heads. The paper uses 512; the RPN
    # often gives too few positives to keep a 1:3 positive:negative ratio at that number.
    TRAIN_ROIS_PER_IMAGE = 200

    # Fraction of the training ROIs that are positive (IoU >= 0.5 with a ground-truth box).
    ROI_POSITIVE_RATIO = 0.33

    # Side of the ROIAlign output for the classifier head and for the mask head.
    POOL_SIZE = 7
    MASK_POOL_SIZE = 14

    # Shape (height, width) of the predicted masks. The mask head upsamples MASK_POOL_SIZE once,
    # so this must be [2 * MASK_POOL_SIZE, 2 * MASK_POOL_SIZE].
    MASK_SHAPE = [28, 28]

    # Maximum number of ground-truth instances used per image (a random subset is kept beyond).
    MAX_GT_INSTANCES = 100

    # Standard deviations the box deltas are divided by, for the RPN and for the final detections.
    RPN_BBOX_STD_DEV = np.array(DEFAULT_BBOX_STD_DEV)
    BBOX_STD_DEV = np.array(DEFAULT_BBOX_STD_DEV)

    # Maximum number of final detections per image.
    DETECTION_MAX_INSTANCES = 100

    # Minimum class probability for a detection to be kept.
    DETECTION_MIN_CONFIDENCE = 0.7

    # IoU threshold of the per-class non-max suppression of the final detections.
    DETECTION_NMS_THRESHOLD = 0.3

    # SGD learning rate and momentum. The paper uses 0.02, which makes the weights explode here.
    LEARNING_RATE = 0.001
    LEARNING_MOMENTUM = 0.9

    # L2 weight decay factor (not applied to batch-normalization gamma/beta).
    WEIGHT_DECAY = 0.0001

    # Weight of each of the five losses in the total loss.
    LOSS_WEIGHTS = {
        "rpn_class_loss": 1.,
        "rpn_bbox_loss": 1.,
        "mrcnn_class_loss": 1.,
        "mrcnn_bbox_loss": 1.,
        "mrcnn_mask_loss": 1.
    }

    # Train the heads on the RPN's proposals (True, the normal case) or on ROIs generated from the
    # ground truth by the data pipeline (False; e.g. to debug the heads without a trained RPN).
    USE_RPN_ROIS = True

    # Batch normalization layers: False freezes them (moving statistics in every phase, gamma/beta
    # not trained; good with small batches and pretrained weights). None or True train them:
    # batch statistics while training, moving statistics at inference. (Matterport's True also
    # used batch statistics at inference; here inference always uses the moving statistics.)
    TRAIN_BN = False

    # Clip each gradient to this norm (Keras' per-variable ``clipnorm``, as Matterport).
    GRADIENT_CLIP_NORM = 5.0

    # Keras mixed-precision policy: None (float32), "mixed_float16" (GPUs with tensor cores) or
    # "mixed_bfloat16" (TPUs, recent CPUs/GPUs). ROIAlign, proposal and detection layers stay
    # float32.
    MIXED_PRECISION = None

    # Compile the training step with XLA (Keras' ``jit_compile=True``). True builds the training
    # graph from static-shape twins of the layers XLA refuses (CropAndResize, tf.where gathers,
    # tf.random.shuffle, NMS in tf.map_fn: see mrcnn.ops.crop and the layers' ``jit_compatible``)
    # with the same sampling rules. On a 2-core CPU it is much slower (R50, all layers: 128x128
    # batch 2, 2.0 instead of 1.4 s/step after ~90 s compiling the first step; 1024x1024 batch
    # 1, 49 instead of 16 s/step after 7.5 minutes compiling; benchmarks/benchmark.py --jit off
    # on), so False is the default; it may pay on a GPU. The inference graph is not affected,
    # and the multi-worker loop (mrcnn.training.loop) runs the step without XLA.
    JIT_COMPILE = False

    # Checkpoints kept in a run's folder: the newest KEEP_CHECKPOINTS plus the best one (highest
    # val_mAP50 when a MeanAPCallback runs, else lowest val_loss); the others are deleted after
    # each epoch. None or 0 keeps every checkpoint (Matterport).
    KEEP_CHECKPOINTS = 3

    # Training output that goes to a file (not a terminal): one line every LOG_EVERY_STEPS steps
    # and one per epoch. None: every tenth of the epoch; 0: epoch lines only. A terminal shows
    # Keras' progress bar instead.
    LOG_EVERY_STEPS = None

    def __init__(self):
        """Validate the settings and set the computed attributes."""
        self.validate()
        self._compute_derived()

    # ------------------------------------------------------------------ computed attributes
    def _compute_derived(self):
        """Set BATCH_SIZE, IMAGE_SHAPE, IMAGE_META_SIZE from the settings (Matterport's rules)."""
        # Effective batch size
        self.BATCH_SIZE = self.IMAGES_PER_GPU * self.GPU_COUNT
        # Input image size
        if self.IMAGE_RESIZE_MODE == "crop":
            self.IMAGE_SHAPE = np.array([self.IMAGE_MIN_DIM, self.IMAGE_MIN_DIM,
                                         self.IMAGE_CHANNEL_COUNT])
        else:
            self.IMAGE_SHAPE = np.array([self.IMAGE_MAX_DIM, self.IMAGE_MAX_DIM,
                                         self.IMAGE_CHANNEL_COUNT])
        # Image meta data length: 1 + 3 + 3 + 4 + 1 + NUM_CLASSES, see compose_image_meta()
        self.IMAGE_META_SIZE = image_meta_size(self.NUM_CLASSES)

    # ------------------------------------------------------------------ display / export
    def display(self):
        """Print the configuration values (all non-callable upper-case attributes)."""
        print("\nConfigurations:")
        for a in _setting_names(self):
            value = getattr(self, a)
            if not callable(value):
                print("{:30} {}".format(a, value))
        print("\n")

    def to_dict(self):
        """All upper-case attributes, computed ones included, as plain JSON-serializable Python.

        NumPy arrays and tuples become lists, NumPy scalars Python numbers, and a callable (e.g. a
        custom BACKBONE) its import path "module:qualname".

        Returns: dict {attribute name: value}, keys sorted.
        """
        return {name: _to_plain(name, getattr(self, name)) for name in _setting_names(self)}

    def save(self, path):
        """Write ``to_dict()`` to ``path`` as JSON (.json) or YAML (.yaml/.yml). Returns path."""
        kind = _file_kind(path)
        values = self.to_dict()         # before the file is opened: no empty file on error
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            if kind == "json":
                json.dump(values, f, indent=2)
                f.write("\n")
            else:
                yaml.safe_dump(values, f, default_flow_style=None, sort_keys=True)
        return path

    # ------------------------------------------------------------------ loading / updating
    @classmethod
    def from_dict(cls, d, base=None):
        """Make a configuration from a mapping of attribute names to values.

        d: mapping {attribute name: value}, e.g. from ``to_dict()`` or a parsed file. Unknown names
            are an error (the closest known name is suggested). Computed attributes (BATCH_SIZE,
            IMAGE_SHAPE, IMAGE_META_SIZE) are ignored when they agree with the other values and an
            error when they do not.
        base: None, a Config subclass or a Config instance whose values are used for the names
            missing from ``d``. None means the class attributes of ``cls``.

        Returns: an instance of ``cls``, validated, with the computed attributes recomputed.
        """
        config = cls._blank(base)
        config._apply(d, "from_dict()")
        return config

    @classmethod
    def _blank(cls, base):
        """An instance of ``cls`` not yet validated, holding the settings of ``base`` (a Config
        subclass or instance; None: the class attributes of ``cls``)."""
        config = cls.__new__(cls)
        if base is not None:
            if not (isinstance(base, Config)
                    or (isinstance(base, type) and issubclass(base, Config))):
                raise TypeError("base must be a Config subclass or instance, got {!r}".format(base))
            for name in _setting_names(base):
                if name not in COMPUTED_ATTRIBUTES:
                    setattr(config, name, copy.deepcopy(getattr(base, name)))
        return config

    @classmethod
    def from_file(cls, path, base=None):
        """Make a configuration from a JSON (.json) or YAML (.yaml/.yml) file of attribute values.

        The file holds one mapping {attribute name: value}, as written by ``save()``. Values not in
        the file keep those of ``base`` (as in ``from_dict``; None: the defaults of ``cls``).
        Errors name the file.

        Returns: an instance of ``cls`` (see ``from_dict``).
        """
        kind = _file_kind(path)
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f) if kind == "json" else yaml.safe_load(f)
            if d is None:                                   # an empty YAML file
                d = {}
        except OSError as e:
            raise ConfigError("cannot read config file {}: {}".format(path, e)) from e
        except (ValueError, yaml.YAMLError) as e:
            raise ConfigError("config file {} is not valid {}: {}".format(
                path, kind.upper(), e)) from e
        config = cls._blank(base)
        config._apply(d, "config file {}".format(os.fspath(path)))
        return config

    @classmethod
    def from_weights(cls, path):
        """The configuration stored in a weights file that this package wrote (a training
        checkpoint, ``MaskRCNN.save_weights``), so a model can be rebuilt as it was trained::

            config = Config.from_weights("logs/shapes20260101T1200/mask_rcnn_shapes_0010.h5")
            config.update(GPU_COUNT=1, IMAGES_PER_GPU=1)       # inference: one image at a time
            model = MaskRCNN("inference", config, "logs")

        Settings the file lacks keep the defaults of ``cls``; settings ``cls`` does not know (of
        another Config subclass) are left out with a warning naming them.
        Raises ConfigError for a file that stores no config (Matterport's files, older
        checkpoints) and mrcnn.weights.WeightsFileError for a file that cannot be read.
        """
        from mrcnn.weights_file import read_metadata
        values = (read_metadata(path) or {}).get("config")
        if not isinstance(values, Mapping):
            raise ConfigError("{} stores no config (a Matterport file or an older checkpoint): "
                              "build the Config by hand".format(os.fspath(path)))
        known = set(_setting_names(cls)) | set(COMPUTED_ATTRIBUTES)
        unknown = sorted(set(values) - known)
        if unknown:
            warnings.warn("{}: settings that {} does not know are left out: {}".format(
                os.fspath(path), cls.__name__, ", ".join(unknown)), stacklevel=2)
        config = cls._blank(None)
        config._apply({k: v for k, v in values.items() if k in known},
                      "config stored in {}".format(os.fspath(path)))
        return config

    def update(self, **kw):
        """Set attributes by keyword, then validate and recompute the computed attributes.

        ``config.update(IMAGES_PER_GPU=4, LEARNING_RATE=0.01)``. Unknown names are an error. When a
        value is invalid the configuration is left unchanged. Returns self.
        """
        self._apply(kw, "update()")
        return self

    def apply_overrides(self, overrides):
        """Apply "KEY=VALUE" strings, VALUE parsed as YAML (for a ``--set KEY=VALUE`` flag).

        overrides: iterable of strings such as "IMAGES_PER_GPU=4", "MEAN_PIXEL=[120, 115, 100]",
            "LOSS_WEIGHTS={rpn_class_loss: 1, ...}", "MIXED_PRECISION=null". A number written
            "1e-3" (a string for YAML 1.1) is read as a float where the attribute is a float.

        Returns self (validated, computed attributes recomputed; unchanged on error).
        """
        if isinstance(overrides, str):
            overrides = [overrides]
        values = {}
        for item in overrides:
            if not isinstance(item, str) or "=" not in item:
                raise ConfigError("override {!r} must have the form KEY=VALUE".format(item))
            key, text = item.split("=", 1)
            key = key.strip()
            try:
                values[key] = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise ConfigError("cannot parse the value of override {!r}: {}".format(
                    item, e)) from e
        self._apply(values, "apply_overrides()")
        return self

    def _apply(self, values, source):
        """Set ``values`` (checked against the known names), validate, recompute derived values.

        Restores the previous state when anything is invalid. ``source`` names the origin of
        the values in error messages.
        """
        if not isinstance(values, Mapping):
            raise ConfigError("{}: expected a mapping of attribute names to values, got a {}"
                              .format(source, type(values).__name__))
        known = set(_setting_names(self)) | set(COMPUTED_ATTRIBUTES)
        saved = dict(self.__dict__)
        try:
            for key in values:
                if not isinstance(key, str) or key not in known:
                    hint = difflib.get_close_matches(str(key).upper(), sorted(known), n=1)
                    raise ConfigError("unknown config attribute {!r}.{}".format(
                        key, " Did you mean {!r}?".format(hint[0]) if hint else ""))
            for key, value in values.items():
                if key not in COMPUTED_ATTRIBUTES:
                    setattr(self, key, _coerce(key, value, getattr(self, key)))
            self.validate()
            self._compute_derived()
            for key in COMPUTED_ATTRIBUTES:
                if key in values and not _same(values[key], getattr(self, key)):
                    raise ConfigError(
                        "{} is {} but the other values give {}: it is computed, set the values "
                        "it comes from instead or leave it out".format(
                            key, values[key], _to_plain(key, getattr(self, key))))
        except Exception as e:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if isinstance(e, ConfigError):
                raise ConfigError("{}: {}".format(source, e)) from e
            raise

    # ------------------------------------------------------------------ validation
    def validate(self):
        """Check the settings; raise ConfigError (a ValueError) naming the attribute at fault.

        Every problem found is reported, in one ConfigError (its ``problems`` list); a check
        that depends on a setting already reported as invalid is skipped.
        """
        problems = _Problems()
        with problems.check():
            num_classes = _int(self, "NUM_CLASSES")
            if num_classes < 2:
                raise ConfigError(
                    "NUM_CLASSES is {} but must be at least 2: it counts the background class "
                    "too, so set NUM_CLASSES = 1 + the number of object classes (1 + 1 for a "
                    "single class)".format(num_classes))
        for name in ("GPU_COUNT", "IMAGES_PER_GPU", "RPN_ANCHOR_STRIDE", "TRAIN_ROIS_PER_IMAGE",
                     "IMAGE_CHANNEL_COUNT"):
            with problems.check():
                value = _int(self, name)
                if value < 1:
                    raise ConfigError("{} is {} but must be at least 1".format(name, value))

        mode = self.IMAGE_RESIZE_MODE
        with problems.check():
            if mode not in RESIZE_MODES:
                raise ConfigError("IMAGE_RESIZE_MODE is {!r} but must be one of {}".format(
                    mode, ", ".join(repr(m) for m in RESIZE_MODES)))
        sides = {"crop": ("IMAGE_MIN_DIM", "IMAGE_MAX_DIM"),
                 "pad64": ("IMAGE_MIN_DIM", "IMAGE_MAX_DIM") if self.IMAGE_MIN_DIM else ()}
        for name in sides.get(mode, ("IMAGE_MAX_DIM",)):
            with problems.check():
                side = _int(self, name)
                if side < 64 or side % 64:
                    lower, upper = 64 * max(1, side // 64), 64 * max(1, -(-side // 64))
                    nearest = str(lower) if lower == upper else "{} or {}".format(lower, upper)
                    raise ConfigError(
                        "{} is {} but must be a positive multiple of 64 (the feature pyramid "
                        "halves the image 6 times){}; nearest valid values: {}".format(
                            name, side, " in IMAGE_RESIZE_MODE {!r}".format(mode)
                            if mode in ("crop", "pad64") else "", nearest))
        # (Mode "square" keeps Matterport's leniency: IMAGE_MIN_DIM > IMAGE_MAX_DIM there just
        # scales every image to fit IMAGE_MAX_DIM, and many old configs set only IMAGE_MAX_DIM.)
        with problems.check():
            if mode == "scale_pad64" and _int(self, "IMAGE_MIN_DIM") > _int(self, "IMAGE_MAX_DIM"):
                raise ConfigError(
                    "IMAGE_MIN_DIM ({}) is larger than IMAGE_MAX_DIM ({}): in IMAGE_RESIZE_MODE "
                    "'scale_pad64' the short side is scaled up to IMAGE_MIN_DIM and the long "
                    "side down to IMAGE_MAX_DIM, so IMAGE_MIN_DIM must not exceed IMAGE_MAX_DIM"
                    .format(self.IMAGE_MIN_DIM, self.IMAGE_MAX_DIM))

        with problems.check():
            channels = self.IMAGE_CHANNEL_COUNT
            mean_pixel = np.asarray(self.MEAN_PIXEL)
            if not problems.about("IMAGE_CHANNEL_COUNT") and (
                    mean_pixel.ndim != 1 or mean_pixel.shape[0] != channels):
                raise ConfigError(
                    "MEAN_PIXEL is {} but must hold one value per channel: IMAGE_CHANNEL_COUNT "
                    "is {}".format(_to_plain("MEAN_PIXEL", self.MEAN_PIXEL), channels))

        with problems.check():
            mask_pool_size = _int(self, "MASK_POOL_SIZE")
            mask_shape = _to_plain("MASK_SHAPE", self.MASK_SHAPE)
            if mask_shape != [2 * mask_pool_size] * 2:
                raise ConfigError(
                    "MASK_SHAPE is {} but the mask head upsamples MASK_POOL_SIZE ({}) once, so "
                    "it must be {}".format(mask_shape, mask_pool_size, [2 * mask_pool_size] * 2))

        with problems.check():
            if not isinstance(self.JIT_COMPILE, (bool, np.bool_)):
                raise ConfigError("JIT_COMPILE is {!r} but must be True or False".format(
                    self.JIT_COMPILE))

        with problems.check():
            if self.MIXED_PRECISION not in MIXED_PRECISION_POLICIES:
                raise ConfigError("MIXED_PRECISION is {!r} but must be one of {}".format(
                    self.MIXED_PRECISION, ", ".join(repr(p) for p in MIXED_PRECISION_POLICIES)))

        backbone = self.BACKBONE
        with problems.check():
            if callable(backbone):
                if not callable(self.COMPUTE_BACKBONE_SHAPE):
                    raise ConfigError("BACKBONE is a callable, so COMPUTE_BACKBONE_SHAPE must be "
                                      "a callable giving the feature map shapes too")
            elif backbone not in BACKBONES:
                raise ConfigError("BACKBONE is {!r} but must be one of {} or a callable".format(
                    backbone, ", ".join(repr(b) for b in BACKBONES)))
        with problems.check():
            if not callable(backbone):
                scales = _to_plain("RPN_ANCHOR_SCALES", self.RPN_ANCHOR_SCALES)
                strides = _to_plain("BACKBONE_STRIDES", self.BACKBONE_STRIDES)
                if not isinstance(scales, list) or not isinstance(strides, list) \
                        or len(scales) != len(strides):
                    raise ConfigError(
                        "RPN_ANCHOR_SCALES {} and BACKBONE_STRIDES {} must have the same length: "
                        "one anchor scale per feature pyramid level".format(scales, strides))

        for name, low, high, low_open in (("ROI_POSITIVE_RATIO", 0, 1, True),
                                          ("DETECTION_MIN_CONFIDENCE", 0, 1, False)):
            with problems.check():
                value = _number(self, name)
                if value > high or value < low or (low_open and value == low):
                    raise ConfigError("{} is {} but must be in {}{}, {}]".format(
                        name, value, "(" if low_open else "[", low, high))

        for name in ("KEEP_CHECKPOINTS", "LOG_EVERY_STEPS"):
            with problems.check():
                if getattr(self, name) is not None and _int(self, name) < 0:
                    raise ConfigError("{} is {} but must be None or at least 0".format(
                        name, getattr(self, name)))

        weights = self.LOSS_WEIGHTS
        with problems.check():
            if not isinstance(weights, dict) or set(weights) != set(LOSS_NAMES):
                keys = sorted(weights) if isinstance(weights, dict) else weights
                raise ConfigError("LOSS_WEIGHTS has keys {} but must have exactly {}".format(
                    keys, ", ".join(LOSS_NAMES)))
        if isinstance(weights, dict):
            for key, value in weights.items():
                with problems.check():
                    if not isinstance(value, numbers.Real) or isinstance(value, bool):
                        raise ConfigError("LOSS_WEIGHTS[{!r}] is {!r} but must be a number"
                                          .format(key, value))
        problems.raise_if_any()


def check_dataset_classes(config, dataset, name="dataset"):
    """Raise ConfigError unless ``dataset`` has exactly ``config.NUM_CLASSES`` classes.

    Training and evaluation call it first, before any graph work: a dataset of another class
    count gives image metas of another length (a Keras input-shape error about
    ``input_image_meta`` deep in fit()) and class ids of another numbering. The message names
    both numbers and which setting to change. ``name`` is the argument's name in the message
    ("train_dataset", "val_dataset", ...). ValueError for a dataset not prepared. A config
    without NUM_CLASSES (a stand-in object) is not checked.
    """
    expected = getattr(config, "NUM_CLASSES", None)
    if expected is None:
        return
    num_classes = getattr(dataset, "num_classes", None)
    if num_classes is None:
        raise ValueError("{} has no num_classes: call {}.prepare() after adding its classes and "
                         "images".format(name, name))
    num_classes, expected = int(num_classes), int(expected)
    if num_classes == expected:
        return
    names = list(getattr(dataset, "class_names", []))[1:num_classes]
    listed = ": " + ", ".join(str(n) for n in names) if 0 < len(names) <= 10 else ""
    config_name = type(config).__name__
    raise ConfigError(
        "{name} has {n} classes (background + {objects}{listed}) but {cfg}.NUM_CLASSES is "
        "{expected} (background + {cfg_objects}): set NUM_CLASSES = 1 + {objects} in {cfg}, or "
        "give the dataset the {cfg_objects} object classes the config counts (add_class "
        "once per class; NUM_CLASSES counts the background too)".format(
            name=name, n=num_classes, objects=num_classes - 1, listed=listed, cfg=config_name,
            expected=expected, cfg_objects=expected - 1))


# ---------------------------------------------------------------------- helpers
class _Problems:
    """Collects the ConfigErrors of independent checks, for one ConfigError listing them all."""

    def __init__(self):
        self.messages = []

    @contextlib.contextmanager
    def check(self):
        """A block whose ConfigError is recorded (once) instead of raised."""
        try:
            yield
        except ConfigError as e:
            self.messages.extend(p for p in e.problems if p not in self.messages)

    def about(self, name):
        """Whether a problem already reported starts with the setting ``name``."""
        return any(p.startswith(name + " ") for p in self.messages)

    def raise_if_any(self):
        if self.messages:
            raise ConfigError(self.messages)


def _setting_names(obj):
    """Sorted upper-case attribute names of a Config class or instance."""
    return [name for name in dir(obj) if name.isupper()]


def _int(config, name):
    """config.<name> as an int; ConfigError naming the attribute when it is not an integer."""
    value = getattr(config, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ConfigError("{} is {!r} but must be an integer".format(name, value))
    return int(value)


def _number(config, name):
    """config.<name> as a float; ConfigError naming the attribute when it is not a number."""
    value = getattr(config, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ConfigError("{} is {!r} but must be a number".format(name, value))
    return float(value)


def _to_plain(name, value):
    """``value`` as JSON-serializable Python (lists, dicts, numbers, strings, None)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_to_plain(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(name, v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if callable(value):
        func = getattr(value, "__func__", value)      # a function set in a class body
        return "{}:{}".format(func.__module__, func.__qualname__)
    raise ConfigError("{} holds a {} ({!r}), which cannot be written to a config file".format(
        name, type(value).__name__, value))


def _resolve(name, path):
    """Import the object that the string "module:qualname" names (a callable BACKBONE...)."""
    module_name, _, qualname = path.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(
            "{} is {!r} but that cannot be imported ({}); a lambda or a function defined inside "
            "another function cannot be restored from a file".format(name, path, e)) from e
    return obj


def _coerce(name, value, current):
    """Give a loaded ``value`` the container type of the attribute's ``current`` value.

    JSON/YAML have no tuples or arrays: a list becomes a tuple / float array where the current
    value is one, a "module:qualname" string for BACKBONE / COMPUTE_BACKBONE_SHAPE the callable it
    names, and a string for a float attribute a float (YAML 1.1 reads "1e-3" as a string).
    """
    if name in _CALLABLE_SETTINGS and isinstance(value, str) and ":" in value:
        return _resolve(name, value)
    if isinstance(current, np.ndarray) and isinstance(value, (list, tuple)):
        array = np.asarray(value)
        if current.dtype.kind == "f" and array.dtype.kind in "iuf":
            array = array.astype(current.dtype)
        return array
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    if isinstance(current, float) and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ConfigError("{} must be a number, got {!r}".format(name, value)) from None
    return value


def _same(given, computed):
    """Whether a computed attribute given in a dict/file equals the recomputed value."""
    try:
        return np.array_equal(np.asarray(given), np.asarray(computed))
    except (TypeError, ValueError):
        return False


def _file_kind(path):
    """"json" or "yaml" from the file extension; ConfigError for anything else."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".json":
        return "json"
    if ext in (".yaml", ".yml"):
        return "yaml"
    raise ConfigError("config file {} must end in .json, .yaml or .yml".format(path))
