"""A fast TimeDistributed: the heads' layers applied to every ROI at once.

Glossary: inputs are [batch, rois, ...], one row per ROI (pooled feature maps, then vectors);
the rows of padding ROIs (zero boxes) go through the inner layer like the others.
"""
import keras
import tensorflow as tf


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
