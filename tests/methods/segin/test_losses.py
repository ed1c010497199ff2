"""SEGIN's loss terms (Eq. 5–11), the multi-task terms in particular, against hand computations."""

from __future__ import annotations

import pytest
import torch

from methods.segin.losses import (
    LossWeights,
    feature_loss,
    feature_sum_scale,
    gan_d_loss,
    gan_g_loss,
    recon_loss,
    seg_attention_loss,
    seg_loss,
    tv_loss,
)


def test_segmentation_terms() -> None:
    mask = torch.zeros(1, 1, 2, 2)
    mask[0, 0, 0] = 1
    assert seg_loss(mask, mask) == 0
    seg = torch.full((1, 1, 2, 2), 0.5)
    assert seg_loss(seg, mask) == pytest.approx(0.5)  # Eq. 9: mean |N_s − y_seg|
    fake = torch.full((1, 3, 2, 2), 0.4)
    real = torch.full((1, 3, 2, 2), 0.8)
    # Eq. 10: |N_s·ŷ − y_seg·y| = |0.5·0.4 − 1·0.8| = 0.6 on the top row, |0.2 − 0| = 0.2 on the bottom row
    assert seg_attention_loss(seg, fake, mask, real) == pytest.approx(0.4)
    assert seg_attention_loss(mask, real, mask, real) == 0
    assert seg_attention_loss(mask, fake, mask, fake + (1 - mask)) == 0  # only the foreground counts


def test_reconstruction_feature_and_tv() -> None:
    a, b = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.25)
    assert recon_loss(a, b) == pytest.approx(0.25)
    fa, fb = torch.zeros(2, 5, 3, 3), torch.ones(2, 5, 3, 3)
    assert feature_loss(fa, fb, "sum") == pytest.approx(45.0)  # per-image sum, batch mean
    assert feature_loss(fa, fb, "mean") == pytest.approx(1.0)
    with pytest.raises(ValueError):
        feature_loss(fa, fb, "max")
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 5, 5)  # horizontal steps of 1, no vertical change
    assert tv_loss(ramp) == pytest.approx(1.0, abs=1e-4)  # Eq. 8 per pixel: sqrt(0² + 1²)
    assert tv_loss(torch.ones(1, 3, 6, 6)) == pytest.approx(0.0, abs=1e-3)


def test_gan_terms() -> None:
    confident = torch.full((1, 1, 3, 3), 20.0)
    assert gan_d_loss(confident, -confident) < 1e-6 and gan_g_loss(confident) < 1e-6
    assert gan_g_loss(-confident) > 10


def test_total_weights_the_present_terms_and_skips_zero_weights() -> None:
    terms = {"recon": torch.tensor(0.5), "feature": torch.tensor(1e5), "gan": torch.tensor(2.0),
             "seg": torch.tensor(0.1), "seg_att": torch.tensor(0.2), "tv": torch.tensor(0.3)}
    paper = LossWeights()
    assert (paper.recon, paper.feature, paper.gan, paper.seg, paper.seg_att, paper.tv) == (100, 5e-6, 1, 100, 10, 10)
    assert paper.total(terms) == pytest.approx(50 + 0.5 + 2 + 10 + 2 + 3)
    assert LossWeights(seg=0, seg_att=0).total(terms) == pytest.approx(50 + 0.5 + 2 + 3)
    with pytest.raises(ValueError, match="zero"):
        LossWeights(0, 0, 0, 0, 0, 0).total(terms)
    with pytest.raises(KeyError):
        paper.total({"style": torch.tensor(1.0)})


def test_feature_sum_is_normalised_to_the_papers_256_px_scale() -> None:
    """The same content at 64 px and 256 px gives the same L_F; at 256 px the loss is the raw per-image sum."""
    assert feature_sum_scale((256, 256)) == 1.0 and feature_sum_scale((64, 64)) == 16.0
    assert feature_sum_scale((64, 128)) == 8.0 and feature_sum_scale((64, 64), None) == 1.0
    torch.manual_seed(0)
    fake_small, real_small = torch.rand(2, 5, 16, 16), torch.rand(2, 5, 16, 16)  # relu3_2 of 64-px images: 1/4 size

    def up(t: torch.Tensor) -> torch.Tensor:  # the same content on the 256-px grid (each cell 4×4 times)
        return torch.nn.functional.interpolate(t, scale_factor=4, mode="nearest")

    raw_small = feature_loss(fake_small, real_small, "sum")
    raw_large = feature_loss(up(fake_small), up(real_small), "sum")
    assert raw_large == pytest.approx(16 * raw_small.item(), rel=1e-5)  # the raw sum: w2 weighs it 16x less at 64 px
    at_256 = feature_loss(up(fake_small), up(real_small), "sum", feature_sum_scale((256, 256)))
    assert torch.equal(at_256, raw_large)  # exactly the pre-normalisation value at the paper's size
    at_64 = feature_loss(fake_small, real_small, "sum", feature_sum_scale((64, 64)))
    assert at_64 == pytest.approx(at_256.item(), rel=1e-5)
    assert feature_loss(fake_small, real_small, "mean", 16.0) == feature_loss(fake_small, real_small, "mean")
