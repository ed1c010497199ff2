"""Pretrained backbones built from the weights manifest (``core.weights``), never downloaded silently.

Every builder here constructs the architecture with random weights first and then loads the manifest's local file;
when the file is missing it either refuses (``MissingWeightsError``) or, with the explicit ``allow_uncalibrated``
opt-in, keeps a seeded random initialisation and reports ``calibrated=False``. Construction runs inside
``forbid_downloads()`` so a third-party library cannot fetch weights behind our back.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import torch
from torch import nn

from core import weights
from core.errors import MissingWeightsError
from core.seeding import seeded


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

# --------------------------------------------------------------------------------------------------------------------
# Additions for metrics: provenance-carrying loaders, download guard, seeded random initialisation.


@dataclass
class Pretrained:
    """A network built from a manifest artifact, with what a metric must record about it."""

    module: nn.Module
    artifact: str  # manifest name
    calibrated: bool  # False: random weights (explicit opt-in)
    checksum: str  # sha256 of the loaded file, or ``random-init(seed=...)``

    def settings(self) -> dict[str, object]:
        return {"artifact": self.artifact, "weights_sha256": self.checksum, "calibrated": self.calibrated}


class DownloadAttemptError(MissingWeightsError):
    """A library tried to download weights while ``forbid_downloads`` was active."""


@contextlib.contextmanager
def forbid_downloads() -> Iterator[None]:
    """Make every torch-hub style download raise instead of touching the network."""

    def refuse(url: str, *args: object, **kwargs: object) -> None:
        raise DownloadAttemptError(
            f"refused to download {url} at runtime: the harness loads pretrained weights only from the manifest",
            hint="run `python -m bench weights status` to see which files are missing, then "
                 "`python -m bench weights download <name>`",
        )

    patches = [mock.patch("torch.hub.load_state_dict_from_url", refuse),
               mock.patch("torch.hub.download_url_to_file", refuse),
               mock.patch("torch.utils.model_zoo.load_url", refuse)]
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        # Modules that bound their own reference to the loader at import time.
        for module in ("torchvision.models._api", "pytorch_fid.inception"):
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
                stack.enter_context(mock.patch(f"{module}.load_state_dict_from_url", refuse))
        yield




def _freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


def _load(name: str, build: Callable[[], nn.Module], allow_uncalibrated: bool, seed: int,
          load: Callable[[nn.Module, dict], None] | None = None) -> Pretrained:
    path = weights.require(name, allow_uncalibrated=allow_uncalibrated)
    with forbid_downloads(), seeded(seed):
        model = build()
    if path is not None:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        (load or (lambda m, s: m.load_state_dict(s)))(model, state)
    return Pretrained(_freeze(model), name, path is not None, weights.weights_checksum(name, path, seed))


def _vgg_features(config: str) -> nn.Sequential:
    """torchvision's VGG ``features`` stack alone (the 120M-parameter classifier is never built), initialised as
    torchvision's VGG initialises it."""
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs[config], batch_norm=False)
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


def _load_prefixed(prefix: str) -> Callable[[nn.Module, dict], None]:
    """Load the ``prefix``-ed entries of a full checkpoint into a sub-module (strict on that sub-module)."""

    def load(module: nn.Module, state: dict) -> None:
        module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})

    return load


def load_vgg19(allow_uncalibrated: bool = False, seed: int = 0) -> Pretrained:
    """VGG-19 ``features`` (ImageNet, torchvision) as a ``Pretrained``; inputs ImageNet-normalised."""
    return _load("vgg19", lambda: _vgg_features("E"), allow_uncalibrated, seed, _load_prefixed("features."))


def load_vgg16(allow_uncalibrated: bool = False, seed: int = 0) -> Pretrained:
    """VGG-16 ``features`` (ImageNet, torchvision), LPIPS' ``vgg`` backbone."""
    return _load("vgg16", lambda: _vgg_features("D"), allow_uncalibrated, seed, _load_prefixed("features."))


def load_alexnet(allow_uncalibrated: bool = False, seed: int = 0) -> Pretrained:
    from torchvision.models import alexnet

    full = _load("alexnet", lambda: alexnet(weights=None), allow_uncalibrated, seed)
    full.module = _freeze(full.module.features)
    return full


def relu_features(features: nn.Sequential, images: torch.Tensor, layers: Sequence[str],
                  index: dict[str, int] | None = None) -> dict[str, torch.Tensor]:
    """Outputs of the named ReLU layers of a VGG ``features`` stack (input already ImageNet-normalised)."""
    index = index or VGG19_RELU
    wanted = {index[name]: name for name in layers}
    out: dict[str, torch.Tensor] = {}
    x = images
    for i, layer in enumerate(features):
        x = layer(x)
        if i in wanted:
            out[wanted[i]] = x
            if len(out) == len(wanted):
                break
    return out


# -- FID Inception -------------------------------------------------------------------------------------------------

def _fid_inception_structure() -> nn.Module:
    """pytorch-fid's FID Inception graph with freshly initialised weights (its own blocks, no weight loading).

    Mirrors ``pytorch_fid.inception.fid_inception_v3`` minus the download; ``fid_inception`` checks the structure
    by loading this state dict into pytorch-fid's own constructor with ``strict=True``.
    """
    from pytorch_fid import inception as pfi

    net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pfi.FIDInceptionE_1(1280)
    net.Mixed_7c = pfi.FIDInceptionE_2(2048)
    # torchvision skips its init here; Kaiming-normal keeps random activations at a usable scale through ~50 layers
    # (the default init shrinks pool3 features to ~1e-8, which would make uncalibrated FIDs pure round-off).
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return net


def fid_inception(allow_uncalibrated: bool = False, dims: int = 2048, seed: int = 0) -> Pretrained:
    """``pytorch_fid.inception.InceptionV3`` fed from the manifest's ``pt_inception-2015-12-05`` file.

    pytorch-fid's constructor fetches its weights with ``load_state_dict_from_url``; we hand it the verified local
    state dict instead (or, uncalibrated, a seeded random one), so it never downloads. Inputs: [0,1] RGB; the
    module resizes to 299×299 (bilinear, align_corners=False) and maps to [-1,1] itself, as pytorch-fid does.
    """
    from pytorch_fid import inception as pfi

    path = weights.require("inception_fid", allow_uncalibrated=allow_uncalibrated)
    if path is not None:
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:
        with seeded(seed):
            state = _fid_inception_structure().state_dict()
    block = pfi.InceptionV3.BLOCK_INDEX_BY_DIM[dims]
    with forbid_downloads(), mock.patch.object(pfi, "load_state_dict_from_url", lambda url, progress=True: state):
        model = pfi.InceptionV3([block], resize_input=True, normalize_input=True, use_fid_inception=True)
    return Pretrained(_freeze(model), "inception_fid", path is not None,
                      weights.weights_checksum("inception_fid", path, seed))


# -- Segmenters ----------------------------------------------------------------------------------------------------

DEEPLABV3_VARIANTS = ("resnet50", "resnet101", "mobilenet_v3_large")


def load_deeplabv3(variant: str = "resnet101", allow_uncalibrated: bool = False, seed: int = 0) -> Pretrained:
    """torchvision DeepLabV3 (COCO subset, 21 VOC classes), weights from the manifest; inputs ImageNet-normalised."""
    from torchvision.models import segmentation

    if variant not in DEEPLABV3_VARIANTS:
        raise ValueError(f"unknown DeepLabV3 variant {variant!r}; valid: {', '.join(DEEPLABV3_VARIANTS)}")
    builder = getattr(segmentation, f"deeplabv3_{variant}")
    return _load(f"deeplabv3_{variant}",
                 lambda: builder(weights=None, weights_backbone=None, num_classes=21, aux_loss=True),
                 allow_uncalibrated, seed)


def artifact_path(name: str, allow_uncalibrated: bool = False) -> Path | None:
    """``weights.require`` re-exported for adapters that load files themselves (e.g. detectron2's checkpointer)."""
    return weights.require(name, allow_uncalibrated=allow_uncalibrated)
