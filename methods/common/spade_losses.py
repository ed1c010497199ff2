"""SPADE's objective (Park et al. 2019, appendix A; NVlabs/SPADE ``models/networks/loss.py``), shared by the SPADE
family: hinge GAN averaged over the discriminator scales, discriminator feature matching (λ_feat = 10) and the
VGG-19 perceptual loss (relu1_1..relu5_1 weighted 1/32..1, L1; pix2pixHD's ``VGGLoss`` is the same).

Discriminator outputs are lists (one per scale) of feature lists whose last item is the logit map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import BenchError
from methods.common.paired import optimise
from methods.common.spade import discriminate_pair
from methods.common.training import set_requires_grad

VGG_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
VGG_WEIGHTS = [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0]


def hinge_d(preds: list[list[torch.Tensor]], real: bool) -> torch.Tensor:
    """Discriminator hinge loss on each scale's logit map, averaged over the scales (a scalar ≥ 0)."""
    sign = 1.0 if real else -1.0
    return sum((-torch.clamp(sign * p[-1] - 1.0, max=0.0).mean() for p in preds),
               torch.zeros((), device=preds[0][-1].device)) / len(preds)


def hinge_g(preds: list[list[torch.Tensor]]) -> torch.Tensor:
    """Generator hinge loss −mean D(fake), averaged over the scales."""
    return sum((-p[-1].mean() for p in preds), torch.zeros((), device=preds[0][-1].device)) / len(preds)


def feature_matching(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]], weight: float) -> torch.Tensor:
    """Σ_scales Σ_layers L1(D_l(fake), D_l(real)) · λ / #scales, over every layer but the logits."""
    total = torch.zeros((), device=fake[0][0].device)
    for f_scale, r_scale in zip(fake, real, strict=True):
        for f, r in zip(f_scale[:-1], r_scale[:-1], strict=True):
            total = total + F.l1_loss(f, r.detach()) * weight / len(fake)
    return total


def vgg_loss(fake_feats: dict[str, torch.Tensor], real_feats: dict[str, torch.Tensor]) -> torch.Tensor:
    """Σ_l w_l · L1(φ_l(fake), φ_l(real)) over :data:`VGG_LAYERS` with :data:`VGG_WEIGHTS` (unweighted by λ)."""
    return sum((w * F.l1_loss(fake_feats[name], real_feats[name].detach())
                for name, w in zip(VGG_LAYERS, VGG_WEIGHTS, strict=True)),
               torch.zeros((), device=fake_feats[VGG_LAYERS[0]].device))


def vgg_features(vgg: features.FeatureExtractor, images: torch.Tensor, vgg_input: str) -> dict[str, torch.Tensor]:
    """VGG-19 features at :data:`VGG_LAYERS` of generator-range images [N,3,H,W] in [-1,1]. ``raw``: fed as they are
    (the official SPADE and pix2pixHD code: no ImageNet normalisation); ``imagenet``: mapped to [0,1] and normalised."""
    if vgg_input == "raw":
        return vgg(images, VGG_LAYERS, normalise=False)
    return vgg((images + 1) / 2, VGG_LAYERS)


def perceptual_net(p: dict[str, Any]) -> features.FeatureExtractor | None:
    """The VGG-19 loss network (relu5_1) when ``p["lambda_vgg"]`` > 0, else None; a loss network only, not among a
    method's ``networks()``. ``BenchError`` when ``p["vgg_input"]`` is not ``raw`` or ``imagenet``."""
    if p["vgg_input"] not in ("raw", "imagenet"):
        raise BenchError(f"vgg_input must be 'raw' or 'imagenet', got {p['vgg_input']!r}")
    if p["lambda_vgg"] <= 0:
        return None
    return features.get("vgg19", upto="relu5_1", init="model", seed=0, allow_uncalibrated=p["allow_uncalibrated"])


def vgg_term(vgg: features.FeatureExtractor, fake: torch.Tensor, real: torch.Tensor, vgg_input: str,
             weight: float) -> torch.Tensor:
    """λ · :func:`vgg_loss` of generator-range images [N,3,H,W] in [-1,1] (see :func:`vgg_features`)."""
    return vgg_loss(vgg_features(vgg, fake, vgg_input), vgg_features(vgg, real, vgg_input)) * weight


def generator_losses(D: nn.Module, vgg: features.FeatureExtractor | None, seg: torch.Tensor, fake: torch.Tensor,
                     real: torch.Tensor, p: dict[str, Any], extra: dict[str, torch.Tensor] | None = None
                     ) -> dict[str, torch.Tensor]:
    """SPADE's ``compute_generator_loss`` terms, in the official order (their sum's rounding depends on it): ``GAN``
    (hinge), ``GAN_Feat`` (λ ``p["lambda_feat"]``), then ``extra`` (spade_vae's ``KLD``), then ``VGG`` (λ
    ``p["lambda_vgg"]``, input ``p["vgg_input"]``) when ``vgg`` is given. Images [N,3,H,W] in [-1,1]."""
    pred_fake, pred_real = discriminate_pair(D, seg, fake, real)
    losses = {"GAN": hinge_g(pred_fake), "GAN_Feat": feature_matching(pred_fake, pred_real, p["lambda_feat"]),
              **(extra or {})}
    if vgg is not None:
        losses["VGG"] = vgg_term(vgg, fake, real, p["vgg_input"], p["lambda_vgg"])
    return losses


DLoss = Callable[[list[list[torch.Tensor]], bool], torch.Tensor]


def hinge_d_step(D: nn.Module, opt_d: torch.optim.Optimizer, seg: torch.Tensor, fake: torch.Tensor,
                 real: torch.Tensor, losses: dict[str, torch.Tensor], d_loss: DLoss = hinge_d,
                 weight: float | None = None) -> None:
    """SPADE's discriminator update (``compute_discriminator_loss``): D back in training, conditional outputs on
    (seg, fake) and (seg, real) [N,C,H,W], ``losses["D_Fake"]``/``["D_real"]`` = ``d_loss`` (· ``weight`` if
    given), one step of ``opt_d`` on their sum. ``fake`` must already be detached or made without gradients."""
    set_requires_grad(D, True)
    pred_fake, pred_real = discriminate_pair(D, seg, fake, real)
    losses["D_Fake"], losses["D_real"] = d_loss(pred_fake, False), d_loss(pred_real, True)
    if weight is not None:
        losses["D_Fake"], losses["D_real"] = losses["D_Fake"] * weight, losses["D_real"] * weight
    optimise(opt_d, losses["D_Fake"] + losses["D_real"])
