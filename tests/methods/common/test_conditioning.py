"""Conditioning maps of the label-map protocols, and paired_jitter's nearest option for float maps."""

from __future__ import annotations

import pytest
import torch

from core.errors import BenchError
from methods.common.conditioning import as_conditioning, batch_conditioning, one_hot_maps, resize_nearest
from methods.common.images import paired_jitter


def test_class_indices_become_one_hot_and_float_maps_pass_through() -> None:
    idx = torch.tensor([[[0, 2], [1, 2]]])
    hot = one_hot_maps(idx, 3, "m")
    assert hot.shape == (1, 3, 2, 2) and torch.equal(hot.argmax(1), idx)
    assert torch.equal(hot.sum(1), torch.ones(1, 2, 2))
    assert torch.equal(as_conditioning(idx[:, None], 3, 3, "m"), hot)  # [N,1,H,W] too
    edges = torch.rand(2, 15, 4, 4)  # face-edge channels are not one-hot: passed as they are
    assert as_conditioning(edges, 15, 19, "m") is edges
    with pytest.raises(BenchError, match=r"\[0, 3\)"):
        one_hot_maps(idx + 1, 3, "m")


def test_training_batches_prefer_input_over_label_map() -> None:
    idx = torch.tensor([[[0, 1], [1, 0]]])
    given = torch.rand(1, 2, 2, 2)
    assert batch_conditioning({"input": given, "label_map": idx}, 2, 2, "m") is given
    assert torch.equal(batch_conditioning({"label_map": idx}, 2, 2, "m"), one_hot_maps(idx, 2, "m"))
    with pytest.raises(BenchError, match="conditioning map"):
        batch_conditioning({"image": given}, 2, 2, "m")


def test_float_maps_can_be_resized_nearest() -> None:
    hot = one_hot_maps(torch.tensor([[[0, 1], [1, 0]]]), 2, "m")
    image = torch.rand(1, 3, 2, 2)
    g = torch.Generator().manual_seed(0)
    seg, img = paired_jitter([hot, image], 4, None, False, g, nearest=(True,))
    assert set(seg.unique().tolist()) == {0.0, 1.0} and torch.equal(seg, resize_nearest(hot, 4))
    assert not set(img.unique().tolist()) <= set(image.unique().tolist())  # the photo still bilinear
    blurred, _ = paired_jitter([hot, image], 4, None, False, g)  # default: float tensors bilinear (unchanged)
    assert len(blurred.unique()) > 2
