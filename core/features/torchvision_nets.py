"""torchvision ImageNet backbones (VGG-19, VGG-16, AlexNet ``features``), DeepLabV3 segmenters and whole ImageNet
classifiers (ResNet-101/50, MobileNetV3-Large: initialisations of trainable segmenters).

Random initialisation recipes (used only with ``allow_uncalibrated`` when the weights file is missing). Two exist
for VGG because the harness drew two different random VGG-19s before this registry, and at smoke scale those random
weights ARE the numbers, so each consumer keeps its own draw:

- ``init="features"`` (metrics: style loss, CoCosNet metrics, LPIPS' VGG-16): the ``features`` stack alone (the
  120M-parameter classifier is never built), initialised as torchvision's VGG initialises it (Kaiming-normal fan-out
  convolutions, zero biases), drawn straight after construction;
- ``init="model"`` (methods: AdaIN, WCT, SPADE-VAE, EGSC-IT, SEGIN): the whole ``vgg19()`` is built and its
  ``features`` kept; torchvision initialises the convolutions after the classifier's default init has consumed
  random numbers, so these weights differ from ``features`` at the same seed. Methods' VGG settings never entered a
  hash, so ``settings()`` names this recipe (``random_init``) while the metrics' settings stay as they were.

AlexNet has one recipe (``model``: the whole ``alexnet()``, its ``features`` kept), as LPIPS always built it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from core.errors import BenchError
from core.features.registry import FeatureExtractor, register

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    """[N,3,H,W] RGB in [0,1] → torchvision's ImageNet normalisation ((x − mean) / std per channel)."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std


def vgg_relu_index(convs_per_block: Sequence[int]) -> dict[str, int]:
    """Index of each ReLU in torchvision's VGG ``features`` by the usual name (``relu<block>_<conv>``): every conv
    is followed by its ReLU, every block by a max-pool."""
    index, out = 0, {}
    for block, convs in enumerate(convs_per_block, start=1):
        for conv in range(1, convs + 1):
            out[f"relu{block}_{conv}"] = index + 1
            index += 2
        index += 1
    return out


VGG19_RELU = vgg_relu_index((2, 2, 4, 4, 4))
VGG16_RELU = vgg_relu_index((2, 2, 3, 3, 3))
ALEXNET_RELU = {"relu1": 1, "relu2": 4, "relu3": 7, "relu4": 9, "relu5": 11}


def _load_features(features: nn.Sequential, path: Path) -> None:
    """Load the ``features.``-prefixed entries of a full torchvision checkpoint (strict on ``features``)."""
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    prefix = "features."
    features.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})


class TorchvisionFeatures(FeatureExtractor):
    """A torchvision classifier's ``features`` stack, cut after ``upto`` (or after the deepest of ``layers``).

    ``forward(images, layers=None, normalise=True)`` takes [N,3,H,W] RGB in [0,1] (ImageNet-normalised inside
    unless ``normalise=False``) and returns ``{layer name: activation}`` in network order, stopping at the deepest
    layer asked for (default: the ``layers`` given to ``get``). Raises ``ValueError`` for a layer past the cut.
    """

    input = "RGB [0,1], ImageNet mean/std"
    relu: ClassVar[dict[str, int]]
    inits: ClassVar[dict[str, Callable[[], nn.Sequential]]]  # recipe name → random ``features``; first = default
    options: ClassVar[dict[str, Any]] = {"upto": None, "layers": None, "init": None}

    def __init__(self, features: nn.Sequential, layers: tuple[str, ...] | None) -> None:
        super().__init__()
        self.features = features
        self.layers = layers

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        opts = super().check_options(options)
        layers = None if opts["layers"] is None else tuple(opts["layers"])
        for layer in [*(layers or ()), *([opts["upto"]] if opts["upto"] else [])]:
            if layer not in cls.relu:
                raise BenchError(f"unknown {cls.registry_name} layer {layer!r}", hint=f"known: {', '.join(cls.relu)}")
        init = opts["init"] or next(iter(cls.inits))
        if init not in cls.inits:
            raise BenchError(f"{cls.registry_name} has no random init {init!r}", hint=f"known: {', '.join(cls.inits)}")
        return {"upto": opts["upto"], "layers": layers, "init": init}

    @classmethod
    def create(cls, path: Path | None, seed: int, device: torch.device, **options: Any) -> TorchvisionFeatures:
        init = options["init"]
        features = cls.inits[next(iter(cls.inits)) if path is not None else init]()  # loaded: skip the classifier
        if path is not None:
            _load_features(features, path)
        cuts = [cls.relu[name] for name in (options["layers"] or ())] + \
            ([cls.relu[options["upto"]]] if options["upto"] else [])
        return cls(features[: max(cuts) + 1] if cuts else features, options["layers"])

    def settings(self) -> dict[str, Any]:
        init = self.build_options.get("init")
        if self.calibrated or init == next(iter(self.inits)):
            return super().settings()
        return super().settings() | {"random_init": init}

    def forward(self, images: torch.Tensor, layers: Sequence[str] | None = None, normalise: bool = True
                ) -> dict[str, torch.Tensor]:
        layers = layers or self.layers
        if not layers:
            raise ValueError(f"name the {self.registry_name} layers to return")
        stops = {self.relu[name]: name for name in layers}
        last = max(stops)
        if last >= len(self.features):
            raise ValueError(f"this {self.registry_name} extractor stops before {stops[last]}")
        x = imagenet_normalise(images) if normalise else images
        if self.placement[1]:
            x = x.contiguous(memory_format=torch.channels_last)
        out: dict[str, torch.Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in stops:
                out[stops[index]] = x
            if index == last:
                break
        return out


def _vgg_features_only(config: str) -> nn.Sequential:
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs[config], batch_norm=False)
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


def _torchvision_model_features(name: str) -> nn.Sequential:
    from torchvision import models

    return getattr(models, name)(weights=None).features


@register("vgg19")
class VGG19(TorchvisionFeatures):
    """VGG-19 ``features`` (torchvision, ImageNet): perceptual/style losses of methods, CoCosNet and style metrics."""

    artifact = "vgg19"
    network = "torchvision vgg19().features"
    relu = VGG19_RELU
    inits: ClassVar[dict[str, Callable[[], nn.Sequential]]] = {
        "features": lambda: _vgg_features_only("E"), "model": lambda: _torchvision_model_features("vgg19")}


@register("vgg16")
class VGG16(TorchvisionFeatures):
    """VGG-16 ``features`` (torchvision, ImageNet): LPIPS' ``vgg`` backbone."""

    artifact = "vgg16"
    network = "torchvision vgg16().features"
    relu = VGG16_RELU
    inits: ClassVar[dict[str, Callable[[], nn.Sequential]]] = {"features": lambda: _vgg_features_only("D")}


@register("alexnet")
class AlexNet(TorchvisionFeatures):
    """AlexNet ``features`` (torchvision, ImageNet): LPIPS' ``alex`` backbone."""

    artifact = "alexnet"
    network = "torchvision alexnet().features"
    relu = ALEXNET_RELU
    inits: ClassVar[dict[str, Callable[[], nn.Sequential]]] = {
        "model": lambda: _torchvision_model_features("alexnet")}


# -- Segmenters ----------------------------------------------------------------------------------------------------

DEEPLABV3_VARIANTS = ("resnet50", "resnet101", "mobilenet_v3_large")


class DeepLabV3(FeatureExtractor):
    """torchvision DeepLabV3 (COCO subset, 21 PASCAL-VOC classes, auxiliary head kept as published).

    ``forward(images)`` takes [N,3,H,W] RGB in [0,1] (ImageNet-normalised inside) and returns torchvision's
    ``{"out": logits [N,21,h,w], "aux": ...}``.
    """

    variant: ClassVar[str]
    input = "RGB [0,1], ImageNet mean/std"

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @classmethod
    def create(cls, path: Path | None, seed: int, device: torch.device, **options: Any) -> DeepLabV3:
        from torchvision.models import segmentation

        model = getattr(segmentation, f"deeplabv3_{cls.variant}")(weights=None, weights_backbone=None,
                                                                  num_classes=21, aux_loss=True)
        if path is not None:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True, mmap=True))
        return cls(model)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model(imagenet_normalise(images))


for _variant in DEEPLABV3_VARIANTS:
    register(f"deeplabv3_{_variant}")(type(f"DeepLabV3_{_variant}", (DeepLabV3,), {
        "variant": _variant, "artifact": f"deeplabv3_{_variant}",
        "network": f"torchvision deeplabv3_{_variant} (COCO subset, 21 VOC classes)",
        "__doc__": DeepLabV3.__doc__, "__module__": __name__}))


# -- ImageNet classifiers: initialisations of trainable segmenters ------------------------------------------------

IMAGENET_CLASSIFIERS = ("resnet101", "resnet50", "mobilenet_v3_large")


class ImageNetClassifier(FeatureExtractor):
    """A whole torchvision ImageNet classifier (IMAGENET1K_V1 weights). The harness uses its ``state_dict()`` as
    the initialisation of a trainable segmenter's backbone (``protocols.segmentation_training``); the registry
    provides the manifest check, the refusal without weights and the seeded random initialisation.

    ``forward(images)`` takes [N,3,H,W] RGB in [0,1] (ImageNet-normalised inside) and returns logits [N,1000].
    """

    variant: ClassVar[str]
    input = "RGB [0,1], ImageNet mean/std"

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @classmethod
    def create(cls, path: Path | None, seed: int, device: torch.device, **options: Any) -> ImageNetClassifier:
        from torchvision import models

        model = getattr(models, cls.variant)(weights=None)
        if path is not None:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True, mmap=True))
        return cls(model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(imagenet_normalise(images))


for _variant in IMAGENET_CLASSIFIERS:
    register(_variant)(type(f"ImageNet_{_variant}", (ImageNetClassifier,), {
        "variant": _variant, "artifact": _variant, "network": f"torchvision {_variant}() (ImageNet-1k, IMAGENET1K_V1)",
        "__doc__": ImageNetClassifier.__doc__, "__module__": __name__}))
