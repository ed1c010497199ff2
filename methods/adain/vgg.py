"""The frozen VGG-19 that AdaIN, WCT and SPADE-VAE (its perceptual loss) share, from the weights manifest.

Without the published ImageNet weights the build fails with ``MissingWeightsError`` (file, checksum, how to get it)
unless the method was given ``allow_uncalibrated: true``; then the VGG has a fixed random initialisation (seed 0)
and the method reports ``calibrated = False``. A checkpoint records which VGG it was trained with, and loading it
into a method built with the other kind is refused: a decoder trained to invert random features is no AdaIN/WCT.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from core.errors import BenchError
from core.pretrained import VGG19_RELU, imagenet_normalise, vgg19_features
from core.seeding import seeded

_CACHE: dict[bool, tuple[nn.Sequential, bool]] = {}


def load_vgg19(allow_uncalibrated: bool, upto: str) -> tuple[nn.Sequential, bool]:
    """torchvision's VGG-19 ``features`` up to and including the ReLU ``upto`` (e.g. ``relu4_1``), frozen."""
    if upto not in VGG19_RELU:
        raise ValueError(f"unknown VGG-19 layer {upto!r}; known: {', '.join(VGG19_RELU)}")
    key = bool(allow_uncalibrated)
    if key not in _CACHE:  # building vgg19() (with its 120M-parameter classifier) takes seconds: do it once
        with seeded(0):  # the random weights, when there are no pretrained ones, are the same in every process
            _CACHE[key] = vgg19_features(allow_uncalibrated=allow_uncalibrated)
    features, calibrated = _CACHE[key]
    sliced = copy.deepcopy(features[: VGG19_RELU[upto] + 1]).eval()
    for param in sliced.parameters():
        param.requires_grad_(False)
    return sliced, calibrated


def check_size(method: str, size: int, pools: int, what: str) -> None:
    """A decoder mirroring VGG up to a layer after ``pools`` max-pools gives back the input size only for multiples
    of 2^pools, and its reflection padding needs at least a 2×2 feature map there."""
    multiple, minimum = 2 ** pools, 2 ** (pools + 1)
    if size % multiple or size < minimum:
        raise BenchError(f"{method} needs images whose size is a multiple of {multiple} px and at least {minimum} px;"
                         f" {what} is {size}", hint=f"set {what.split()[0]} (and load_size) to e.g. {max(minimum, 32)}")


class VGGEncoder(nn.Module):
    """Runs [0,1] RGB images (ImageNet-normalised first, unless ``normalise=False``) through the frozen VGG and
    returns the activations at ``layers`` (ReLU names), stopping at the deepest one asked for."""

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.features = features

    def train(self, mode: bool = True) -> VGGEncoder:  # frozen: stays in eval mode
        return super().train(False)

    def forward(self, images: torch.Tensor, layers: list[str], normalise: bool = True) -> dict[str, torch.Tensor]:
        stops = {VGG19_RELU[name]: name for name in layers}
        last = max(stops)
        if last >= len(self.features):
            raise ValueError(f"this encoder stops before {stops[last]}")
        x = imagenet_normalise(images) if normalise else images
        out: dict[str, torch.Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in stops:
                out[stops[index]] = x
            if index == last:
                break
        return out


class FrozenVGGState:
    """Mixin for methods with a frozen VGG network named ``vgg_name``: checkpoints record whether it was the
    published one, keep its weights only when it was random, and refuse to mix the two kinds."""

    vgg_name = "vgg_encoder"
    vgg_calibrated: bool

    @property
    def calibrated(self) -> bool:
        return self.vgg_calibrated

    def networks(self) -> dict[str, nn.Module]:  # pragma: no cover - provided by the method
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"meta": {"vgg_calibrated": self.vgg_calibrated}}
        for name, net in self.networks().items():
            if name != self.vgg_name or not self.vgg_calibrated:  # published weights come from the manifest
                state[name] = net.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = state.get("meta", {}).get("vgg_calibrated")
        if saved is None:
            raise BenchError("checkpoint lacks the VGG calibration record", hint="re-train with this version")
        if saved != self.vgg_calibrated:
            kinds = {True: "the published ImageNet VGG-19", False: "a random (uncalibrated) VGG-19"}
            raise BenchError(f"checkpoint was trained with {kinds[saved]} but this method was built with "
                             f"{kinds[self.vgg_calibrated]}",
                             hint="build the method the way the checkpoint was trained (allow_uncalibrated and the "
                                  "presence of the VGG weights file), or re-train")
        for name, net in self.networks().items():
            if name == self.vgg_name and self.vgg_calibrated:
                continue
            if name not in state:
                raise KeyError(f"checkpoint lacks network {name!r}")
            net.load_state_dict(state[name])
