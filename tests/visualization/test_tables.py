"""Tests of mrcnn/visualization/tables.py: tables as plain text or as HTML in a kernel, and the
weight statistics of a model."""
import sys
import types

import numpy as np
import pytest

from mrcnn import visualize


def test_display_table_plain_text(capsys):
    visualize.display_table([["A", "BB"], ["CCC", 4]])
    # Columns padded to their widest cell (3 and 2) and joined by two spaces.
    assert capsys.readouterr().out == "A    BB\nCCC  4\n"


def fake_ipython(monkeypatch, shell):
    shown = []
    display = types.ModuleType("IPython.display")
    display.HTML = lambda html: ("HTML", html)
    display.display = shown.append
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return shown


def test_display_table_html_in_a_kernel(monkeypatch, capsys):
    shown = fake_ipython(monkeypatch, types.SimpleNamespace(kernel=object()))
    visualize.display_table([["a", 1]])
    cell = "<td>{}</td>".format
    assert shown == [("HTML", "<table><tr>" + cell("a" + " " * 39) + cell("1" + " " * 39)
                      + "</tr></table>")]
    assert capsys.readouterr().out == ""
    # A terminal IPython shell has no kernel: plain text there.
    shown = fake_ipython(monkeypatch, types.SimpleNamespace())
    visualize.display_table([["a", 1]])
    assert shown == [] and capsys.readouterr().out == "a  1\n"


@pytest.fixture(scope="module")
def tiny_inference_model(tmp_path_factory):
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config
    return MaskRCNN("inference", tiny_config(), tmp_path_factory.mktemp("logs"))


def test_display_weight_stats_on_maskrcnn(tiny_inference_model, capsys):
    model = tiny_inference_model
    table = visualize.display_weight_stats(model)
    assert table[0] == ["WEIGHT NAME", "SHAPE", "MIN", "MAX", "STD"]
    assert "WEIGHT NAME" in capsys.readouterr().out
    rows = {row[0]: row for row in table[1:]}
    # Every variable once, nested rpn_model and TimeDistributed heads included.
    assert len(table) - 1 == len(model.keras_model.weights)
    kernel = model.keras_model.get_layer("conv1").kernel.numpy()
    assert rows["conv1/kernel"] == ["conv1/kernel", "(7, 7, 3, 64)",
                                    "{:+9.4f}".format(kernel.min()),
                                    "{:+10.4f}".format(kernel.max()),
                                    "{:+9.4f}".format(kernel.std())]
    assert "rpn_conv_shared/kernel" in rows
    # Fresh weights: Conv2D biases start at 0 and are not flagged; BN gamma starts at 1
    # (min == max) and is flagged, as in Matterport.
    assert rows["conv1/bias"][2:4] == ["  +0.0000", "   +0.0000"]
    assert "bn_conv1/gamma *** dead?" in rows
    assert any(name.startswith("mrcnn_class_conv1/") and name.endswith("/bias")
               for name in rows)


def test_display_weight_stats_flags_overflow(capsys):
    import keras
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="d")(inputs))
    model.get_layer("d").set_weights([np.array([[5000.0], [-1.0]]), np.array([2.0])])
    table = visualize.display_weight_stats(model)
    assert [row[0] for row in table[1:]] == ["d/kernel *** Overflow?", "d/bias *** dead?"]
    assert table[1][2:] == ["  -1.0000", "+5000.0000", "+2500.5000"]  # std of (5000, -1)
