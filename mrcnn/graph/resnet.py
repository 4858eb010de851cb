"""ResNet50/101 backbone with Matterport's (and Keras applications') layer names.

Layer names are API: ``conv1``, ``bn_conv1``, ``res2a_branch2a`` ... ``res5c_out`` — COCO and
ImageNet ``.h5`` files load into them by name. Tensors are NHWC; strides 4, 8, 16, 32 for C2..C5.
"""
import keras
from keras import layers as KL

from mrcnn.layers.norm import BatchNorm

BLOCK_COUNTS = {"resnet50": 5, "resnet101": 22}
"""Identity blocks in stage 4 after its conv block (stage 4 is where the two ResNets differ)."""


def identity_block(input_tensor, kernel_size, filters, stage, block, use_bias=True, train_bn=True):
    """Bottleneck block whose shortcut is the identity.

    input_tensor: [batch, h, w, filters[2]] -> [batch, h, w, filters[2]].
    ``train_bn`` False freezes the block's BatchNorm layers (see :class:`BatchNorm`).
    """
    nb_filter1, nb_filter2, nb_filter3 = filters
    conv_name_base = f"res{stage}{block}_branch"
    bn_name_base = f"bn{stage}{block}_branch"
    frozen = train_bn is False

    x = KL.Conv2D(nb_filter1, (1, 1), name=conv_name_base + "2a", use_bias=use_bias)(input_tensor)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2a")(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(nb_filter2, (kernel_size, kernel_size), padding="same",
                  name=conv_name_base + "2b", use_bias=use_bias)(x)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2b")(x)
    x = KL.Activation("relu")(x)
    x = KL.Conv2D(nb_filter3, (1, 1), name=conv_name_base + "2c", use_bias=use_bias)(x)
    x = BatchNorm(frozen=frozen, name=bn_name_base + "2c")(x)
    x = KL.Add()([x, input_tensor])
    return KL.Activation("relu", name=f"res{stage}{block}_out")(x)


def conv_block(input_tensor, kernel_size, filters, stage, block, strides=(2, 2), use_bias=True,
               train_bn=True):
    """Bottleneck block with a projection shortcut; ``strides`` downsample both paths.

    input_tensor: [batch, h, w, c] -> [batch, h / s, w / s, filters[2]].
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
    shortcut = KL.Conv2D(nb_filter3, (1, 1), strides=strides, name=conv_name_base + "1",
                         use_bias=use_bias)(input_tensor)
    shortcut = BatchNorm(frozen=frozen, name=bn_name_base + "1")(shortcut)
    x = KL.Add()([x, shortcut])
    return KL.Activation("relu", name=f"res{stage}{block}_out")(x)


def resnet_graph(input_image, architecture, stage5=False, train_bn=True):
    """Build ResNet on ``input_image`` [batch, H, W, C]; returns [C1, C2, C3, C4, C5].

    architecture: "resnet50" or "resnet101". C5 is None unless ``stage5``.
    """
    if architecture not in BLOCK_COUNTS:
        raise ValueError(f"Unknown backbone {architecture!r}; expected one of "
                         f"{sorted(BLOCK_COUNTS)} or a callable (see Config.BACKBONE)")
    frozen = train_bn is False
    # Stage 1
    x = KL.ZeroPadding2D((3, 3))(input_image)
    x = KL.Conv2D(64, (7, 7), strides=(2, 2), name="conv1", use_bias=True)(x)
    x = BatchNorm(frozen=frozen, name="bn_conv1")(x)
    x = KL.Activation("relu")(x)
    C1 = x = KL.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)
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
