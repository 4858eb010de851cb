"""Tests of mrcnn/visualization/common.py: colours, mask blending, boxes drawn into the image and
showing a figure only on an interactive backend."""
import os
import random

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mrcnn import visualize

CLASS_NAMES = ["BG", "one", "two"]
RED = (1.0, 0.0, 0.0)


# ------------------------------------------------------------------------------- colours

def test_random_colors_are_evenly_spaced_hues():
    # Hues 0, 1/3, 2/3 at full saturation and value are pure red, green and blue.
    assert sorted(visualize.random_colors(3)) == [(0.0, 0.0, 1.0), (0.0, 1.0, 0.0),
                                                  (1.0, 0.0, 0.0)]
    # Not bright: value 0.7, so hue 0 is (0.7, 0, 0).
    assert visualize.random_colors(1, bright=False) == [(0.7, 0.0, 0.0)]
    assert visualize.random_colors(0) == []


def test_random_colors_seed_matches_global_random():
    with_seed = visualize.random_colors(8, seed=3)
    assert visualize.random_colors(8, seed=3) == with_seed
    random.seed(3)  # Matterport shuffled with the global random: same permutation.
    assert visualize.random_colors(8) == with_seed
    assert sorted(with_seed) == sorted(visualize.random_colors(8, seed=4))


def test_apply_mask_alpha_blend_by_hand():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    mask = np.array([[1, 0], [0, 1]])
    result = visualize.apply_mask(image, mask, (1.0, 0.2, 0.0), alpha=0.5)
    assert result is image  # in place, as Matterport
    # Masked: 100 * (1 - 0.5) + 0.5 * c * 255, truncated to uint8:
    #   R = 50 + 127.5 = 177.5 -> 177, G = 50 + 25.5 = 75.5 -> 75, B = 50 + 0 = 50.
    assert image[0, 0].tolist() == [177, 75, 50] and image[1, 1].tolist() == [177, 75, 50]
    assert image[0, 1].tolist() == [100, 100, 100] and image[1, 0].tolist() == [100, 100, 100]


def test_apply_mask_keeps_fourth_channel_and_rejects_wrong_shape():
    image = np.zeros((3, 3, 4), dtype=np.float32)
    image[..., 3] = 7
    visualize.apply_mask(image, np.ones((3, 3), bool), (0.0, 1.0, 0.0, 0.8), alpha=1.0)
    # alpha 1: the colour itself, 0 * 0 + 1 * (0, 1, 0) * 255; the RGBA colour's alpha unused.
    assert image[1, 1].tolist() == [0.0, 255.0, 0.0, 7.0]
    with pytest.raises(ValueError, match="mask"):
        visualize.apply_mask(image, np.ones((2, 3)), RED)


# ------------------------------------------------------------------------------ draw_box

def grid(rows):
    """Bool array from strings: 'R' marks a pixel drawn in the box colour."""
    return np.array([[c == "R" for c in row] for row in rows])


def test_draw_box_by_hand():
    image = np.zeros((8, 10, 3), dtype=np.uint8)
    result = visualize.draw_box(image, (1, 2, 5, 7), (255, 0, 0))
    assert result is image
    # Lines 2 px wide on rows 1-2 (top) and 5-6 (bottom), columns 2-3 (left) and 7-8 (right);
    # the bottom line also covers the bottom-right corner (columns 7-8).
    expected = grid(["..........",
                     "..RRRRRRR.",
                     "..RRRRRRR.",
                     "..RR...RR.",
                     "..RR...RR.",
                     "..RRRRRRR.",
                     "..RRRRRRR.",
                     ".........."])
    assert np.array_equal(image[..., 0] == 255, expected)
    assert not image[..., 1:].any()


def test_draw_box_clips_negative_coordinates():
    image = np.zeros((5, 5, 3), dtype=np.uint8)
    visualize.draw_box(image, (-1, -1, 3, 3), (9, 9, 9))
    # Clipped to (0, 0, 3, 3): top rows 0-1 cols 0-2, bottom rows 3-4 cols 0-4,
    # left rows 0-2 cols 0-1, right rows 0-2 cols 3-4.
    expected = grid(["RRRRR",
                     "RRRRR",
                     "RR.RR",
                     "RRRRR",
                     "RRRRR"])
    assert np.array_equal(image[..., 0] == 9, expected)


# ------------------------------------------------------------------------------- showing

def test_show_only_on_interactive_backend(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(1))
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    args = (image, np.zeros((0, 4)), np.zeros((8, 8, 0)), np.zeros(0), CLASS_NAMES)
    from mrcnn.visualization import common
    assert not common._interactive_backend()  # Agg
    visualize.display_instances(*args, figsize=(1, 1))
    assert shown == []
    monkeypatch.setattr(common, "_interactive_backend", lambda: True)
    visualize.display_instances(*args, figsize=(1, 1))
    assert shown == [1]
    visualize.display_instances(*args, figsize=(1, 1), save_path=os.devnull)
    assert shown == [1]  # saving replaces showing
