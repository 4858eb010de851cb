"""Two workers on 127.0.0.1 train under MultiWorkerMirroredStrategy through train()'s own loop:
both finish with identical weights and validation losses, only the chief writes checkpoints
(and TensorBoard logs with the validation losses), and restarted workers resume from the last
checkpoint."""
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

    model_dir, epochs = sys.argv[1], int(sys.argv[2])
    keras.utils.set_random_seed(0)
    config = tiny_config(IMAGES_PER_GPU=1, STEPS_PER_EPOCH=2, VALIDATION_STEPS=2)
    model = MaskRCNN("training", config, model_dir, strategy=strategy)
    history = model.train(rectangles_dataset(count=4), rectangles_dataset(count=3, seed=1),
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


def run_workers(script, model_dir, epochs, timeout=420):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=TESTS_DIR, TF_CPP_MIN_LOG_LEVEL="2",
                   TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                         "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, str(script), str(model_dir), str(epochs)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            assert process.returncode == 0, err[-3000:]
            line = [l for l in out.splitlines() if l.startswith("RESULT")][-1]
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

    # Restarted, both workers load the last checkpoint and go on with epoch 2.
    second = run_workers(script, model_dir, epochs=2)
    assert second[0] == second[1] and second[0][0] == "2"
    assert second[0][1] != first[0][1]
    assert os.listdir(model_dir) == folders
    assert sorted(f for f in os.listdir(model_dir / folders[0]) if f.endswith(".h5")) == \
        ["mask_rcnn_tiny_0001.h5", "mask_rcnn_tiny_0002.h5"]
