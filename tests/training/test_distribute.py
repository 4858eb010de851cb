"""Several devices and mixed precision: MirroredStrategy on two logical CPUs matches one device,
GPU_COUNT beyond the devices present is a clear error, bfloat16 trains and detects."""
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from mrcnn.training.distribute import resolve_strategy
from tiny import rectangles_dataset, tiny_config

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_gpu_count_beyond_devices_is_a_clear_error():
    config = tiny_config(GPU_COUNT=3, IMAGES_PER_GPU=1)
    with pytest.raises(ValueError, match=r"GPU_COUNT is 3 but 0 GPU\(s\) were found"):
        resolve_strategy(config)
    sentinel = object()
    assert resolve_strategy(config, strategy=sentinel) is sentinel


MIRRORED_SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from mrcnn.data.pipeline import build_batch
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.presets import layer_regex, set_trainable
    from tiny import rectangles_dataset, tiny_config

    # Head losses weigh 0: their ROI sampling is random; RPN losses and weight decay are not.
    weights = {"rpn_class_loss": 1.0, "rpn_bbox_loss": 1.0, "mrcnn_class_loss": 0.0,
               "mrcnn_bbox_loss": 0.0, "mrcnn_mask_loss": 0.0}
    single = MaskRCNN("training", tiny_config(GPU_COUNT=1, IMAGES_PER_GPU=2, LOSS_WEIGHTS=weights),
                      "{logs}")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored = MaskRCNN("training", tiny_config(GPU_COUNT=2, IMAGES_PER_GPU=1,
                                                LOSS_WEIGHTS=weights), "{logs}", strategy=strategy)
    assert mirrored.keras_model.distribute_strategy.num_replicas_in_sync == 2
    single.save_weights("{logs}/start.h5")
    mirrored.load_weights("{logs}/start.h5", by_name=True)
    start = [v.numpy() for v in single.keras_model.weights]

    dataset = rectangles_dataset(count=1)
    # The same image twice, so each replica's half of the batch is the same as the whole.
    batch = build_batch(dataset, single.config, [0, 0], rng=np.random.default_rng(0))
    for model in (single, mirrored):
        set_trainable(model.keras_model, layer_regex("all"), train_bn=False)
        with model.strategy.scope():
            model.keras_model.compile(
                optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                jit_compile=False)
        for _ in range(2):
            logs = model.keras_model.train_on_batch(batch, return_dict=True)
        print("LOSS", logs["loss"])
    a = [v.numpy() for v in single.keras_model.weights]
    b = [v.numpy() for v in mirrored.keras_model.weights]
    print("MOVED", max(float(np.abs(x - s).max()) for x, s in zip(a, start)))
    print("MAXDIFF", max(float(np.abs(x - y).max()) for x, y in zip(a, b)))
""")


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_one_device(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT.replace("{logs}", str(tmp_path)))
    env = dict(os.environ, PYTHONPATH=TESTS_DIR, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    values = {line.split()[0]: float(line.split()[1]) for line in result.stdout.splitlines()
              if line.split() and line.split()[0] in ("MOVED", "MAXDIFF")}
    assert values["MOVED"] > 1e-4           # training changed the weights...
    assert values["MAXDIFF"] < 1e-4         # ...the same way on one device and on two


def test_mixed_bfloat16_trains_and_detects(tmp_path):
    from mrcnn.data.pipeline import build_batch
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.presets import layer_regex, set_trainable

    config = tiny_config(MIXED_PRECISION="mixed_bfloat16")
    model = MaskRCNN("training", config, tmp_path)
    assert keras.config.dtype_policy().name == "float32"       # the global policy is restored
    km = model.keras_model
    assert km.get_layer("conv1").compute_dtype == "bfloat16"
    assert km.get_layer("conv1").kernel.dtype == "float32"
    for name in ("ROI", "roi_align_classifier", "proposal_targets", "mrcnn_class",
                 "mrcnn_mask", "mrcnn_mask_loss"):
        assert km.get_layer(name).compute_dtype == "float32", name
    dataset = rectangles_dataset(count=2)
    batch = build_batch(dataset, config, dataset.image_ids, rng=np.random.default_rng(0))
    set_trainable(km, layer_regex("all"), train_bn=False)
    km.compile(optimizer=keras.optimizers.SGD(0.001, momentum=0.9),
               jit_compile=False)
    logs = km.train_on_batch(batch, return_dict=True)
    assert all(math.isfinite(v) for v in logs.values())

    checkpoint = tmp_path / "bf16.h5"
    model.save_weights(checkpoint)
    inference = MaskRCNN("inference", config, tmp_path)
    inference.load_weights(checkpoint, by_name=True)
    result = inference.detect([dataset.load_image(0)])[0]
    assert result["rois"].dtype == np.int32 and result["scores"].dtype == np.float32
    assert np.isfinite(result["scores"]).all()
    assert result["masks"].shape[:2] == dataset.load_image(0).shape[:2]
