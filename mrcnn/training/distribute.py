"""Devices: which ``tf.distribute`` strategy a model trains under.

``GPU_COUNT > 1`` means one machine with several GPUs: ``MirroredStrategy`` over the first
GPU_COUNT GPUs, each replica taking IMAGES_PER_GPU images of the BATCH_SIZE = IMAGES_PER_GPU *
GPU_COUNT batch. The replicas' gradients are summed, which is why the training step divides its
loss by ``num_replicas_in_sync`` (:mod:`mrcnn.training.train_model`). An explicit strategy (for
example over logical CPU devices, or ``MultiWorkerMirroredStrategy``) can be passed instead.
"""
import tensorflow as tf


def resolve_strategy(config, strategy=None):
    """The strategy to build and train under.

    ``strategy`` wins when given. Otherwise ``config.GPU_COUNT > 1`` gives a MirroredStrategy over
    that many GPUs (a clear error when fewer are present), and 1 the default (no-op) strategy.
    """
    if strategy is not None:
        return strategy
    count = int(config.GPU_COUNT)
    if count <= 1:
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) < count:
        found = ", ".join(d.name for d in gpus) or "none"
        raise ValueError(
            f"GPU_COUNT is {count} but {len(gpus)} GPU(s) were found ({found}). Set GPU_COUNT to "
            f"at most {max(1, len(gpus))} (and IMAGES_PER_GPU for the batch you want), or pass "
            f"strategy= to MaskRCNN.")
    return tf.distribute.MirroredStrategy([d.name for d in gpus[:count]])


def replica_count(strategy):
    """How many replicas train in sync under ``strategy``."""
    return int(strategy.num_replicas_in_sync)
