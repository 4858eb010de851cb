"""Mixed precision trains like float32: a step under mixed_float16 (loss scaling, the clip
threshold scaled with the loss) or mixed_bfloat16 moves the weights as the float32 step does, within
a stated tolerance, and the inference model of that policy detects.

The batch and model are those of test_train_step (targets fixed, so two models from the same
weights see the same targets). GRADIENT_CLIP_NORM is small so clipping binds on most weights: a
threshold left unscaled under loss scaling would shrink the float16 step by the loss scale.
"""
import math

import keras
import numpy as np
import pytest

from mrcnn.maskrcnn import MaskRCNN
from mrcnn.training.presets import layer_regex, set_trainable
from training.test_train_step import make_batch, step_config

CLIP, LR = 0.5, 0.01
# How far the step (all trainable weights, one vector) may be from float32's: the norm of the
# difference over the norm of the float32 step. Measured: 0.021 float16 (11 significant bits),
# 0.091 bfloat16 (8 bits). PER_TENSOR bounds the same ratio for each weight tensor (measured
# worst: 0.08 float16, 0.62 bfloat16, a mask-head bias).
TOLERANCE = {"mixed_float16": 0.05, "mixed_bfloat16": 0.2}
PER_TENSOR = {"mixed_float16": 0.2, "mixed_bfloat16": 1.0}


def compiled(model, eager):
    km = model.keras_model
    set_trainable(km, layer_regex("all"), train_bn=False)
    # As train() compiles: Keras wraps the optimizer in a LossScaleOptimizer for mixed_float16.
    km.compile(optimizer=keras.optimizers.SGD(LR, momentum=0.0), jit_compile=False,
               run_eagerly=eager)
    return km


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_step_matches_float32_and_detects(tmp_path, policy):
    keras.utils.set_random_seed(0)
    reference = MaskRCNN("training", step_config(GRADIENT_CLIP_NORM=CLIP), tmp_path)
    config = step_config(GRADIENT_CLIP_NORM=CLIP, MIXED_PRECISION=policy)
    mixed = MaskRCNN("training", config, tmp_path)
    assert mixed.keras_model.get_layer("conv1").compute_dtype == policy.split("_")[1]
    start = reference.keras_model.get_weights()
    mixed.keras_model.set_weights(start)
    batch = make_batch(config)

    km32 = compiled(reference, eager=True)
    km32.train_on_batch(batch)
    # float16 traced, as fit() runs it (bfloat16 traced: test_distribute; eager here, for time).
    km = compiled(mixed, eager=policy == "mixed_bfloat16")
    scaled = policy == "mixed_float16"
    assert isinstance(km.optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    if scaled:
        # Keras starts at 2**15, where this untrained model's scaled float16 gradients
        # overflow (a measured run skipped the steps at 2**15 to 2**12), and each skipped step
        # costs about a minute on a CPU (float16 arithmetic is emulated): start at 2**10. The
        # loop below still checks that a skipped step halves the scale.
        km.optimizer.build(km.trainable_variables)
        km.optimizer.dynamic_scale.assign(2.0 ** 10)
    # Dynamic loss scaling skips the steps whose scaled gradients overflow float16 (this
    # untrained model's first ones, at scale 2**15), halving the scale each time.
    for _attempt in range(8):
        scale = float(km.optimizer.dynamic_scale.numpy() if km.optimizer.built
                      else km.optimizer.initial_scale) if scaled else None
        logs = km.train_on_batch(batch, return_dict=True)
        assert all(math.isfinite(v) for v in logs.values()), logs
        weights = km.get_weights()
        if any(not np.array_equal(a, b) for a, b in zip(weights, start)):
            break
        assert scaled, "a bfloat16 step left every weight as it was"
        assert float(km.optimizer.dynamic_scale.numpy()) == scale / 2
    else:
        pytest.fail("eight float16 steps in a row were skipped")

    at_clip, differences, norms = 0, [], []
    for v32, w32, w, w0 in zip(km32.weights, km32.get_weights(), weights, start):
        if not v32.trainable:
            np.testing.assert_array_equal(w, w0, err_msg=v32.path)
            continue
        step32, step = w32 - w0, w - w0
        norm = np.linalg.norm(step32)
        assert np.linalg.norm(step - step32) <= PER_TENSOR[policy] * norm + 1e-7, v32.path
        differences.append(np.linalg.norm(step - step32))
        norms.append(norm)
        at_clip += bool(norm == pytest.approx(LR * CLIP, rel=1e-4))
    assert at_clip > 20          # the clip binds, so its threshold is tested
    assert np.linalg.norm(differences) <= TOLERANCE[policy] * np.linalg.norm(norms)

    checkpoint = tmp_path / "mixed.h5"
    mixed.save_weights(checkpoint)
    inference = MaskRCNN("inference", config, tmp_path)
    assert inference.keras_model.get_layer("conv1").compute_dtype == policy.split("_")[1]
    inference.load_weights(checkpoint, by_name=True)
    image = np.full((64, 64, 3), 20, np.uint8)
    image[10:40, 12:50] = 200
    result = inference.detect([image])[0]
    assert result["rois"].dtype == np.int32 and result["class_ids"].dtype == np.int32
    assert result["scores"].dtype == np.float32 and np.isfinite(result["scores"]).all()
    assert result["masks"].dtype == bool and result["masks"].shape[:2] == (64, 64)
    assert result["masks"].shape[2] == result["rois"].shape[0] == result["scores"].shape[0]
