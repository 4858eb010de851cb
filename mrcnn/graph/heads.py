"""The classifier/box head and the mask head on top of PyramidROIAlign.

Both work per ROI through :class:`~mrcnn.layers.time_distributed.TimeDistributed`:
[batch, rois, ...]. Layer names (``mrcnn_class_conv1`` ... ``mrcnn_mask``) are API: COCO ``.h5``
files load by them and fine-tuning excludes ``mrcnn_class_logits``, ``mrcnn_bbox_fc``,
``mrcnn_bbox`` and ``mrcnn_mask``.
"""
from keras import layers as KL

from mrcnn.graph.precision import FLOAT32
from mrcnn.layers.batch_norm import BatchNorm
from mrcnn.layers.roi_align import PyramidROIAlign
from mrcnn.layers.time_distributed import TimeDistributed


def fpn_classifier_graph(rois, feature_maps, image_meta, pool_size, num_classes, train_bn=True,
                         fc_layers_size=1024, jit_compatible=False):
    """Classifier and box-regression head.

    rois: [batch, rois, 4] normalized; feature_maps: [P2, P3, P4, P5].
    jit_compatible: PyramidROIAlign's gather route (XLA compiles it, and its image gradient is
        exact; the training graph takes it).
    Returns logits [batch, rois, num_classes], probs (softmax of the logits), and class-specific
    deltas [batch, rois, num_classes, 4] (dy, dx, log dh, log dw), divided by BBOX_STD_DEV.
    The two "fully connected" layers are a pool_size x pool_size conv and a 1x1 conv, as
    Matterport.
    """
    frozen = train_bn is False
    x = PyramidROIAlign([pool_size, pool_size], jit_compatible=jit_compatible,
                        name="roi_align_classifier", dtype=FLOAT32)(
        [rois, image_meta] + feature_maps)
    x = TimeDistributed(KL.Conv2D(fc_layers_size, (pool_size, pool_size), padding="valid"),
                        name="mrcnn_class_conv1")(x)
    x = TimeDistributed(BatchNorm(frozen=frozen), name="mrcnn_class_bn1")(x)
    x = KL.Activation("relu")(x)
    x = TimeDistributed(KL.Conv2D(fc_layers_size, (1, 1)), name="mrcnn_class_conv2")(x)
    x = TimeDistributed(BatchNorm(frozen=frozen), name="mrcnn_class_bn2")(x)
    x = KL.Activation("relu")(x)
    shared = KL.Reshape((-1, fc_layers_size), name="pool_squeeze")(x)

    mrcnn_class_logits = TimeDistributed(KL.Dense(num_classes), name="mrcnn_class_logits")(shared)
    mrcnn_probs = KL.Activation("softmax", name="mrcnn_class", dtype=FLOAT32)(mrcnn_class_logits)
    x = TimeDistributed(KL.Dense(num_classes * 4, activation="linear"),
                        name="mrcnn_bbox_fc")(shared)
    mrcnn_bbox = KL.Reshape((-1, num_classes, 4), name="mrcnn_bbox")(x)
    return mrcnn_class_logits, mrcnn_probs, mrcnn_bbox


def build_fpn_mask_graph(rois, feature_maps, image_meta, pool_size, num_classes, train_bn=True,
                         jit_compatible=False):
    """Mask head: four 3x3 convs, a 2x deconvolution, and a per-class sigmoid.

    rois: [batch, rois, 4] normalized; feature_maps: [P2, P3, P4, P5].
    jit_compatible: PyramidROIAlign's gather route (XLA compiles it, and its image gradient is
        exact; the training graph takes it).
    Returns masks [batch, rois, 2 * pool_size, 2 * pool_size, num_classes] in 0..1.
    """
    frozen = train_bn is False
    x = PyramidROIAlign([pool_size, pool_size], jit_compatible=jit_compatible,
                        name="roi_align_mask", dtype=FLOAT32)(
        [rois, image_meta] + feature_maps)
    for i in range(1, 5):
        x = TimeDistributed(KL.Conv2D(256, (3, 3), padding="same"), name=f"mrcnn_mask_conv{i}")(x)
        x = TimeDistributed(BatchNorm(frozen=frozen), name=f"mrcnn_mask_bn{i}")(x)
        x = KL.Activation("relu")(x)
    x = TimeDistributed(KL.Conv2DTranspose(256, (2, 2), strides=2, activation="relu"),
                        name="mrcnn_mask_deconv")(x)
    return TimeDistributed(KL.Conv2D(num_classes, (1, 1), strides=1, activation="sigmoid",
                                     dtype=FLOAT32), name="mrcnn_mask", dtype=FLOAT32)(x)
