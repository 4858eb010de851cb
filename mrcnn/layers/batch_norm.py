"""Batch normalization with Matterport's frozen-BN switch.

Matterport passes ``training=config.TRAIN_BN`` when it calls its BatchNorm layers. A Keras 3
functional model overrides a stored ``training`` argument with the phase it is run in, so the switch
lives in the layer instead: ``BatchNorm(frozen=True)`` always normalizes with its moving statistics
(and never updates them). ``frozen=False`` follows the phase (batch statistics while training).

Glossary: inputs are feature maps [batch, h, w, channels] (or [batch * rois, h, w, channels]
inside :class:`mrcnn.layers.time_distributed.TimeDistributed`), normalized per channel; no boxes
and no padding rows of their own (the heads' zero ROIs are normalized like any other).
"""
import keras


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
