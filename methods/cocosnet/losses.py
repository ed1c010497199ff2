"""CoCosNet's generator losses as the released code computes them (``compute_generator_loss`` and
``get_ctx_loss`` in ``models/pix2pix_model.py`` of microsoft/CoCosNet@de0c1bbd; paper §3.3, Eq. 8–14). Weights are
applied by the caller (``methods.cocosnet``); the functions here return the unweighted terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from methods.common.contextual import Centre, contextual_loss
from methods.common.losses import GANLoss, feature_matching_loss

VGG_LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
FM_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
PERCEPTUAL_LAYERS = {"5_2": "relu5_2", "4_2": "relu4_2"}
_HINGE = GANLoss("hinge")

Preds = Sequence[Sequence[torch.Tensor]]


def hinge_generator(fake: Preds) -> torch.Tensor:
    """−mean D(fake), averaged over the discriminator scales (SPADE's ``GANLoss`` divides by their number)."""
    return _HINGE.generator(fake) / len(fake)


def hinge_discriminator(preds: Preds, real: bool) -> torch.Tensor:
    """mean relu(1 ∓ D(x)), averaged over the scales."""
    return _HINGE(preds, real) / len(preds)


def gan_feature_matching(fake: Preds, real: Preds) -> torch.Tensor:
    """L1 between D's intermediate features of fake and real, summed over layers, averaged over scales."""
    return feature_matching_loss(real, fake)


def self_ref_weights(self_ref: torch.Tensor) -> torch.Tensor:
    """The official per-sample weights self_ref / (Σ self_ref + 1e-5) [B] (zero for retrieved exemplars)."""
    flags = self_ref.float()
    return flags / (flags.sum() + 1e-5)


def vgg_feature_matching(fake: dict[str, torch.Tensor], real: dict[str, torch.Tensor],
                         self_ref: torch.Tensor) -> torch.Tensor:
    """``fm`` (L_feat, Eq. 8): Σ_l w_l · mean(|φ_l(fake) − φ_l(GT)| · s_b) over relu1_2…relu5_2 with
    w = 1/32…1 and s the self-reference weights; the mean runs over the batch too, as ``util.weighted_l1_loss``."""
    weights = self_ref_weights(self_ref).view(-1, 1, 1, 1)
    total = torch.zeros((), device=weights.device)
    for name, w in zip(VGG_LAYERS, FM_WEIGHTS, strict=True):
        total = total + w * ((fake[name] - real[name].detach()).abs() * weights).mean()
    return total


def perceptual(fake: dict[str, torch.Tensor], real: dict[str, torch.Tensor], which: str) -> torch.Tensor:
    """``perc`` (L_perc, Eq. 10): MSE at relu5_2 (``5_2``) or relu4_2 (``4_2``) between output and ground truth
    (the paper writes L1; the code uses the mean squared error)."""
    layer = PERCEPTUAL_LAYERS[which]
    return F.mse_loss(fake[layer], real[layer].detach())


def contextual(fake: dict[str, torch.Tensor], ref: dict[str, torch.Tensor], centre: Centre,
               use_22: bool = False) -> torch.Tensor:
    """``contextual`` (L_context, Eq. 11) output vs exemplar: 8·CX(relu5_2) + 4·CX(relu4_2) + 2·CX(relu3_2 pooled
    2×) (+ CX(relu2_2 pooled 4×) with ``use_22``), each averaged over the batch, bandwidth 0.1."""
    terms = [("relu5_2", 8.0, 1), ("relu4_2", 4.0, 1), ("relu3_2", 2.0, 2)] + ([("relu2_2", 1.0, 4)] if use_22 else [])
    total = torch.zeros((), device=fake["relu5_2"].device)
    for layer, weight, pool in terms:
        x, y = fake[layer], ref[layer].detach()
        if pool > 1:
            x, y = F.avg_pool2d(x, pool), F.avg_pool2d(y, pool)
        total = total + weight * contextual_loss(x, y, h=0.1, centre=centre).mean()
    return total


def warped_mask_loss(warp_mask: torch.Tensor, gt_labels: torch.Tensor, ref_labels: torch.Tensor) -> torch.Tensor:
    """``mask`` (``--warp_mask_losstype direct``): NLL of the warped exemplar one-hot [B,C,h,w] against the input's
    class ids; the ids are down-sampled (nearest) to h×w. Pixels whose class is absent from the exemplar, of
    class 0 ("other") or outside [0, C) (ignore ids) weigh 0; the sum is divided by the total weight + 1e-5.
    gt_labels, ref_labels: long [B,1,H,W] (or [B,H,W])."""
    size = warp_mask.shape[-2:]

    def down(labels: torch.Tensor) -> torch.Tensor:
        labels = labels if labels.dim() == 4 else labels.unsqueeze(1)
        return F.interpolate(labels.float(), size=size, mode="nearest").long().squeeze(1)

    gt, ref = down(gt_labels), down(ref_labels)
    n_classes = warp_mask.size(1)
    valid = (gt > 0) & (gt < n_classes)
    present = torch.zeros(gt.size(0), n_classes + 1, dtype=torch.bool, device=gt.device)
    present.scatter_(1, ref.clamp(0, n_classes).flatten(1), True)  # out-of-range ids land in the extra column
    in_ref = torch.gather(present[:, :n_classes], 1, gt.clamp(0, n_classes - 1).flatten(1)).view_as(gt)
    weights = (valid & in_ref).float()
    nll = F.nll_loss(torch.log(warp_mask + 1e-10), gt.clamp(0, n_classes - 1), reduction="none")
    return (nll * weights).sum() / (weights.sum() + 1e-5)


def warp_cycle(cycled: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``G_warp_cycle`` (L_reg, Eq. 12): L1 between the forward-backward warped exemplar and the exemplar as the
    match grid sees it (average-pooled to the grid, or itself with ``warp_patch``)."""
    return F.l1_loss(cycled, target)


def warp_self(warped: torch.Tensor, real: torch.Tensor, self_ref: torch.Tensor) -> torch.Tensor:
    """``G_warp_self`` (DeepFashion): mean(|warped exemplar − ground truth| · self-reference weights)."""
    return ((warped - real).abs() * self_ref_weights(self_ref).view(-1, 1, 1, 1)).mean()
