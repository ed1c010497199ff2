"""EGSC-IT losses: UNIT's VAE/GAN/cycle terms (paper Eq. 3) and the perceptual loss (Eq. 4–5).

Perceptual loss, as in the official ``encoder_style_content_loss``:
- VGG-19 features at relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 ("the first convolutional layer of the five
  blocks") of [0,1] images, each L2-normalised over the spatial dimensions per sample and channel;
- content: Σ_i (i+1)/5 · L1(φ_i(x_A), φ_i(x_AB)) + the same for B → BA (the paper's "linear weighting scheme");
- style: Σ_i L1(Gram(φ_i(x_AB)), Gram(φ_i(x_B))) + L1(Gram(φ_i(x_BA)), Gram(φ_i(x_A))), Gram normalised by H·W;
- L1 = mean absolute difference (``tf.reduce_mean(tf.abs(...))``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.features import FeatureExtractor

PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Official ``discriminator_loss`` with LSGAN: ½ (mean (D(x) − 1)² + mean D(G(z))²)."""
    return 0.5 * (((real - 1.0) ** 2).mean() + (fake**2).mean())


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    return ((fake - 1.0) ** 2).mean()


def kl_mean_square(mu: torch.Tensor) -> torch.Tensor:
    """UNIT's KL for N(μ, I) up to a constant, as the official ``KL_divergence``: mean(μ²)."""
    return mu.pow(2).mean()


def gram(features: torch.Tensor) -> torch.Tensor:
    """[B,C,H,W] → [B,C,C], divided by H·W."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def perceptual_features(vgg: FeatureExtractor, images: torch.Tensor) -> list[torch.Tensor]:
    """The five perceptual layers of the frozen VGG-19 (``core.features``, ImageNet-normalised inside) for [0,1]
    images, each L2-normalised per sample and channel over space."""
    return [F.normalize(x.flatten(2), p=2, dim=2, eps=1e-12).view_as(x)
            for x in vgg(images, PERCEPTUAL_LAYERS).values()]


def perceptual_losses(vgg: FeatureExtractor, x_a: torch.Tensor, x_b: torch.Tensor, x_ab: torch.Tensor,
                      x_ba: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(content, style) of Eq. 5 for both directions; all images in [0,1]."""
    with torch.no_grad():  # targets: the real images carry no gradient
        feats_real = perceptual_features(vgg, torch.cat([x_a, x_b]))
    feats_fake = perceptual_features(vgg, torch.cat([x_ab, x_ba]))
    n = len(feats_fake)
    content = x_ab.new_zeros(())
    style = x_ab.new_zeros(())
    for i, (real, fake) in enumerate(zip(feats_real, feats_fake, strict=True)):
        f_a, f_b = real.chunk(2)
        f_ab, f_ba = fake.chunk(2)
        weight = (i + 1) / n
        content = content + weight * ((f_a - f_ab).abs().mean() + (f_b - f_ba).abs().mean())
        style = style + (gram(f_ab) - gram(f_b)).abs().mean() + (gram(f_ba) - gram(f_a)).abs().mean()
    return content, style
