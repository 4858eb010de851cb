"""The training model: Mask R-CNN's functional training graph with its own train and test steps.

Keras 3 has no ``Model.add_loss(tensor)`` for functional models, so the graph outputs the five
losses (float32 scalars, see :mod:`mrcnn.layers.losses`) and this class sums them (DESIGN §4):

    total = sum(LOSS_WEIGHTS[name] * loss[name]) + WEIGHT_DECAY * sum(mean(w ** 2))

where the L2 term runs over trainable kernels and biases, not BatchNorm gamma/beta, each weight's
sum of squares divided by its size (Matterport's formula). Under a ``tf.distribute`` strategy the
per-replica total is divided by the number of replicas, because the replicas' gradients are summed.
"""
import keras
import tensorflow as tf

from mrcnn.layers.losses import LOSS_FUNCTIONS

LOSS_NAMES = tuple(LOSS_FUNCTIONS)


@keras.saving.register_keras_serializable(package="mrcnn")
class MaskRCNNTrainModel(keras.Model):
    """Functional Mask R-CNN training graph with ``train_step`` / ``test_step`` for ``fit()``.

    loss_weights: {loss name: weight} (Config.LOSS_WEIGHTS); weight_decay: Config.WEIGHT_DECAY.
    ``metrics`` holds one running mean per loss plus ``loss`` (the weighted total), so the progress
    bar and TensorBoard show Matterport's names (``val_`` prefixed for validation).
    """

    def __init__(self, *args, loss_weights=None, weight_decay=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.mrcnn_loss_weights = {name: float((loss_weights or {}).get(name, 1.0))
                             for name in LOSS_NAMES}
        self.weight_decay = float(weight_decay)
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
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(
            [(g, v) for g, v in zip(gradients, variables) if g is not None])
        return self._update_metrics(losses, total)

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
        config.update(loss_weights=self.mrcnn_loss_weights, weight_decay=self.weight_decay)
        return config
