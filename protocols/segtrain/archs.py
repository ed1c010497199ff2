"""Trainable segmenter architectures of the segmenter-training kit, registered in ``SEGMENTER_ARCHS``.

Every architecture builds a ``SegmenterNet``: ``forward(x)`` takes [N,3,H,W] ImageNet-normalised RGB (torchvision's
mean/std on [0,1]) and returns class scores [N,K,⌈H/s⌉,⌈W/s⌉] at the architecture's output stride ``s``; the kit
upsamples them bilinearly to the input size. Parameters split into ``backbone`` (base learning rate) and ``head``
(the classifier, ``head_lr_mult`` × the base rate, DeepLab's 10×).

- ``deeplabv2_resnet101`` — DeepLab-v2 "DeepLab-ASPP-L" (Chen et al., TPAMI 2018, §3.1 atrous convolution, §3.2
  ASPP, §4.1 ResNet-101): ResNet-101 whose last two stages (conv4_x, conv5_x) are dilated by 2 and 4 instead of
  strided, output stride 8; ASPP-L = four parallel 3×3 convolutions with dilation rates 6, 12, 18, 24 from the 2048
  conv5 channels straight to the K class scores, summed (official caffe prototxt ``fc1_c0..c3`` + ``Eltwise SUM``;
  the same head in kazuto1011/deeplab-pytorch ``ATROUS_RATES: [6, 12, 18, 24]`` and AdaptSegNet's
  ``Classifier_Module``), weights N(0, 0.01²), zero biases. BatchNorm is frozen (statistics and affine parameters),
  as DeepLab-v2 trains ResNet with ``use_global_stats`` and batches of 1–10 images. Single scale: no multi-scale
  input fusion (EGSC-IT §4: "a single-scale Deeplab model"), no CRF. ImageNet initialisation: torchvision's
  ResNet-101 (IMAGENET1K_V1, registry name ``resnet101``). Difference from the original: torchvision's ResNet-101
  is "v1.5" (stride on the 3×3 convolution; the MSRA caffe model DeepLab used strides the 1×1) with other published
  weights; layer shapes and the parameter count are the same.
- ``deeplabv3_resnet50``, ``deeplabv3_mobilenet_v3_large`` — torchvision's DeepLabV3 (Chen et al. 2017: ASPP with
  image pooling, output stride 8 / 16) without the auxiliary head, backbone initialised from torchvision's ImageNet
  classifiers (``resnet50`` / ``mobilenet_v3_large``) as torchvision's own ``weights_backbone`` does; BatchNorm
  trains, so they need batches of 2 or more (the image-pooling branch normalises one value per image). Documented
  alternatives, not the paper's segmenter.
- ``small`` — four 3×3 conv–BN–ReLU layers (two strided, then dilations 2 and 4; output stride 4) and a 1×1
  classifier, random initialisation: smoke/cpu scale only, no pretrained weights needed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import nn

from core.registry import Registry

ASPP_RATES = (6, 12, 18, 24)  # DeepLab-v2 ASPP-L


class SegmenterNet(nn.Module):
    """``head(trunk(x))``; with ``frozen_bn`` every BatchNorm stays in eval mode and takes no gradient."""

    def __init__(self, backbone: nn.Module, head: nn.Module, frozen_bn: bool = False) -> None:
        super().__init__()
        self.backbone, self.head, self.frozen_bn = backbone, head, frozen_bn
        if frozen_bn:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    for param in module.parameters():
                        param.requires_grad_(False)

    def train(self, mode: bool = True) -> SegmenterNet:
        super().train(mode)
        if self.frozen_bn:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class _TorchvisionSegmenter(SegmenterNet):
    """torchvision's ``IntermediateLayerGetter`` backbone returns a dict; its ``out`` feeds the head."""

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)["out"]


class SegmenterArch:
    """One trainable architecture. ``backbone`` names the feature-registry ImageNet classifier whose weights
    initialise the trunk (None: random initialisation, nothing to refuse)."""

    registry_name: ClassVar[str] = ""
    backbone: ClassVar[str | None] = None
    output_stride: ClassVar[int]
    min_batch: ClassVar[int] = 1
    description: ClassVar[str] = ""

    @classmethod
    def build(cls, num_classes: int, backbone_state: Mapping[str, torch.Tensor] | None) -> SegmenterNet:
        """The network for ``num_classes`` classes; ``backbone_state`` is the ImageNet classifier's full
        ``state_dict`` (loaded strictly into the trunk). Random parts are drawn from the current torch RNG."""
        raise NotImplementedError


SEGMENTER_ARCHS: Registry[type[SegmenterArch]] = Registry("segmenter architecture")


class ASPPL(nn.Module):
    """DeepLab-v2 ASPP-L: Σ_r conv3×3_rate r (x) over ``rates``; [N,C,h,w] → [N,K,h,w]."""

    def __init__(self, in_channels: int, num_classes: int, rates: tuple[int, ...] = ASPP_RATES) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, num_classes, 3, padding=rate, dilation=rate) for rate in rates)
        for conv in self.branches:
            nn.init.normal_(conv.weight, 0.0, 0.01)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out


def _without(prefix: str, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith(prefix)}


def _within(prefix: str, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


@SEGMENTER_ARCHS.register("deeplabv2_resnet101")
class DeepLabV2ResNet101(SegmenterArch):
    backbone = "resnet101"
    output_stride = 8
    description = "DeepLab-v2 ASPP-L (rates 6/12/18/24) on a dilated ImageNet ResNet-101, frozen BN, single scale"

    @classmethod
    def build(cls, num_classes: int, backbone_state: Mapping[str, torch.Tensor] | None) -> SegmenterNet:
        from torchvision.models import resnet101

        resnet = resnet101(weights=None, replace_stride_with_dilation=[False, True, True])
        trunk = nn.Sequential(OrderedDict(
            (name, getattr(resnet, name))
            for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")))
        if backbone_state is not None:
            trunk.load_state_dict(_without("fc.", backbone_state))
        return SegmenterNet(trunk, ASPPL(2048, num_classes), frozen_bn=True)


class _TorchvisionDeepLabV3(SegmenterArch):
    min_batch = 2
    variant: ClassVar[str]

    @classmethod
    def build(cls, num_classes: int, backbone_state: Mapping[str, torch.Tensor] | None) -> SegmenterNet:
        from torchvision.models import segmentation

        model = getattr(segmentation, f"deeplabv3_{cls.variant}")(weights=None, weights_backbone=None,
                                                                  num_classes=num_classes, aux_loss=False)
        if backbone_state is not None:
            # torchvision keeps the classifier's names in the backbone (ResNet: conv1…layer4; MobileNet: the
            # ``features`` indices), so the ImageNet weights load strictly once the classifier layers are dropped
            state = _without("fc.", backbone_state) if cls.variant.startswith("resnet") else \
                _within("features.", backbone_state)
            model.backbone.load_state_dict({k: v for k, v in state.items() if k in model.backbone.state_dict()},
                                           strict=True)
        return _TorchvisionSegmenter(model.backbone, model.classifier)


@SEGMENTER_ARCHS.register("deeplabv3_resnet50")
class DeepLabV3ResNet50(_TorchvisionDeepLabV3):
    backbone = "resnet50"
    variant = "resnet50"
    output_stride = 8
    description = "torchvision DeepLabV3-ResNet-50 (ImageNet backbone, no aux head): documented alternative"


@SEGMENTER_ARCHS.register("deeplabv3_mobilenet_v3_large")
class DeepLabV3MobileNetV3(_TorchvisionDeepLabV3):
    backbone = "mobilenet_v3_large"
    variant = "mobilenet_v3_large"
    output_stride = 16
    description = "torchvision DeepLabV3-MobileNetV3-Large (ImageNet backbone, no aux head): documented alternative"


def _conv_bn_relu(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@SEGMENTER_ARCHS.register("small")
class Small(SegmenterArch):
    output_stride = 4
    description = "four dilated conv-BN-ReLU layers + 1×1 classifier, random init (smoke/cpu scale)"

    @classmethod
    def build(cls, num_classes: int, backbone_state: Mapping[str, torch.Tensor] | None) -> SegmenterNet:
        trunk = nn.Sequential(_conv_bn_relu(3, 32, stride=2), _conv_bn_relu(32, 64, stride=2),
                              _conv_bn_relu(64, 64, dilation=2), _conv_bn_relu(64, 64, dilation=4))
        return SegmenterNet(trunk, nn.Conv2d(64, num_classes, 1))
