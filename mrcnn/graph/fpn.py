"""Feature Pyramid Network top-down path: C2..C5 -> P2..P6 with Matterport's layer names.

Each P level has TOP_DOWN_PYRAMID_SIZE channels; P(k) has stride 2**k. P6 is a stride-2 subsample
of P5 used by the RPN only. Image sides must be multiples of 64 so the upsampled maps line up.
"""
from keras import layers as KL


def fpn_graph(C2, C3, C4, C5, pyramid_size):
    """Returns [P2, P3, P4, P5, P6], each [batch, h_k, w_k, pyramid_size]."""
    P5 = KL.Conv2D(pyramid_size, (1, 1), name="fpn_c5p5")(C5)
    P4 = KL.Add(name="fpn_p4add")([
        KL.UpSampling2D(size=(2, 2), name="fpn_p5upsampled")(P5),
        KL.Conv2D(pyramid_size, (1, 1), name="fpn_c4p4")(C4)])
    P3 = KL.Add(name="fpn_p3add")([
        KL.UpSampling2D(size=(2, 2), name="fpn_p4upsampled")(P4),
        KL.Conv2D(pyramid_size, (1, 1), name="fpn_c3p3")(C3)])
    P2 = KL.Add(name="fpn_p2add")([
        KL.UpSampling2D(size=(2, 2), name="fpn_p3upsampled")(P3),
        KL.Conv2D(pyramid_size, (1, 1), name="fpn_c2p2")(C2)])
    # 3x3 convs on every level smooth the upsampling.
    P2 = KL.Conv2D(pyramid_size, (3, 3), padding="same", name="fpn_p2")(P2)
    P3 = KL.Conv2D(pyramid_size, (3, 3), padding="same", name="fpn_p3")(P3)
    P4 = KL.Conv2D(pyramid_size, (3, 3), padding="same", name="fpn_p4")(P4)
    P5 = KL.Conv2D(pyramid_size, (3, 3), padding="same", name="fpn_p5")(P5)
    P6 = KL.MaxPooling2D(pool_size=(1, 1), strides=2, name="fpn_p6")(P5)
    return [P2, P3, P4, P5, P6]
