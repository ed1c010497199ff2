"""Pretrained backbones built from the weights manifest (``bench.weights``), never downloaded silently."""

from __future__ import annotations

import torch
from torch import nn

from bench import weights


def vgg19_features(allow_uncalibrated: bool = False) -> tuple[nn.Sequential, bool]:
    """torchvision's VGG-19 ``features`` (ImageNet weights), frozen and in eval mode.

    Returns ``(features, calibrated)``. With ``allow_uncalibrated`` and no weights on disk, the network has torch's
    default random initialisation (seeded by the caller) and ``calibrated`` is False: every number computed with it
    must say so. Inputs are expected ImageNet-normalised (see ``imagenet_normalise``).
    """
    from torchvision.models import vgg19

    path = weights.require("vgg19", allow_uncalibrated=allow_uncalibrated)
    model = vgg19(weights=None)
    if path is not None:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    features = model.features.eval()
    for param in features.parameters():
        param.requires_grad_(False)
    return features, path is not None


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    """[0,1] RGB → torchvision's ImageNet normalisation."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std


# Indices of the ReLU outputs in torchvision's vgg19().features, by the usual layer names.
VGG19_RELU = {
    "relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_2": 13, "relu3_3": 15,
    "relu3_4": 17, "relu4_1": 20, "relu4_2": 22, "relu4_3": 24, "relu4_4": 26, "relu5_1": 29, "relu5_2": 31,
    "relu5_3": 33, "relu5_4": 35,
}
