"""Tables: display_table (HTML in a notebook, text elsewhere) and display_weight_stats."""
import sys

import numpy as np


def display_table(table):
    """Display values in a table format.

    table: an iterable of rows, and each row is an iterable of values.

    In a Jupyter-like IPython kernel the table is shown as HTML (Matterport's); elsewhere
    (scripts, terminals, no IPython installed) it is printed as aligned plain text. IPython is
    never imported here: a kernel has imported it already.
    """
    rows = [[str(col) for col in row] for row in table]
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if getattr(shell, "kernel", None) is not None:
        import IPython.display
        html = "".join("<tr>" + "".join("<td>{:40}</td>".format(col) for col in row) + "</tr>"
                       for row in rows)
        IPython.display.display(IPython.display.HTML("<table>" + html + "</table>"))
        return
    widths = [max(len(row[k]) for row in rows if k < len(row))
              for k in range(max((len(row) for row in rows), default=0))]
    print("\n".join("  ".join(col.ljust(width) for col, width in zip(row, widths)).rstrip()
                    for row in rows))


def display_weight_stats(model):
    """Scans all the weights in the model and displays (display_table) and returns a table
    with their name, shape, min, max and standard deviation.

    model: a MaskRCNN (its keras_model is scanned; a keras.Model works too). Layers nested in
        sub-models (rpn_model) and TimeDistributed wrappers are scanned too; names are the
        Keras 3 variable paths (e.g. "conv1/kernel").

    Weights whose min equals max are flagged "*** dead?" (except Conv2D biases, which start
    at zero), weights beyond +-1000 "*** Overflow?" (Matterport's flags, as plain text).

    Returns: list of rows, the first one ["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"].
    """
    keras_model = getattr(model, "keras_model", model)
    table = [["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"]]
    for layer in _layers_with_weights(keras_model):
        layer_class = type(getattr(layer, "layer", layer)).__name__
        for variable in layer.weights:
            w = np.asarray(variable.numpy())
            name = getattr(variable, "path", variable.name)
            if w.size == 0:
                table.append([name, str(w.shape), "", "", ""])
                continue
            # Detect problematic layers. Exclude biases of conv layers.
            alert = ""
            if w.min() == w.max() and not (layer_class == "Conv2D"
                                           and variable.name.split(":")[0] == "bias"):
                alert += " *** dead?"
            if np.abs(w.min()) > 1000 or np.abs(w.max()) > 1000:
                alert += " *** Overflow?"
            table.append([
                name + alert,
                str(w.shape),
                "{:+9.4f}".format(w.min()),
                "{:+10.4f}".format(w.max()),
                "{:+9.4f}".format(w.std()),
            ])
    display_table(table)
    return table


def _layers_with_weights(keras_model):
    """The layers of `keras_model` that hold weights, nested models flattened."""
    found = []
    for layer in keras_model.layers:
        if hasattr(layer, "layers") and not hasattr(layer, "layer"):
            found.extend(_layers_with_weights(layer))
        elif layer.weights:
            found.append(layer)
    return found


############################################################
#  Training curves
############################################################
