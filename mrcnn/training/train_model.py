"""The training model: Mask R-CNN's functional training graph with its own train and test steps.

Keras 3 has no ``Model.add_loss(tensor)`` for functional models, so the graph outputs the five
losses (float32 scalars, see :mod:`mrcnn.layers.losses`) and this class sums them (DESIGN §4):

    total = sum(LOSS_WEIGHTS[name] * loss[name]) + WEIGHT_DECAY * sum(mean(w ** 2))

where the L2 term runs over trainable kernels and biases, not BatchNorm gamma/beta, each weight's
sum of squares divided by its size (Matterport's formula).

Gradients are clipped here, each to the norm ``gradient_clip_norm`` (Matterport's per-variable
``clipnorm``), and not by the optimizer: Keras clips each replica's part of the gradient before
summing the replicas, which under ``tf.distribute`` would clip something else than the gradient.
So with R replicas the step divides its loss by R, sums the replicas' gradients itself (giving
the gradient of the batch mean), clips that, and gives the optimizer 1/R of it, which the
optimizer's own sum over the replicas turns back into the clipped gradient. With one replica this
is plain clipping. Under ``mixed_float16`` the gradients are still multiplied by the loss scale at
that point, so the threshold is too.
"""
import keras
import tensorflow as tf

from mrcnn.core.contracts import LOSS_NAMES


@keras.saving.register_keras_serializable(package="mrcnn")
class MaskRCNNTrainModel(keras.Model):
    """Functional Mask R-CNN training graph with ``train_step`` / ``test_step`` for ``fit()``.

    loss_weights: {loss name: weight} (Config.LOSS_WEIGHTS); weight_decay: Config.WEIGHT_DECAY;
    gradient_clip_norm: Config.GRADIENT_CLIP_NORM (None: no clipping).
    ``metrics`` holds one running mean per loss plus ``loss`` (the weighted total), so the progress
    bar and TensorBoard show Matterport's names (``val_`` prefixed for validation).
    """

    def __init__(self, *args, loss_weights=None, weight_decay=0.0, gradient_clip_norm=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.mrcnn_loss_weights = {name: float((loss_weights or {}).get(name, 1.0))
                                   for name in LOSS_NAMES}
        self.weight_decay = float(weight_decay)
        self.gradient_clip_norm = float(gradient_clip_norm) if gradient_clip_norm else None
        self.loss_trackers = {name: keras.metrics.Mean(name=name)
                              for name in ("loss",) + LOSS_NAMES}

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def _compute_losses(self, data, training):
        inputs = data[0] if isinstance(data, tuple) else data
        outputs = self(inputs, training=training)
        losses = dict(zip(LOSS_NAMES, outputs[-len(LOSS_NAMES):]))
        total = tf.add_n([tf.cast(losses[name], tf.float32) * self.mrcnn_loss_weights[name]
                          for name in LOSS_NAMES])
        return losses, total

    def l2_loss(self):
        """Matterport's weight decay over trainable weights, BatchNorm gamma/beta excluded."""
        terms = [tf.reduce_mean(tf.square(tf.cast(v, tf.float32)))
                 for v in self.trainable_weights if v.name not in ("gamma", "beta")]
        if not terms or not self.weight_decay:
            return tf.constant(0.0)
        return self.weight_decay * tf.add_n(terms)

    def train_step(self, data):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            losses, total = self._compute_losses(data, training=True)
            total = total + self.l2_loss()
            scaled = total / tf.cast(replicas, tf.float32)
            if hasattr(self.optimizer, "scale_loss"):
                scaled = self.optimizer.scale_loss(scaled)   # float16 loss scaling
        pairs = [(g, v) for g, v in zip(tape.gradient(scaled, variables), variables)
                 if g is not None]
        gradients = self._summed_and_clipped([g for g, _ in pairs], replicas)
        self.optimizer.apply_gradients(zip(gradients, [v for _, v in pairs]))
        return self._update_metrics(losses, total)

    def _summed_and_clipped(self, gradients, replicas):
        """The clipped gradient of the global batch, divided by ``replicas`` (see the module)."""
        if replicas > 1:
            gradients = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, gradients)
        if self.gradient_clip_norm:
            threshold = self.gradient_clip_norm
            if hasattr(self.optimizer, "dynamic_scale"):          # LossScaleOptimizer
                threshold = threshold * tf.cast(self.optimizer.dynamic_scale, tf.float32)
            gradients = [tf.clip_by_norm(g, tf.cast(threshold, g.dtype)) for g in gradients]
        if replicas > 1:
            gradients = [g / tf.cast(replicas, g.dtype) for g in gradients]
        return gradients

    def test_step(self, data):
        losses, total = self._compute_losses(data, training=False)
        return self._update_metrics(losses, total + self.l2_loss())

    def _update_metrics(self, losses, total):
        self.loss_trackers["loss"].update_state(total)
        for name in LOSS_NAMES:
            self.loss_trackers[name].update_state(losses[name])
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    def get_config(self):
        config = super().get_config()
        config.update(loss_weights=self.mrcnn_loss_weights, weight_decay=self.weight_decay,
                      gradient_clip_norm=self.gradient_clip_norm)
        return config
