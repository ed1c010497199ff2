"""LabelSet: the VOC palette, one-hot with a don't-care channel, id checks."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.labelled import IGNORE, LabelSet, voc_palette


def test_voc_palette_matches_the_published_first_colours():
    assert voc_palette(6).tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
                                       [128, 0, 128]]
    assert len({tuple(c) for c in voc_palette(256)}) == 256


def test_one_hot_puts_ignored_pixels_in_the_extra_channel():
    labels = LabelSet("t", ("a", "b", "c"))
    label = np.array([[0, 1], [2, IGNORE]], np.uint8)
    hot = labels.one_hot(label)
    assert hot.shape == (4, 2, 2) and hot.dtype == np.float32
    assert hot.sum(0).tolist() == [[1, 1], [1, 1]] and hot[3, 1, 1] == 1 and hot[2, 1, 0] == 1
    assert labels.one_hot(label, dont_care=False).sum() == 3


def test_check_and_colourise():
    labels = LabelSet("t", ("a", "b"), palette=np.array([[1, 2, 3], [4, 5, 6]], np.uint8))
    labels.check(np.array([[0, 1, IGNORE]]))
    with pytest.raises(ValueError, match=r"ids \[7\]"):
        labels.check(np.array([[0, 7]]))
    assert labels.colourise(np.array([[1, IGNORE]])).tolist() == [[[4, 5, 6], [0, 0, 0]]]
    with pytest.raises(ValueError, match="palette"):
        LabelSet("bad", ("a",), palette=np.zeros((2, 3), np.uint8))
