"""Mixed precision for the graph: the Keras dtype policy while a model is built.

``Config.MIXED_PRECISION`` ("mixed_float16" or "mixed_bfloat16") makes the convolutions compute in
16 bits with float32 weights. The layers whose arithmetic needs float32 — anchors, proposals,
ROI Align's sampling, detection targets, detections, the softmax/sigmoid outputs and the losses —
are built with ``dtype="float32"`` (:mod:`mrcnn.graph.build`, :mod:`mrcnn.graph.heads`), so Keras
casts their inputs to float32.
Keras wraps the optimizer in a ``LossScaleOptimizer`` for mixed_float16 when the model compiles.
"""
import contextlib

import keras

FLOAT32 = "float32"
"""The dtype of the layers that always compute in float32."""


@contextlib.contextmanager
def dtype_policy(name):
    """Use the Keras dtype policy ``name`` (None: leave it) for the layers built inside.

    The policy is global in Keras; it is restored on exit so models built later are unaffected.
    """
    if not name:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
