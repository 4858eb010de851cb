"""A tiny Config for unit tests (importable as ``from tiny import tiny_config``)."""


def tiny_config(**overrides):
    """A Config small enough for unit tests: 64 px images, few ROIs, narrow heads."""
    from mrcnn.config import Config

    class TinyConfig(Config):
        NAME = "tiny"
        BACKBONE = "resnet50"
        NUM_CLASSES = 1 + 3
        GPU_COUNT = 1
        IMAGES_PER_GPU = 2
        IMAGE_MIN_DIM = 64
        IMAGE_MAX_DIM = 64
        RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)
        TOP_DOWN_PYRAMID_SIZE = 32
        FPN_CLASSIF_FC_LAYERS_SIZE = 32
        PRE_NMS_LIMIT = 200
        POST_NMS_ROIS_TRAINING = 40
        POST_NMS_ROIS_INFERENCE = 20
        RPN_TRAIN_ANCHORS_PER_IMAGE = 32
        TRAIN_ROIS_PER_IMAGE = 8
        MAX_GT_INSTANCES = 5
        DETECTION_MAX_INSTANCES = 6
        DETECTION_MIN_CONFIDENCE = 0.0
        MINI_MASK_SHAPE = (28, 28)
        STEPS_PER_EPOCH = 2
        VALIDATION_STEPS = 1

    for key, value in overrides.items():
        setattr(TinyConfig, key, value)
    return TinyConfig()
