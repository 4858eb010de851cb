"""Two workers on 127.0.0.1 train under MultiWorkerMirroredStrategy through train()'s own loop:
both finish with identical weights and validation losses, only the chief writes checkpoints
(and TensorBoard logs with the validation losses), and restarted workers resume from the last
checkpoint; their weights after N steps are those of one process trained on the same global
batches; fewer images than workers is a clear error on every worker, not a hang."""
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKER = textwrap.dedent("""
    import hashlib, sys
    import keras, numpy as np, tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import rectangles_dataset, tiny_config
    from training.test_resize_modes import canvases

    model_dir, epochs = sys.argv[1], int(sys.argv[2])
    keras.utils.set_random_seed(0)
    # Rectangular canvases in scale_pad64: worker 0's shard (image_ids[0::2]) holds landscapes,
    # worker 1's portraits and a square, so the workers' batches differ in shape in every step.
    config = tiny_config(IMAGES_PER_GPU=1, STEPS_PER_EPOCH=2, VALIDATION_STEPS=2,
                         IMAGE_RESIZE_MODE="scale_pad64", IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128)
    model = MaskRCNN("training", config, model_dir, strategy=strategy)
    train_set = canvases([(64, 120), (120, 64), (60, 110), (110, 60), (70, 120), (64, 64)],
                         seed=6)
    history = model.train(train_set, rectangles_dataset(count=3, seed=1),
                          0.001, epochs=epochs, layers="all", seed=0, workers=1, resume=True,
                          verbose=0)
    digest = hashlib.sha256()
    for v in model.keras_model.weights:
        digest.update(np.ascontiguousarray(v.numpy()).tobytes())
    val = [round(history.history[name][-1], 5) for name in ("val_loss", "val_mrcnn_mask_loss")]
    print("RESULT", model.epoch, digest.hexdigest(), *val, flush=True)
""")


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(script, model_dir, epochs, timeout=420, args=(), check=True):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=TESTS_DIR, TF_CPP_MIN_LOG_LEVEL="2",
                   TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                         "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, str(script), str(model_dir), str(epochs), *map(str, args)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            if not check:
                results.append((process.returncode, err))
                continue
            assert process.returncode == 0, err[-3000:]
            line = [text for text in out.splitlines() if text.startswith("RESULT")][-1]
            results.append(line.split()[1:])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return results


@pytest.mark.slow
def test_two_workers_train_identically_and_resume(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    model_dir = tmp_path / "logs"

    first = run_workers(script, model_dir, epochs=1)
    assert first[0] == first[1]          # same epoch, weights and validation losses on both
    assert first[0][0] == "1"
    val_loss, val_mask_loss = (float(v) for v in first[0][2:])
    assert 0 < val_mask_loss < val_loss < 1e3
    folders = os.listdir(model_dir)
    assert len(folders) == 1                     # one set of checkpoints: the chief's
    assert sorted(f for f in os.listdir(model_dir / folders[0]) if f.endswith(".h5")) == \
        ["mask_rcnn_tiny_0001.h5"]
    # TensorBoard's validation writer got the val_ losses.
    assert os.listdir(model_dir / folders[0] / "validation")
    # The chief's run folder has the config, and its checkpoint stores it and the classes.
    from mrcnn.weights import read_metadata
    assert os.path.isfile(model_dir / folders[0] / "config.yaml")
    metadata = read_metadata(model_dir / folders[0] / "mask_rcnn_tiny_0001.h5")
    assert metadata["config"]["NAME"] == "tiny" and metadata["class_names"] == ["BG", "a", "b",
                                                                                "c"]

    # Restarted, both workers load the last checkpoint and go on with epoch 2.
    second = run_workers(script, model_dir, epochs=2)
    assert second[0] == second[1] and second[0][0] == "2"
    assert second[0][1] != first[0][1]
    assert os.listdir(model_dir) == folders
    assert sorted(f for f in os.listdir(model_dir / folders[0]) if f.endswith(".h5")) == \
        ["mask_rcnn_tiny_0001.h5", "mask_rcnn_tiny_0002.h5"]


# Both workers and the single process: heads' losses weigh 0 (their ROI sampling is random, in the
# graph); the RPN losses are means per replica, which equal the mean over the global batch when
# each image has as many anchors in the loss (rpn_class: RPN_TRAIN_ANCHORS_PER_IMAGE each;
# rpn_bbox: the images are chosen with equally many positive anchors). Weight decay, momentum and
# GRADIENT_CLIP_NORM apply as configured.
COMPARE_CONFIG = dict(
    BACKBONE="resnet18", IMAGES_PER_GPU=1, STEPS_PER_EPOCH=3, VALIDATION_STEPS=1,
    LOSS_WEIGHTS={"rpn_class_loss": 1.0, "rpn_bbox_loss": 1.0, "mrcnn_class_loss": 0.0,
                  "mrcnn_bbox_loss": 0.0, "mrcnn_mask_loss": 0.0})
COMPARE_LR = 0.02

COMPARE_WORKER = textwrap.dedent("""
    import sys
    import keras, numpy as np, tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.loop import is_chief
    from tiny import rectangles_dataset, tiny_config

    out_dir, epochs, count, data_seed = sys.argv[1], *map(int, sys.argv[2:5])
    keras.utils.set_random_seed(0)
    model = MaskRCNN("training", tiny_config(**{config}), out_dir + "/logs", strategy=strategy)
    if is_chief(strategy):
        model.save_weights(out_dir + "/start.h5")
    model.train(rectangles_dataset(count=count, seed=data_seed), None, {lr}, epochs=epochs,
                layers="all", seed=0, workers=1, verbose=0)
    task = strategy.cluster_resolver.task_id
    np.savez(f"{out_dir}/worker{task}.npz", *[v.numpy() for v in model.keras_model.weights])
    print("RESULT", model.epoch, flush=True)
""").replace("{config}", repr(COMPARE_CONFIG)).replace("{lr}", repr(COMPARE_LR))


class _Context:
    """What distribute_datasets_from_function gives a worker's dataset function."""

    def __init__(self, pipeline, pipelines):
        self.input_pipeline_id, self.num_input_pipelines = pipeline, pipelines


def _shards(dataset, config):
    """Each worker's batches, as train_loop builds them (worker k: image_ids[k::2])."""
    from mrcnn.training.loop import _input_fn
    return [iter(_input_fn(dataset, config, None, None, 0, {"workers": 1})(_Context(k, 2)))
            for k in range(2)]


def _dataset_with_even_anchors():
    """Two different images with as many positive anchors each, and that seed."""
    from tiny import rectangles_dataset, tiny_config
    config = tiny_config(**COMPARE_CONFIG)
    for seed in range(50):
        dataset = rectangles_dataset(count=2, seed=seed)
        first = [next(shard) for shard in _shards(dataset, config)]
        positives = [int((batch["input_rpn_match"].numpy() == 1).sum()) for batch in first]
        if positives[0] == positives[1] and \
                not (first[0]["input_image"].numpy() == first[1]["input_image"].numpy()).all():
            return dataset, seed
    raise AssertionError("no seed gives two images with as many positive anchors")


@pytest.mark.slow
def test_two_workers_match_one_process_on_the_same_global_batch(tmp_path):
    import numpy as np

    from mrcnn.maskrcnn import MaskRCNN
    from mrcnn.training.presets import layer_regex, set_trainable
    from mrcnn.training.train import make_optimizer
    from tiny import tiny_config

    dataset, data_seed = _dataset_with_even_anchors()
    script = tmp_path / "worker.py"
    script.write_text(COMPARE_WORKER)
    results = run_workers(script, tmp_path, 1, args=(2, data_seed))
    assert results == [["1"], ["1"]]
    workers = [np.load(tmp_path / f"worker{k}.npz") for k in range(2)]
    workers = [[w[f"arr_{i}"] for i in range(len(w.files))] for w in workers]

    # One process, batch 2: at step t worker 0's batch t and worker 1's batch t.
    worker_config = tiny_config(**COMPARE_CONFIG)
    config = tiny_config(**{**COMPARE_CONFIG, "IMAGES_PER_GPU": 2})
    model = MaskRCNN("training", config, tmp_path / "single")
    model.load_weights(tmp_path / "start.h5", by_name=True)
    km = model.keras_model
    start = km.get_weights()
    set_trainable(km, layer_regex("all"), train_bn=config.TRAIN_BN)
    km.compile(optimizer=make_optimizer(COMPARE_LR, config.LEARNING_MOMENTUM), jit_compile=False)
    shards = _shards(dataset, worker_config)
    for _ in range(config.STEPS_PER_EPOCH):
        parts = [next(shard) for shard in shards]
        km.train_on_batch({name: np.concatenate([p[name].numpy() for p in parts])
                           for name in parts[0]})
    single = km.get_weights()

    assert len(single) == len(workers[0])
    for a, b in zip(*workers):
        np.testing.assert_array_equal(a, b)         # the workers agree bit for bit
    moved = max(float(np.abs(s - w0).max()) for s, w0 in zip(single, start))
    difference = max(float(np.abs(s - w).max()) for s, w in zip(single, workers[0]))
    assert moved > 1e-3                           # training moved the weights, by more than
    assert difference < 1e-5, (difference, moved) # float rounding between the two


EMPTY_SHARD_WORKER = textwrap.dedent("""
    import sys
    import keras, tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import rectangles_dataset, tiny_config

    model_dir = sys.argv[1]
    model = MaskRCNN("training", tiny_config(BACKBONE="resnet18", IMAGES_PER_GPU=1), model_dir,
                     strategy=strategy)
    model.train(rectangles_dataset(count=1), None, 0.001, epochs=1, layers="heads", seed=0,
                workers=1, verbose=0)
    print("RESULT trained", flush=True)
""")


@pytest.mark.slow
def test_fewer_images_than_workers_is_a_clear_error_on_every_worker(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(EMPTY_SHARD_WORKER)
    # Bounded: a worker left waiting in a collective for the other would hang for much longer.
    results = run_workers(script, tmp_path / "logs", 1, timeout=240, check=False)
    for code, err in results:
        assert code != 0
        assert "train_dataset has 1 image" in err and "2 workers" in err, err[-3000:]

