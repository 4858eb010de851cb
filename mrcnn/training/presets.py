"""Which layers train: Matterport's ``layers=`` presets and ``set_trainable``.

Layer names are API (see :mod:`mrcnn.graph.build`): the presets are regular expressions over them.
"""
import re

import keras

LAYER_REGEX = {
    # The heads: RPN, classifier and mask heads, and the FPN.
    "heads": r"(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)",
    # From a ResNet stage and up.
    "3+": r"(res3.*)|(bn3.*)|(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)",
    "4+": r"(res4.*)|(bn4.*)|(res5.*)|(bn5.*)|(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)",
    "5+": r"(res5.*)|(bn5.*)|(mrcnn\_.*)|(rpn\_.*)|(fpn\_.*)",
    # Everything.
    "all": ".*",
}
"""``train(layers=...)`` presets (Matterport's regexes); any other string is used as a regex."""


def layer_regex(layers):
    """The regex of a preset name, or ``layers`` itself (checked to compile)."""
    regex = LAYER_REGEX.get(layers, layers)
    try:
        re.compile(regex)
    except (re.error, TypeError) as e:
        raise ValueError(f"layers={layers!r} is neither a preset ({', '.join(LAYER_REGEX)}) "
                         f"nor a valid regular expression: {e}") from None
    return regex


def _is_nested_model(layer):
    return isinstance(layer, keras.Model)


def set_trainable(keras_model, regex, train_bn=False, verbose=0, indent=0):
    """Make the layers whose names fully match ``regex`` trainable, and the others frozen.

    Nested models (``rpn_model``) are entered, and each sublayer matched by its own name;
    TimeDistributed wrappers and their inner layer follow the wrapper's name. BatchNormalization
    layers stay frozen when ``train_bn`` is False (Matterport's default ``TRAIN_BN``).
    Returns the names of the layers left trainable.
    """
    trained = []
    for layer in keras_model.layers:
        if _is_nested_model(layer):
            if verbose:
                print(" " * indent + "In model: ", layer.name)
            inner = set_trainable(layer, regex, train_bn, verbose, indent + 4)
            layer.trainable = True   # let the sublayers' own flags decide
            for sub in layer.layers:
                if sub.weights and sub.name not in inner:
                    sub.trainable = False
            trained.extend(inner)
            continue
        if not layer.weights:
            continue
        inner = getattr(layer, "layer", layer)   # a TimeDistributed wrapper's layer
        trainable = bool(re.fullmatch(regex, layer.name))
        if isinstance(inner, keras.layers.BatchNormalization) and train_bn is False:
            trainable = False
        inner.trainable = trainable
        layer.trainable = trainable
        if trainable:
            trained.append(layer.name)
            if verbose:
                print("{}{:20}   ({})".format(" " * indent, layer.name, inner.__class__.__name__))
    return trained
