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


def tiny_config_file(path, **overrides):
    """Write tiny_config(**overrides) as a YAML config file for the command line's --config
    (its own attributes without NAME and NUM_CLASSES, which the command line sets); returns
    path."""
    import yaml
    config = tiny_config(**overrides)
    own = {k: v for k, v in config.to_dict().items()
           if k.isupper() and k not in ("NAME", "NUM_CLASSES") and hasattr(type(config), k)}
    path.write_text(yaml.safe_dump(own))
    return path


def array_dataset_class():
    """The in-memory Dataset of the tests: images, masks and class ids held in image_info
    ("image", "mask", "class_ids"), added with ``add_array``."""
    global _ArrayDataset
    if _ArrayDataset is None:
        from mrcnn.datasets.base import Dataset

        class ArrayDataset(Dataset):
            def add_array(self, image, mask, class_ids, source="toy"):
                self.add_image(source, image_id=len(self.image_info), path=None,
                               image=image, mask=mask, class_ids=class_ids)

            def load_image(self, image_id):
                return self.image_info[image_id]["image"]

            def load_mask(self, image_id):
                info = self.image_info[image_id]
                return info["mask"], info["class_ids"]

            def image_reference(self, image_id):
                return "{}://{}".format(self.image_info[image_id]["source"], image_id)

        _ArrayDataset = ArrayDataset
    return _ArrayDataset


_ArrayDataset = None


def rectangles_dataset(count=4, size=64, empty_ids=(), seed=0):
    """A prepared in-memory Dataset (array_dataset_class) of bright rectangles (classes 1..3)
    on a dark background.

    Images listed in ``empty_ids`` have no instances.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    dataset = array_dataset_class()()
    for class_id, name in enumerate(["a", "b", "c"], start=1):
        dataset.add_class("rect", class_id, name)
    for i in range(count):
        image = np.full((size, size, 3), 20, np.uint8)
        n = 0 if i in empty_ids else int(rng.integers(1, 3))
        mask = np.zeros((size, size, n), bool)
        class_ids = rng.integers(1, 4, n).astype(np.int32)
        for k in range(n):
            y, x = rng.integers(4, size // 2, 2)
            h, w = rng.integers(12, size // 2, 2)
            mask[y:y + h, x:x + w, k] = True
            image[mask[..., k]] = 60 * class_ids[k] + 40
        dataset.add_array(image, mask, class_ids, source="rect")
    dataset.prepare()
    return dataset


def call_main(module, argv):
    """(exit code, stdout) of ``module.main(argv)``: a sample script or the CLI run in-process."""
    import contextlib
    import io

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = module.main(argv)
    return code, output.getvalue()


def mrcnn_process(*argv, timeout=300, **env):
    """(exit code, stdout, stderr) of ``python -m mrcnn argv`` in a fresh process, run as a user
    runs it: without the test session's TF_CPP_MIN_LOG_LEVEL (the command line then silences
    TensorFlow's own lines), plus the variables ``env``."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environ.update(env)
    done = subprocess.run([sys.executable, "-m", "mrcnn", *argv], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr
