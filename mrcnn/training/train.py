"""``MaskRCNN.train``: Matterport's training entry point on Keras 3 ``fit()``.

Epochs are cumulative as in Matterport: ``train(..., epochs=40)`` after a model at epoch 20 runs
epochs 21..40. Checkpoints go to ``model.log_dir`` as ``mask_rcnn_<name>_<epoch:04d>.h5``, each
storing the config and the training set's class names (:func:`mrcnn.weights.weights_metadata`);
the folder gets the config as ``config.yaml`` when training starts.
"""
import logging
import os

import keras
import tensorflow as tf

from mrcnn.config import check_dataset_classes
from mrcnn.data.pipeline import DataSequence
from mrcnn.training.callbacks import CheckpointCallback, StopOnNaN
from mrcnn.training.loop import is_chief, train_loop
from mrcnn.training.presets import layer_regex, set_trainable
from mrcnn.training.progress import ProgressLog, stdout_is_terminal
from mrcnn.weights import weights_metadata

logger = logging.getLogger("mrcnn")


def data_loader(workers=None, use_multiprocessing=None):
    """The training feed's loaders: ``{"workers": N, "use_multiprocessing": bool}`` for
    :class:`~mrcnn.data.pipeline.DataSequence`.

    use_multiprocessing None: processes when a GPU is visible and the platform can fork them
    (Linux), else threads. A GPU step takes tens of milliseconds, so the input pipeline sets
    the pace, and the part of its work that holds the GIL keeps threads from scaling with the
    cores (benchmarks/pipeline.py: 1 -> 2 loaders gave 1.24x with threads, 1.75x with
    processes, on 2 cores). A CPU step takes seconds and needs the cores itself: a few threads
    keep it fed.
    workers None: with processes one per core but one (the training loop's), at most 16; with
    threads at most 4.
    """
    from mrcnn.data.pipeline import FORK_CONTEXT
    if use_multiprocessing is None:
        use_multiprocessing = bool(tf.config.list_physical_devices("GPU"))
    use_multiprocessing = bool(use_multiprocessing) and FORK_CONTEXT is not None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else (os.cpu_count() or 1)
    if workers is None:
        workers = min(16, cores - 1) if use_multiprocessing else min(4, cores)
    return {"workers": max(1, int(workers)), "use_multiprocessing": use_multiprocessing}


def save_run_config(model):
    """Write ``model.config`` to ``<log_dir>/config.yaml`` (Config.save) when training starts;
    a config holding a value that cannot be written as data is skipped with a warning."""
    from mrcnn.config import ConfigError
    path = os.path.join(model.log_dir, "config.yaml")
    try:
        model.config.save(path)
    except ConfigError as e:
        logger.warning("%s not written: %s", path, e)


def make_optimizer(learning_rate, momentum):
    """Matterport's SGD with momentum. (Its ``clipnorm``, GRADIENT_CLIP_NORM, is applied by the
    training step, correctly under tf.distribute: see :mod:`mrcnn.training.train_model`.)"""
    return keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)


def train(model, train_dataset, val_dataset, learning_rate, epochs, layers, augmentation=None,
          custom_callbacks=None, no_augmentation_sources=None, workers=None, seed=None,
          optimizer=None, resume=False, verbose=1, use_multiprocessing=None):
    """Train ``model`` (a training-mode :class:`~mrcnn.maskrcnn.MaskRCNN`) up to epoch ``epochs``.

    layers: a preset of :data:`~mrcnn.training.presets.LAYER_REGEX` ("heads", "3+", "4+", "5+",
        "all") or a regex of layer names.
    augmentation: an imgaug augmenter, an albumentations Compose, or a callable
        ``(image, masks) -> (image, masks)``; no_augmentation_sources: sources never augmented.
    custom_callbacks: extra Keras callbacks. workers, use_multiprocessing: how many threads or
        (forked) processes build batches ahead; None lets :func:`data_loader` choose:
        processes on a GPU host, threads on a CPU. The batches are the same either way.
    seed: makes the data order and augmentation reproducible.
    optimizer: None for Matterport's SGD (``learning_rate``, LEARNING_MOMENTUM), or a Keras
        optimizer instance, used as given. Gradients are clipped to GRADIENT_CLIP_NORM by the
        training step either way.
    resume: first load the last checkpoint of this config's NAME under model_dir, if there is
        one (``find_last``), and continue from its epoch (how a restarted worker rejoins).
    Under ``MultiWorkerMirroredStrategy`` training runs in :func:`mrcnn.training.loop.train_loop`
    (Keras 3 fit() fails there), validating as fit() does; only the chief writes checkpoints and
    logs.
    verbose: 0 is silent. Otherwise a terminal shows Keras' progress bar; output to a file or a
    pipe gets plain lines instead (:class:`~mrcnn.training.progress.ProgressLog`, every
    LOG_EVERY_STEPS steps and per epoch). The chief keeps KEEP_CHECKPOINTS checkpoints and the
    best (:mod:`mrcnn.training.housekeeping`); TensorBoard gets the losses after every step.
    Returns the Keras ``History``.
    """
    if model.mode != "training":
        raise RuntimeError("train() needs a model built with mode='training', "
                           f"this one is {model.mode!r}")
    config = model.config
    regex = layer_regex(layers)
    for name, dataset in (("train_dataset", train_dataset), ("val_dataset", val_dataset)):
        if dataset is not None and not len(getattr(dataset, "image_ids", [])):
            raise ValueError(f"{name} has no images (did you call {name}.prepare()?)")
        if dataset is not None:
            check_dataset_classes(config, dataset, name)    # before any graph work
    loader = data_loader(workers, use_multiprocessing)
    if resume:
        try:
            model.load_weights(model.find_last(), by_name=True)
        except FileNotFoundError:
            pass                                    # nothing to resume: start afresh
    if model.epoch >= epochs:
        logger.warning("Model is at epoch %d already; train(epochs=%d) has nothing to do "
                       "(epochs is the cumulative target, as in Matterport).", model.epoch, epochs)
        return None
    multi_worker = isinstance(model.strategy, tf.distribute.MultiWorkerMirroredStrategy)
    chief = is_chief(model.strategy)

    if verbose:
        print(f"\nStarting at epoch {model.epoch}. LR={learning_rate}\n")
        print(f"Checkpoint Path: {model.checkpoint_path}")
    trained = set_trainable(model.keras_model, regex, train_bn=config.TRAIN_BN,
                            verbose=1 if verbose > 1 else 0)
    if not trained:
        raise ValueError(f"layers={layers!r} matches no layer with weights")
    with model.strategy.scope():
        if optimizer is None:
            optimizer = make_optimizer(learning_rate, config.LEARNING_MOMENTUM)
        # JIT_COMPILE: XLA compiles the training step (the graph was built from the layers'
        # static-shape routes; the default routes use ops XLA cannot compile, such as
        # CropAndResize and tf.random.shuffle). mixed_float16 gets Keras' LossScaleOptimizer
        # (auto_scale_loss), which the training step uses.
        model.keras_model.compile(optimizer=optimizer, jit_compile=bool(config.JIT_COMPILE))

    # Custom callbacks first, so what they add to the epoch logs (e.g. val_mAP50) reaches
    # TensorBoard and the checkpoint callback sees their stop_training.
    callbacks = list(custom_callbacks or []) + [StopOnNaN()]
    # Output to a file: plain lines instead of Keras' progress bar, which redraws itself.
    plain_log = bool(verbose) and not stdout_is_terminal()
    if chief:
        os.makedirs(model.log_dir, exist_ok=True)
        save_run_config(model)
        metadata = weights_metadata(config, getattr(train_dataset, "class_names", None))
        callbacks += [
            keras.callbacks.TensorBoard(log_dir=model.log_dir, histogram_freq=0,
                                        write_graph=False, update_freq=1),
            CheckpointCallback(model.checkpoint_path, keep=config.KEEP_CHECKPOINTS,
                               metadata=metadata),
        ]
        if plain_log:
            callbacks.append(ProgressLog(config.LOG_EVERY_STEPS))
    fit_verbose = 0 if plain_log else verbose

    if multi_worker:
        return train_loop(model, train_dataset, epochs, callbacks=callbacks,
                          augmentation=augmentation,
                          no_augmentation_sources=no_augmentation_sources, seed=seed,
                          loader=loader, verbose=fit_verbose, val_dataset=val_dataset)
    random_rois = 0 if config.USE_RPN_ROIS else config.POST_NMS_ROIS_TRAINING
    train_data = DataSequence(
        train_dataset, config, shuffle=True, augmentation=augmentation, random_rois=random_rois,
        batch_size=config.BATCH_SIZE, no_augmentation_sources=no_augmentation_sources,
        seed=seed, steps=config.STEPS_PER_EPOCH, **loader)
    val_data = None
    if val_dataset is not None and config.VALIDATION_STEPS:
        val_data = DataSequence(
            val_dataset, config, shuffle=True, random_rois=random_rois,
            batch_size=config.BATCH_SIZE, seed=seed, steps=config.VALIDATION_STEPS, **loader)

    if verbose and len(train_data.batch_shapes) > 1:
        print("Training on {} batch shapes (height x width): {}".format(
            len(train_data.batch_shapes),
            ", ".join("{}x{}".format(*shape) for shape in train_data.batch_shapes)))
    # tf.data datasets whose signature takes every batch shape (fit()'s own PyDataset adapter
    # fixes the shapes of the first batches it sees).
    history = model.keras_model.fit(
        train_data.as_tf_dataset(), initial_epoch=model.epoch, epochs=epochs,
        steps_per_epoch=config.STEPS_PER_EPOCH,
        validation_data=val_data.as_tf_dataset() if val_data is not None else None,
        validation_steps=config.VALIDATION_STEPS if val_data is not None else None,
        callbacks=callbacks, verbose=fit_verbose, shuffle=False)  # the batches come shuffled
    # A callback may stop early: the epoch reached is the last one run, not the target.
    if history.epoch:
        model.epoch = history.epoch[-1] + 1
    return history
