"""pytorch-fid's FID Inception (its port of the TF graph ``inception-2015-12-05``), fed from the weights manifest.

pytorch-fid's constructor fetches its weights with ``load_state_dict_from_url``; we hand it the verified local state
dict instead (or, uncalibrated, a seeded random one), so it never downloads. Not torchvision's ImageNet Inception-v3:
those weights give different FIDs (pytorch-fid #11).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import torch
from torch import nn

from core.errors import BenchError
from core.features.registry import FeatureExtractor, register


def _fid_inception_structure() -> nn.Module:
    """pytorch-fid's FID Inception graph with freshly initialised weights (its own blocks, no weight loading).

    Mirrors ``pytorch_fid.inception.fid_inception_v3`` minus the download; ``FIDInception.create`` checks the
    structure by loading this state dict into pytorch-fid's own constructor with ``strict=True``.
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


@register("fid_inception")
class FIDInception(FeatureExtractor):
    """``pytorch_fid.inception.InceptionV3`` returning the block of ``dims`` features (2048: pool3; 64/192/768:
    earlier spatial maps). ``forward(images)`` takes [N,3,H,W] RGB in [0,1] and returns pytorch-fid's list of
    outputs; the module resizes to 299×299 (bilinear, align_corners=False) and maps to [-1,1] itself."""

    artifact = "inception_fid"
    network = "pytorch_fid.inception.InceptionV3 (FID Inception, TF inception-2015-12-05 port)"
    input = "RGB [0,1]; resized to 299x299 and mapped to [-1,1] inside"
    options: ClassVar[dict[str, Any]] = {"dims": 2048}

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @classmethod
    def check_options(cls, options: Any) -> dict[str, Any]:
        from pytorch_fid.inception import InceptionV3

        opts = super().check_options(options)
        if opts["dims"] not in InceptionV3.BLOCK_INDEX_BY_DIM:
            raise BenchError(f"FID Inception has no {opts['dims']}-d features",
                             hint=f"valid dims: {', '.join(map(str, InceptionV3.BLOCK_INDEX_BY_DIM))}")
        return {"dims": int(opts["dims"])}

    @classmethod
    def create(cls, path: Path | None, seed: int, device: torch.device, **options: Any) -> FIDInception:
        from pytorch_fid import inception as pfi

        if path is not None:
            state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            state = _fid_inception_structure().state_dict()
        block = pfi.InceptionV3.BLOCK_INDEX_BY_DIM[options["dims"]]
        with mock.patch.object(pfi, "load_state_dict_from_url", lambda url, progress=True: state):
            model = pfi.InceptionV3([block], resize_input=True, normalize_input=True, use_fid_inception=True)
        return cls(model)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.model(images)
