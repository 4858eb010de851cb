"""Matterport's ``batch_slice``: run a per-image graph function over a batch with a static size."""
import tensorflow as tf


def batch_slice(inputs, graph_fn, batch_size, names=None):
    """Split ``inputs`` (a tensor or list of tensors, batch first) into ``batch_size`` slices,
    call ``graph_fn`` on each and stack the results along a new batch axis.

    Kept for user code written against Matterport; the layers of this package are vectorized or use
    ``tf.map_fn`` and take any batch size.
    """
    if not isinstance(inputs, list):
        inputs = [inputs]
    outputs = []
    for i in range(batch_size):
        output_slice = graph_fn(*[x[i] for x in inputs])
        if not isinstance(output_slice, (tuple, list)):
            output_slice = [output_slice]
        outputs.append(output_slice)
    outputs = list(zip(*outputs))
    if names is None:
        names = [None] * len(outputs)
    result = [tf.stack(o, axis=0, name=n) for o, n in zip(outputs, names)]
    return result[0] if len(result) == 1 else result
