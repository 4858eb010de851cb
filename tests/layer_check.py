"""One check for every Keras layer of mrcnn (importable as ``from layer_check import check_layer``).

``check_layer(layer, inputs, expected_shapes)`` runs ``layer`` on ``inputs`` (numpy arrays, a
batch of images whose contents differ) and checks, against the eager outputs:

* shapes: the eager outputs have ``expected_shapes``; ``compute_output_shape`` (where the layer
  defines one) and a call on ``keras.Input``s of unknown batch size give shapes compatible with
  them (None matching any size);
* unknown batch size: the layer inside a ``tf.function`` whose ``input_signature`` leaves the batch
  axis None (or every axis but the last, ``dynamic_shape=True``) gives the eager values, for the
  whole batch and, where images are independent (``rows_independent``), for its first image
  alone through the same trace;
* config: ``get_config()`` is JSON, small (no arrays: under ``MAX_CONFIG_CHARS``) and survives
  ``type(layer).from_config``: the rebuilt layer has the same config and the same settings (its
  public plain attributes, so that a setting get_config forgets shows) and, given the layer's
  state (``set_weights`` for weights, ``save_own_variables`` / ``load_own_variables`` for other
  state), gives the same outputs;
* registration: ``keras.saving.serialize_keras_object`` names the class under "mrcnn>" and
  ``deserialize_keras_object`` gives the class back with the same config;
* whole-model save: a functional model of the layer alone, saved with ``model.save("*.keras")``
  and reloaded by ``keras.saving.load_model`` (safe mode), gives the same outputs.

Layers with randomness (DetectionTargetLayer shuffles its samples) pass ``normalize``: a function
of the list of outputs that removes what the randomness changes (the order of sampled rows), so the
comparisons run on the normalized values. Layers with weights get random ones first (uniform in
0.5..1.5, so BatchNorm's moving variance stays positive) so that copied state is visible.
"""
import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

MAX_CONFIG_CHARS = 2000
"""The most JSON characters a layer's config may take: settings, never arrays."""


def _as_list(values):
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _numpy(outputs):
    return [np.asarray(keras.ops.convert_to_numpy(o)) for o in _as_list(outputs)]


def _shape_compatible(declared, actual):
    declared = tuple(declared)
    return len(declared) == len(actual) and all(
        d is None or d == a for d, a in zip(declared, actual))


def _assert_same(expected, actual, what, normalize, rtol, atol):
    expected = normalize(expected)
    actual = normalize(actual)
    assert len(expected) == len(actual), f"{what}: {len(actual)} outputs, {len(expected)} expected"
    for i, (e, a) in enumerate(zip(expected, actual)):
        assert e.shape == a.shape, f"{what}, output {i}: shape {a.shape}, expected {e.shape}"
        assert e.dtype == a.dtype, f"{what}, output {i}: dtype {a.dtype}, expected {e.dtype}"
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"{what}, output {i}")


def _randomize_weights(layer, seed):
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype(variable.dtype))


def _copy_state(source, target, tensors):
    """Give ``target`` (made from ``source``'s config) ``source``'s weights and other state."""
    if source.weights:
        target(tensors)                      # build it, then copy the weights
        target.set_weights(source.get_weights())
    else:
        store = {}
        source.save_own_variables(store)
        target.load_own_variables(store)


def _settings(layer):
    """The layer's public attributes that are plain values (its constructor's settings)."""
    plain = (bool, int, float, str, tuple, list, np.ndarray, type(None))
    return {key: value for key, value in vars(layer).items()
            if not key.startswith("_") and isinstance(value, plain)}


def _assert_same_settings(layer, clone):
    """A setting that get_config forgets comes back as its default: compare them all."""
    settings, again = _settings(layer), _settings(clone)
    assert settings.keys() == again.keys(), "settings of the layer made from its config"
    for key, value in settings.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(again[key], value, err_msg=f"setting {key!r}")
        else:
            assert again[key] == value, f"setting {key!r}: {again[key]!r}, expected {value!r}"


def check_layer(layer, inputs, expected_shapes, *, normalize=None, rows_independent=True,
                dynamic_shape=False, rtol=1e-5, atol=1e-6, seed=0):
    """Run the checks of the module docstring on ``layer``; return its eager outputs (a list of
    numpy arrays) for the caller's own value checks.

    inputs: a numpy array, or a list of them for a layer called on a list; axis 0 is the batch.
    expected_shapes: the output's shape, or a list of shapes for a layer with several outputs.
    normalize: list of numpy outputs -> list of arrays to compare (default: as they are).
    rows_independent: each image's outputs depend on that image alone (False for a loss over the
        batch, for instance), so the first image alone gives the first rows of the outputs.
    dynamic_shape: the tf.function's signature leaves every axis but the last unknown, not just
        the batch axis.
    """
    normalize = normalize or (lambda outputs: outputs)
    listed = isinstance(inputs, (list, tuple))
    arrays = [np.asarray(x) for x in _as_list(inputs)]
    assert all(x.shape[0] == arrays[0].shape[0] for x in arrays)

    def call_form(values):
        return list(values) if listed else values[0]

    tensors = call_form([tf.constant(x) for x in arrays])

    # Eager, with random weights where it has weights.
    layer(tensors)
    if layer.weights:
        _randomize_weights(layer, seed)
    eager = _numpy(layer(tensors))
    multiple = isinstance(expected_shapes, list)
    expected_shapes = [tuple(s) for s in (expected_shapes if multiple else [expected_shapes])]
    assert [o.shape for o in eager] == expected_shapes, "eager output shapes"

    # Declared shapes: compute_output_shape and a symbolic call, batch size unknown.
    input_shapes = [(None,) + x.shape[1:] for x in arrays]
    if type(layer).compute_output_shape is not keras.layers.Layer.compute_output_shape:
        declared = layer.compute_output_shape(call_form(input_shapes))
        declared = list(declared) if multiple else [declared]
        assert len(declared) == len(eager), "compute_output_shape: number of outputs"
        for d, o in zip(declared, eager):
            assert _shape_compatible(d, o.shape), f"compute_output_shape {d} vs eager {o.shape}"
    symbolic_inputs = [keras.Input(batch_shape=s, dtype=x.dtype.name)
                       for s, x in zip(input_shapes, arrays)]
    symbolic_outputs = layer(call_form(symbolic_inputs))
    assert len(_as_list(symbolic_outputs)) == len(eager), "symbolic call: number of outputs"
    for s, o in zip(_as_list(symbolic_outputs), eager):
        assert _shape_compatible(s.shape, o.shape), f"symbolic shape {s.shape} vs eager {o.shape}"

    # tf.function with an unknown batch size (and, if asked, unknown other axes).
    def unknown(x):
        if dynamic_shape and x.ndim > 1:
            return [None] * (x.ndim - 1) + [x.shape[-1]]
        return [None, *x.shape[1:]]

    signature = [tf.TensorSpec(unknown(x), tf.as_dtype(x.dtype)) for x in arrays]
    traced = tf.function(lambda *xs: layer(call_form(xs)), input_signature=signature)
    _assert_same(eager, _numpy(traced(*[tf.constant(x) for x in arrays])),
                 "tf.function vs eager", normalize, rtol, atol)
    if rows_independent:
        first = _numpy(traced(*[tf.constant(x[:1]) for x in arrays]))
        _assert_same([o[:1] for o in eager], first, "tf.function on the first image alone",
                     normalize, rtol, atol)

    # get_config -> from_config.
    config = layer.get_config()
    text = json.dumps(config)
    assert len(text) <= MAX_CONFIG_CHARS, f"get_config holds {len(text)} characters of JSON"
    clone = type(layer).from_config(json.loads(text))
    assert clone.name == layer.name
    assert json.loads(json.dumps(clone.get_config())) == json.loads(text), "config round trip"
    _copy_state(layer, clone, tensors)
    _assert_same(eager, _numpy(clone(tensors)), "from_config(get_config())", normalize, rtol,
                 atol)
    _assert_same_settings(layer, clone)

    # Registration: serialize_keras_object / deserialize_keras_object.
    serialized = keras.saving.serialize_keras_object(layer)
    registered = keras.saving.get_registered_name(type(layer))
    assert registered.startswith("mrcnn>"), f"{type(layer).__name__} is not registered"
    assert serialized["registered_name"] == registered
    json.dumps(serialized)
    revived = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(revived) is type(layer)
    assert json.loads(json.dumps(revived.get_config())) == json.loads(text)

    # A whole model through Keras serialization: .keras save and load_model.
    model = keras.Model(symbolic_inputs, symbolic_outputs)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "layer.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    reloaded_layer = loaded.get_layer(layer.name)
    assert type(reloaded_layer) is type(layer)
    _assert_same(eager, _numpy(loaded(tensors if listed else [tensors])), ".keras save and reload",
                 normalize, rtol, atol)
    return eager
