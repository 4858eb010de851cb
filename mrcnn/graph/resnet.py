"""ResNet backbones with Matterport's (and Keras applications') layer names.

ResNet50/101 (bottleneck blocks) are Matterport's: layer names are API (``conv1``, ``bn_conv1``,
``res2a_branch2a`` ... ``res5c_out``) and COCO / ImageNet ``.h5`` files load into them by name.
ResNet18/34 (basic blocks, He et al. 2016, table 1) are lighter options for training from scratch,
named in the same scheme so the ``layers=`` presets ("3+", "4+", ...) apply to them too.
Tensors are NHWC; strides 4, 8, 16, 32 for C2..C5.
"""
from keras import layers as KL

from mrcnn.core.anchors import BASIC_BLOCK_COUNTS, BLOCK_COUNTS
from mrcnn.layers.batch_norm import BatchNorm


def _bottleneck(input_tensor, kernel_size, filters, stage, block, strides, projection, use_bias,
                train_bn):
    """1x1 -> kxk -> 1x1 convs (each with BatchNorm) plus a shortcut, then ReLU.

    The shortcut is the input, or with ``projection`` a strided 1x1 conv (``res..._branch1``).
    """
    nb_filter1, nb_filter2, nb_filter3 = filters
    conv_name_base = f"res{stage}{block}_branch"
    bn_name_base = f"bn{stage}{block}_branch"
    frozen = train_bn is False

    x = KL.Conv2D(nb_filter1, (1, 1), strides=strides, name=conv_name_base + "2a",
                  use_bias=use_bias)(input_tensor)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2a")(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(nb_filter2, (kernel_size, kernel_size), padding="same",
                  name=conv_name_base + "2b", use_bias=use_bias)(x)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2b")(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(nb_filter3, (1, 1), name=conv_name_base + "2c", use_bias=use_bias)(x)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2c")(x)
    shortcut = input_tensor
    if projection:
        shortcut = KL.Conv2D(nb_filter3, (1, 1), strides=strides, name=conv_name_base + "1",
                             use_bias=use_bias)(input_tensor)
        shortcut = BatchNorm(frozen=frozen, name=bn_name_base + "1")(shortcut)
    x = KL.Add()([x, shortcut])
    return KL.Activation("relu", name=f"res{stage}{block}_out")(x)


def identity_block(input_tensor, kernel_size, filters, stage, block, use_bias=True, train_bn=True):
    """Bottleneck block whose shortcut is the identity.

    input_tensor: [batch, h, w, filters[2]] -> [batch, h, w, filters[2]].
    ``train_bn`` False freezes the block's BatchNorm layers (see :class:`BatchNorm`).
    """
    return _bottleneck(input_tensor, kernel_size, filters, stage, block, (1, 1), False,
                       use_bias, train_bn)


def conv_block(input_tensor, kernel_size, filters, stage, block, strides=(2, 2), use_bias=True,
               train_bn=True):
    """Bottleneck block with a projection shortcut; ``strides`` downsample both paths.

    input_tensor: [batch, h, w, c] -> [batch, h / s, w / s, filters[2]].
    """
    return _bottleneck(input_tensor, kernel_size, filters, stage, block, strides, True,
                       use_bias, train_bn)


def basic_block(input_tensor, filters, stage, block, strides=(1, 1), train_bn=True):
    """Two 3x3 convs with a shortcut (a 1x1 projection when the shape changes).

    input_tensor: [batch, h, w, c] -> [batch, h / s, w / s, filters].
    """
    conv_name_base = f"res{stage}{block}_branch"
    bn_name_base = f"bn{stage}{block}_branch"
    frozen = train_bn is False
    x = KL.Conv2D(filters, (3, 3), strides=strides, padding="same", use_bias=False,
                  name=conv_name_base + "2a")(input_tensor)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2a")(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(filters, (3, 3), padding="same", use_bias=False, name=conv_name_base + "2b")(x)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2b")(x)
    shortcut = input_tensor
    if strides != (1, 1) or input_tensor.shape[-1] != filters:
        shortcut = KL.Conv2D(filters, (1, 1), strides=strides, use_bias=False,
                             name=conv_name_base + "1")(input_tensor)
        shortcut = BatchNorm(frozen=frozen, name=bn_name_base + "1")(shortcut)
    x = KL.Add()([x, shortcut])
    return KL.Activation("relu", name=f"res{stage}{block}_out")(x)


def _stem(input_image, train_bn, use_bias):
    """Stage 1 of every ResNet: 7x7/2 conv1, bn_conv1, ReLU, 3x3/2 max pool (C1)."""
    x = KL.ZeroPadding2D((3, 3))(input_image)
    x = KL.Conv2D(64, (7, 7), strides=(2, 2), name="conv1", use_bias=use_bias)(x)
    x = BatchNorm(frozen=train_bn is False, name="bn_conv1")(x)
    x = KL.Activation("relu")(x)
    return KL.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)


def _basic_resnet_graph(input_image, architecture, stage5, train_bn):
    C1 = x = _stem(input_image, train_bn, use_bias=False)
    outputs = [C1]
    for stage, blocks in zip(range(2, 6), BASIC_BLOCK_COUNTS[architecture]):
        if stage == 5 and not stage5:
            outputs.append(None)
            break
        for i in range(blocks):
            strides = (2, 2) if i == 0 and stage > 2 else (1, 1)
            x = basic_block(x, 64 * 2 ** (stage - 2), stage, chr(97 + i), strides, train_bn)
        outputs.append(x)
    return outputs


def resnet_graph(input_image, architecture, stage5=False, train_bn=True):
    """Build ResNet on ``input_image`` [batch, H, W, C]; returns [C1, C2, C3, C4, C5].

    architecture: "resnet50", "resnet101", "resnet18" or "resnet34". C5 is None unless ``stage5``.
    """
    if architecture in BASIC_BLOCK_COUNTS:
        return _basic_resnet_graph(input_image, architecture, stage5, train_bn)
    if architecture not in BLOCK_COUNTS:
        raise ValueError(f"Unknown backbone {architecture!r}; expected one of "
                         f"{sorted(BLOCK_COUNTS) + sorted(BASIC_BLOCK_COUNTS)} or a callable "
                         f"(see Config.BACKBONE)")
    # Stage 1 (conv1 has a bias, as in Matterport's and Keras' ImageNet ResNet50 files)
    C1 = x = _stem(input_image, train_bn, use_bias=True)
    # Stage 2
    x = conv_block(x, 3, [64, 64, 256], stage=2, block="a", strides=(1, 1), train_bn=train_bn)
    x = identity_block(x, 3, [64, 64, 256], stage=2, block="b", train_bn=train_bn)
    C2 = x = identity_block(x, 3, [64, 64, 256], stage=2, block="c", train_bn=train_bn)
    # Stage 3
    x = conv_block(x, 3, [128, 128, 512], stage=3, block="a", train_bn=train_bn)
    x = identity_block(x, 3, [128, 128, 512], stage=3, block="b", train_bn=train_bn)
    x = identity_block(x, 3, [128, 128, 512], stage=3, block="c", train_bn=train_bn)
    C3 = x = identity_block(x, 3, [128, 128, 512], stage=3, block="d", train_bn=train_bn)
    # Stage 4
    x = conv_block(x, 3, [256, 256, 1024], stage=4, block="a", train_bn=train_bn)
    for i in range(BLOCK_COUNTS[architecture]):
        x = identity_block(x, 3, [256, 256, 1024], stage=4, block=chr(98 + i), train_bn=train_bn)
    C4 = x
    # Stage 5
    if stage5:
        x = conv_block(x, 3, [512, 512, 2048], stage=5, block="a", train_bn=train_bn)
        x = identity_block(x, 3, [512, 512, 2048], stage=5, block="b", train_bn=train_bn)
        C5 = identity_block(x, 3, [512, 512, 2048], stage=5, block="c", train_bn=train_bn)
    else:
        C5 = None
    return [C1, C2, C3, C4, C5]
