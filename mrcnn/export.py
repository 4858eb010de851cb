"""Export an inference model as a TensorFlow SavedModel that needs no Python from this package.

The SavedModel's ``serve`` function (also its ``serving_default`` signature, for TF Serving) takes
``images``: uint8 [batch, height, width, channels], any size (the images of one call share a
size; send one image per call for images of different sizes), and returns

    num_detections  int32 [batch]
    rois            int32 [batch, K, 4]   (y1, x1, y2, x2) pixels of the original image, y2/x2
                                          exclusive, as ``MaskRCNN.detect()``'s "rois"
    class_ids       int32 [batch, K]
    scores          float32 [batch, K]
    masks           bool [batch, height, width, K], full size, as detect()'s "masks"
    class_names     string [batch, K]     only when exported with ``class_names``

K is the largest ``num_detections`` of the batch; an image's rows past its own count are zero
(empty names). With a batch of one, ``rois[0]`` etc. are exactly detect()'s arrays. Molding
(resize per IMAGE_RESIZE_MODE "square", "scale_pad64", "pad64" or "none", padding,
``MEAN_PIXEL``), the anchors of the molded size and unmolding all happen in the graph
(:mod:`mrcnn.ops.molding`, :mod:`mrcnn.ops.anchors`).
"""
import os

import numpy as np

from mrcnn.config import ConfigError
from mrcnn.files import atomic_folder

__all__ = ["SERVING_OUTPUTS", "check_export_folder", "export_saved_model"]

#: The outputs of the serving function, in the order above (class_names only when given).
SERVING_OUTPUTS = ("num_detections", "rois", "class_ids", "scores", "masks", "class_names")


def check_export_folder(path):
    """FileExistsError unless ``path`` is free for an export: missing, an empty folder, or an
    earlier SavedModel (which the export replaces)."""
    path = os.fspath(path)
    if os.path.isfile(path) or (os.path.isdir(path) and os.listdir(path)
                                and not os.path.isfile(os.path.join(path, "saved_model.pb"))):
        raise FileExistsError(f"export: {path} exists and is not a SavedModel; choose a new or "
                              f"empty folder (an earlier export there is replaced)")


#: Resize modes an export molds in the graph ("crop" is for training only).
EXPORT_MODES = ("square", "scale_pad64", "pad64", "none")


def _check(config, class_names):
    if config.IMAGE_RESIZE_MODE not in EXPORT_MODES:
        raise ConfigError(
            f"export needs IMAGE_RESIZE_MODE {', '.join(repr(m) for m in EXPORT_MODES)}; this "
            f"config has {config.IMAGE_RESIZE_MODE!r} (a random crop is for training). The "
            f"weights do not depend on it: export an inference model built with the mode you "
            f"detect with, e.g. 'pad64' for a model trained on crops")
    if callable(config.BACKBONE) and config.IMAGE_RESIZE_MODE != "square":
        raise ConfigError(
            "export of a callable BACKBONE needs IMAGE_RESIZE_MODE 'square' (its "
            "COMPUTE_BACKBONE_SHAPE cannot run in the graph on other input shapes)")
    if class_names is not None and len(class_names) != config.NUM_CLASSES:
        raise ValueError(f"class_names has {len(class_names)} names but NUM_CLASSES is "
                         f"{config.NUM_CLASSES} (the names include 'BG' for class 0)")


def _anchors_graph(config, molded_size):
    """The normalized anchors of a molded size, in the graph (get_anchors' twin)."""
    import tensorflow as tf

    from mrcnn.core.anchors import cell_anchors, compute_backbone_shapes
    from mrcnn.ops.anchors import pyramid_anchors_graph
    if config.IMAGE_RESIZE_MODE == "square":       # one size: the backbone's shapes are known
        feature_shapes = [tf.constant(s, tf.int32)
                          for s in compute_backbone_shapes(config, config.IMAGE_SHAPE)]
    else:                                          # the ResNets' ceil(size / stride)
        feature_shapes = [(molded_size + stride - 1) // stride
                          for stride in config.BACKBONE_STRIDES]
    return pyramid_anchors_graph(
        [cell_anchors(scale, config.RPN_ANCHOR_RATIOS) for scale in config.RPN_ANCHOR_SCALES],
        feature_shapes, config.BACKBONE_STRIDES, config.RPN_ANCHOR_STRIDE, molded_size)


def export_saved_model(keras_model, config, path, class_names=None):
    """Write ``keras_model`` (an inference graph of ``config``) to the SavedModel folder ``path``.

    class_names: optional list of NUM_CLASSES names (index = class id) to add a ``class_names``
    output. An earlier SavedModel at ``path`` is replaced; the folder appears whole or not at all.
    Raises ConfigError for mode "crop", FileExistsError when ``path``
    holds something else. Returns ``path``.
    """
    import keras
    import tensorflow as tf

    from mrcnn.ops.molding import mold_images_graph, unmold_detections_graph

    path = os.fspath(path)
    _check(config, class_names)
    check_export_folder(path)
    channels = int(config.IMAGE_CHANNEL_COUNT)
    mean_pixel = np.broadcast_to(np.asarray(config.MEAN_PIXEL, np.float32), [channels])
    names = None if class_names is None else [str(name) for name in class_names]

    def serve(images):
        shape = tf.shape(images)
        tf.debugging.assert_positive(shape[1:3], message="images must have height and width > 0")
        molded, metas, window, molded_size = mold_images_graph(
            images, config.IMAGE_MIN_DIM, config.IMAGE_MAX_DIM, mean_pixel, config.NUM_CLASSES,
            min_scale=config.IMAGE_MIN_SCALE, mode=config.IMAGE_RESIZE_MODE)
        anchors = _anchors_graph(config, molded_size)
        batch_anchors = tf.broadcast_to(anchors[tf.newaxis], [shape[0], tf.shape(anchors)[0], 4])
        outputs = keras_model([molded, metas, batch_anchors], training=False)
        result = unmold_detections_graph(outputs[0], outputs[3], shape[1:3], molded_size,
                                         window)
        if names is not None:
            slot = tf.range(tf.shape(result["class_ids"])[1]) < result["num_detections"][:, None]
            result["class_names"] = tf.where(slot, tf.gather(tf.constant(names),
                                                             result["class_ids"]), "")
        return result

    # Not archive.track(keras_model): that saves each Keras variable beside the tf.Variable it
    # wraps, which the endpoint already saves (every weight twice). The endpoint's variables are
    # all the model's.
    archive = keras.export.ExportArchive()
    archive.add_endpoint(
        name="serve", fn=serve,
        input_signature=[tf.TensorSpec([None, None, None, channels], tf.uint8, name="images")])
    with atomic_folder(path) as tmp:
        archive.write_out(tmp, verbose=False)
    return path
