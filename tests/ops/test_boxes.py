"""Tests of mrcnn/ops/boxes.py against the NumPy code of mrcnn.core.boxes."""
import numpy as np

from mrcnn.core.boxes import apply_box_deltas


def test_apply_box_deltas_graph_clamps_as_numpy():
    import tensorflow as tf

    from mrcnn.ops.boxes import apply_box_deltas_graph
    boxes = np.array([[0.1, 0.2, 0.3, 0.6], [0.0, 0.0, 0.08, 0.08]], np.float32)
    deltas = np.array([[0.2, -0.1, 300.0, 1.0], [0.0, 0.5, -2.0, 500.0]], np.float32)
    out = apply_box_deltas_graph(tf.constant(boxes), tf.constant(deltas)).numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, apply_box_deltas(boxes, deltas), rtol=1e-5, atol=1e-6)
    # By hand, row 0: h 0.2 * 62.5 = 12.5 about centre 0.2 + 0.2 * 0.2 = 0.24; w 0.4 e.
    np.testing.assert_allclose(out[0], [0.24 - 6.25, 0.4 - 0.04 - 0.2 * np.e,
                                        0.24 + 6.25, 0.36 + 0.2 * np.e], rtol=1e-5)
