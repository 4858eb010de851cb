"""A training loop over ``strategy.run`` for multi-machine training.

Keras 3 ``fit()`` fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585), so
``train()`` uses this loop there. It runs the same ``train_step`` as ``fit()`` (the model's own,
see :mod:`mrcnn.training.train_model`), with public TensorFlow APIs only:

- each worker builds its input pipeline over its shard of the images
  (``distribute_datasets_from_function``; shard k of n takes image_ids[k::n]), batches of
  IMAGES_PER_GPU per replica;
- ``strategy.run(keras_model.train_step, ...)`` on every replica; gradients are all-reduced by the
  optimizer, the loss divided by the replica count;
- the Keras callbacks of ``train()`` are called as ``fit()`` would (epoch and batch hooks); only the
  chief is given the checkpoint and TensorBoard callbacks (the weights are in sync, so reading them
  needs no collective). Every worker counts epochs the same way, so a restarted worker that loads
  the last checkpoint (``train(..., resume=True)``) continues at the next epoch with the others;
- after each epoch, VALIDATION_STEPS batches of the validation set (sharded the same way) run the
  model's ``test_step``; their losses reach the epoch logs with ``val_`` names, as in ``fit()``.
The loss trackers (Keras Mean metrics) keep their totals and counts in on-read synchronized
variables, so a read sums them over every replica of every worker: all workers log the same
means (and read them together, as the collective needs).
"""
import keras
import numpy as np
import tensorflow as tf

from mrcnn.data.pipeline import DataSequence


def is_chief(strategy):
    """True on the worker that writes files: the "chief" task, or worker 0 when there is none."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_count(strategy):
    """How many workers (one input pipeline each) train under ``strategy``: 1 without a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, sum(len(spec.get(job, ())) for job in ("chief", "worker")))


def check_shards(dataset, name, workers):
    """A clear error when ``dataset`` has fewer images than there are workers.

    Each worker draws from its own shard, image_ids[k::workers]: an empty shard would fail on
    that worker alone and leave the others waiting in their first collective. Every worker runs
    this check, on the same numbers, before any collective, so all of them stop with the error.
    """
    images = len(dataset.image_ids)
    if images < workers:
        raise ValueError(
            f"{name} has {images} image{'s' if images != 1 else ''} but training runs on "
            f"{workers} workers, each on its own shard of the images (image_ids[k::{workers}]), "
            f"so a worker would get none. Give {name} at least {workers} images, or train on "
            f"fewer workers.")


def _input_fn(dataset, config, augmentation, no_augmentation_sources, seed, loader):
    """The per-worker tf.data pipeline builder for distribute_datasets_from_function."""
    seed = 0 if seed is None else int(seed)

    def dataset_fn(context):
        ids = np.asarray(dataset.image_ids)[context.input_pipeline_id::
                                           context.num_input_pipelines]
        sequence = DataSequence(
            dataset, config, shuffle=True, augmentation=augmentation,
            random_rois=0 if config.USE_RPN_ROIS else config.POST_NMS_ROIS_TRAINING,
            batch_size=config.IMAGES_PER_GPU, no_augmentation_sources=no_augmentation_sources,
            seed=seed + context.input_pipeline_id, image_ids=ids, **loader)
        # Each worker's batches may have their own shape (grouped by aspect ratio).
        return sequence.as_tf_dataset()

    return dataset_fn


def train_loop(model, train_dataset, epochs, callbacks=(), augmentation=None,
               no_augmentation_sources=None, seed=None, loader=None, verbose=1, val_dataset=None):
    """Train the compiled ``model.keras_model`` under ``model.strategy`` up to epoch ``epochs``.

    callbacks: Keras callbacks, called as fit() calls them (pass the chief-only ones only on the
    chief). val_dataset: validated on after each epoch when given and VALIDATION_STEPS > 0.
    loader: DataSequence's ``workers`` and ``use_multiprocessing`` (default: one thread).
    Returns a ``keras.callbacks.History``.
    """
    loader = dict(loader or {"workers": 1})
    strategy = model.strategy
    keras_model = model.keras_model
    config = model.config
    workers_count = worker_count(strategy)
    check_shards(train_dataset, "train_dataset", workers_count)
    if val_dataset is not None and config.VALIDATION_STEPS:
        check_shards(val_dataset, "val_dataset", workers_count)
    with strategy.scope():
        keras_model.optimizer.build(keras_model.trainable_variables)
    dataset = strategy.distribute_datasets_from_function(
        _input_fn(train_dataset, config, augmentation, no_augmentation_sources, seed, loader))
    iterator = iter(dataset)
    val_iterator = None
    if val_dataset is not None and config.VALIDATION_STEPS:
        val_iterator = iter(strategy.distribute_datasets_from_function(
            _input_fn(val_dataset, config, None, None, seed, loader)))

    @tf.function
    def step(iterator):
        strategy.run(keras_model.train_step, args=(next(iterator),))

    @tf.function
    def val_step(iterator):
        strategy.run(keras_model.test_step, args=(next(iterator),))

    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        list(callbacks) + [history], model=keras_model, verbose=verbose, epochs=epochs,
        steps=config.STEPS_PER_EPOCH)
    show = verbose and is_chief(strategy)
    keras_model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(model.epoch, epochs):
        for tracker in keras_model.metrics:
            tracker.reset_state()
        callback_list.on_epoch_begin(epoch)
        progbar = keras.utils.Progbar(config.STEPS_PER_EPOCH, verbose=1 if show else 0)
        if show:
            print(f"Epoch {epoch + 1}/{epochs}")
        for index in range(config.STEPS_PER_EPOCH):
            callback_list.on_train_batch_begin(index)
            step(iterator)
            logs = {t.name: float(t.result()) for t in keras_model.metrics}
            callback_list.on_train_batch_end(index, logs)
            progbar.update(index + 1, list(logs.items()))
        if val_iterator is not None:
            for tracker in keras_model.metrics:
                tracker.reset_state()
            for _ in range(config.VALIDATION_STEPS):
                val_step(val_iterator)
            val_logs = {"val_" + t.name: float(t.result()) for t in keras_model.metrics}
            logs = {**logs, **val_logs}
            if show:
                print("  ".join(f"{name}: {value:.4f}" for name, value in val_logs.items()))
        callback_list.on_epoch_end(epoch, logs)
        model.epoch = epoch + 1
        if keras_model.stop_training:
            break
    callback_list.on_train_end()
    return history
