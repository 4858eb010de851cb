"""Batch normalization with Matterport's frozen-BN switch, and a fast TimeDistributed.

Matterport passes ``training=config.TRAIN_BN`` when it calls its BatchNorm layers. A Keras 3
functional model overrides a stored ``training`` argument with the phase it is run in, so the switch
lives in the layer instead: ``BatchNorm(frozen=True)`` always normalizes with its moving statistics
(and never updates them). ``frozen=False`` follows the phase (batch statistics while training).
"""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mrcnn")
class BatchNorm(keras.layers.BatchNormalization):
    """BatchNormalization that, when ``frozen``, runs in inference mode in every phase.

    Small batches (one or two images per GPU) make batch statistics useless, which is why
    Matterport's default ``TRAIN_BN = False`` freezes them.
    """

    def __init__(self, frozen=False, **kwargs):
        super().__init__(**kwargs)
        self.frozen = bool(frozen)

    def call(self, inputs, training=None, mask=None):
        if self.frozen:
            training = False
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        return {**super().get_config(), "frozen": self.frozen}


@keras.saving.register_keras_serializable(package="mrcnn")
class TimeDistributed(keras.layers.TimeDistributed):
    """Apply a layer to every ROI of [batch, rois, ...] by folding rois into the batch axis.

    Keras 3's TimeDistributed maps over the time axis; folding is one call of the inner layer, which
    is what Keras 2 did for Matterport's heads (and several times faster). The weights and the layer
    name stay those of the wrapper, so ``.h5`` files load by name as before.
    """

    def call(self, inputs, training=None, mask=None):
        shape = tf.shape(inputs)
        folded = tf.reshape(inputs, tf.concat([[-1], shape[2:]], axis=0))
        kwargs = {"training": training} if self._call_has_training_arg_of_inner() else {}
        outputs = self.layer(folded, **kwargs)
        static = inputs.shape[:2].concatenate(outputs.shape[1:])
        outputs = tf.reshape(outputs, tf.concat([shape[:2], tf.shape(outputs)[1:]], axis=0))
        outputs.set_shape(static)
        return outputs

    def _call_has_training_arg_of_inner(self):
        return getattr(self.layer, "_call_has_training_arg", False)
