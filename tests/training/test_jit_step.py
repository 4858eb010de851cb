"""Config.JIT_COMPILE: the training step compiled with XLA equals the step run without XLA, and
the static-shape graph it uses equals the default graph (each layer's default route:
CropAndResize, NMS in map_fn, tf.where gathers, tf.random.shuffle).

Same start: one seeded model's weights copied into the other; the same batch. Sampling is
deterministic: the batch's ROIs are given (USE_RPN_ROIS False) and fit DetectionTargetLayer's
quotas exactly (two positives and two negatives per image, TRAIN_ROIS_PER_IMAGE 8 at ratio 0.5,
test_train_step's batch), so sampling only permutes rows, which the losses do not see.

The default graph's backbone and FPN weights are not compared: their gradient comes through
tf.image.crop_and_resize's image gradient, whose CPU kernel adds the boxes' shares from several
threads without synchronisation (tensorflow/tensorflow#42033) and may lose some. The heads' and
the RPN's weights get theirs from the forward values only.
"""
import keras
import numpy as np
import pytest

from mrcnn.config import ConfigError
from mrcnn.maskrcnn import MaskRCNN
from tiny import tiny_config
from training.test_train_step import make_batch, step_config

# Float32 sums in other orders (XLA fuses and reorders; the static routes sum their gathers in
# another order than CropAndResize's gradient kernel): relative 1e-4 on the losses, and on the
# weights' change in one SGD step (lr 0.01).
LOSS_RTOL = 1e-4
WEIGHT_ATOL = 1e-5


def reached_without_crop_gradient(path):
    """Weights whose gradient does not pass through ROI Align's backward pass."""
    return path.startswith(("mrcnn_", "rpn_model", "rpn_conv", "rpn_class", "rpn_bbox"))


def one_step(model, start, batch, jit_compile, eager=False):
    km = model.keras_model
    km.set_weights(start)
    km.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.0), jit_compile=jit_compile,
               run_eagerly=eager)
    assert km.jit_compile is jit_compile          # Keras silently drops XLA for layers without
    km.reset_metrics()                              # supports_jit: it must not have here
    logs = km.train_on_batch(batch, return_dict=True)
    return logs, km.get_weights()


@pytest.mark.slow
def test_xla_step_equals_plain_step_and_default_graph(tmp_path):
    keras.utils.set_random_seed(0)
    jit_model = MaskRCNN("training", step_config(JIT_COMPILE=True), tmp_path / "jit")
    plain_model = MaskRCNN("training", step_config(), tmp_path / "plain")
    start = jit_model.keras_model.get_weights()
    assert [w.shape for w in start] == [w.shape for w in plain_model.keras_model.get_weights()]
    batch = make_batch(jit_model.config)

    xla_logs, xla_weights = one_step(jit_model, start, batch, jit_compile=True)
    static_logs, static_weights = one_step(jit_model, start, batch, jit_compile=False)
    default_logs, default_weights = one_step(plain_model, start, batch, jit_compile=False,
                                             eager=True)

    for name in default_logs:
        assert default_logs[name] > 0 or name == "mrcnn_mask_loss", name
        np.testing.assert_allclose(static_logs[name], default_logs[name], rtol=LOSS_RTOL,
                                   err_msg=name)
        np.testing.assert_allclose(xla_logs[name], static_logs[name], rtol=LOSS_RTOL,
                                   err_msg=name)
    def layer_names(model):     # the layers' names (their sublayers' are numbered per process)
        return [v.path.split("/")[0] for v in model.keras_model.weights]

    paths = [v.path for v in jit_model.keras_model.weights]
    assert layer_names(jit_model) == layer_names(plain_model)
    moved = compared = 0
    for path, before, xla_w, static_w, default_w in zip(paths, start, xla_weights,
                                                         static_weights, default_weights):
        moved += not np.allclose(before, static_w)
        np.testing.assert_allclose(xla_w, static_w, atol=WEIGHT_ATOL, rtol=0, err_msg=path)
        if reached_without_crop_gradient(path):
            compared += not np.allclose(before, default_w)
            np.testing.assert_allclose(static_w, default_w, atol=WEIGHT_ATOL, rtol=0,
                                       err_msg=path)
    assert moved > 20 and compared > 8                 # the step trained the network


def test_jit_compile_setting_is_validated():
    assert tiny_config().JIT_COMPILE is False
    assert tiny_config(JIT_COMPILE=True).JIT_COMPILE is True
    with pytest.raises(ConfigError, match="JIT_COMPILE is 'yes'"):
        tiny_config(JIT_COMPILE="yes")


def test_jit_compile_builds_the_static_routes(tmp_path):
    model = MaskRCNN("training", step_config(JIT_COMPILE=True), tmp_path)
    routes = {layer.name: layer.jit_compatible for layer in model.keras_model.layers
              if hasattr(layer, "jit_compatible")}
    assert routes and all(routes.values())
    assert {"roi_align_classifier", "roi_align_mask", "proposal_targets",
            "mrcnn_mask_loss"} <= set(routes)
    assert all(layer.supports_jit for layer in model.keras_model._flatten_layers())
