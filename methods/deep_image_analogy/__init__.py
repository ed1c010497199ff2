"""``deep_image_analogy``: Visual Attribute Transfer through Deep Image Analogy (Liao et al., SIGGRAPH 2017).

Which side is which in the semantic-image-analogy protocol: the paper's A (the image whose structure is kept) is the
image behind the target layout (``target_image``), its B′ (the image whose appearance is transferred) is the source
image (``exemplar``); the output is the paper's A′ — the target scene's structure rendered with the source image's
patches, what the protocol asks for (SIA paper §4.2: "DIA needs a pair of images as source and target"). The
layouts (``content``, ``exemplar_labels``) are not used by the algorithm, which matches images only; ``content``
gives the output size. Training-free; the PatchMatch random search is seeded by ``seed``. The algorithm:
``methods.deep_image_analogy.analogy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import BenchError
from core.features.torchvision_nets import VGG19_RELU
from methods import METHODS
from methods.base import Capabilities, Direction, Method
from methods.common.frozen import FrozenEncoders
from methods.deep_image_analogy.analogy import LAYERS, Settings, analogy

DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # true: random VGG-19 when the ImageNet weights are absent (results uncalibrated)
    "patch_sizes": [3, 3, 3, 5, 5],  # PatchMatch patch side per layer, relu5_1 → relu1_1
    "radii": [None, 6, 6, 4, 4],  # random-search radius per layer (None: whole map; later layers start upsampled)
    "alphas": [0.8, 0.7, 0.6, 0.1],  # blending α for relu4_1 … relu1_1 (§4.2)
    "kappa": 300.0,  # κ of the magnitude sigmoid (§4.2)
    "tau": 0.05,  # τ of the magnitude sigmoid (§4.2)
    "iterations": 10,  # PatchMatch iterations per layer
    "deconv_iters": 20,  # L-BFGS iterations per feature reconstruction (§4.2)
    "test_size": 224,  # both images are resized to this side (relu5_1 needs a multiple of 16)
}


@METHODS.register("deep_image_analogy")
class DeepImageAnalogy(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="none", guidance="exemplar", directions="AB", needs_label_maps=True, needs_exemplar_labels=True,
        needs_target_image=True,
        notes="coarse-to-fine bidirectional PatchMatch on VGG-19 relu5_1..relu1_1 with feature reconstruction; "
              "needs the image behind the target layout and VGG-19 ImageNet weights (allow_uncalibrated: random)")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg_encoder": "vgg"}
    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        if len(params["patch_sizes"]) != 5 or len(params["radii"]) != 5 or len(params["alphas"]) != 4:
            raise BenchError("deep_image_analogy needs 5 patch_sizes and radii (relu5_1 → relu1_1) and 4 alphas "
                             "(relu4_1 → relu1_1)")
        if any(int(k) < 1 or int(k) % 2 == 0 for k in params["patch_sizes"]):
            raise BenchError(f"deep_image_analogy patch_sizes must be odd, got {params['patch_sizes']}")
        size = params["test_size"]
        if size is None or int(size) < 16 or int(size) % 16:
            raise BenchError(f"deep_image_analogy test_size must be a multiple of 16, got {size}",
                             hint="relu5_1 sits after four 2× poolings")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.vgg = features.get("vgg19", upto="relu5_1", init="model", seed=0,
                                allow_uncalibrated=self.params["allow_uncalibrated"])
        p = self.params
        self.settings = Settings(patch_sizes=tuple(int(k) for k in p["patch_sizes"]),
                                 radii=tuple(None if r is None else int(r) for r in p["radii"]),
                                 alphas=tuple(float(a) for a in p["alphas"]), kappa=float(p["kappa"]),
                                 tau=float(p["tau"]), iterations=int(p["iterations"]),
                                 deconv_iters=int(p["deconv_iters"]))

    def networks(self) -> dict[str, nn.Module]:
        return {"vgg_encoder": self.vgg}

    def subnets(self) -> list[nn.Module]:
        """VGG-19 from after layer i+1 up to layer i (relu4_1 → relu5_1, …, relu1_1 → relu2_1)."""
        stack = self.vgg.features  # type: ignore[union-attr]
        return [stack[VGG19_RELU[LAYERS[i + 1]] + 1: VGG19_RELU[LAYERS[i]] + 1] for i in range(len(LAYERS) - 1)]

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0, exemplar_labels: torch.Tensor | None = None,
                  target_image: torch.Tensor | None = None) -> torch.Tensor:
        """A′ [N,3,H,W] in [0,1] (H, W: ``content``'s) from ``target_image`` [N,3,·,·] (the paper's A) and
        ``exemplar`` [N,3,·,·] (its B′), both in [0,1]. Raises BenchError without either."""
        if target_image is None:
            raise BenchError("deep_image_analogy needs the image behind the target layout (target_image=)",
                             hint="run it in a protocol that offers target images (semantic_image_analogy)")
        if exemplar is None:
            raise BenchError("deep_image_analogy needs the source image (exemplar=)",
                             hint="pass one exemplar per input")
        if not (content.size(0) == exemplar.size(0) == target_image.size(0)):
            raise BenchError("deep_image_analogy: content, exemplar and target_image differ in batch size",
                             hint="pass one exemplar and one target image per input")
        size = int(self.params["test_size"])

        def prepared(images: torch.Tensor) -> torch.Tensor:
            images = images.float().to(self.device)
            return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)

        a, bp = prepared(target_image), prepared(exemplar)
        subnets = self.subnets()
        generator = torch.Generator().manual_seed(seed)
        outs = []
        with torch.no_grad():
            feats_a, feats_bp = self.vgg(a, list(LAYERS)), self.vgg(bp, list(LAYERS))
        for i in range(a.size(0)):
            outs.append(analogy([feats_a[k][i] for k in LAYERS], [feats_bp[k][i] for k in LAYERS], subnets, bp[i],
                                self.settings, generator))
        out = torch.stack(outs)
        out = F.interpolate(out, size=tuple(content.shape[-2:]), mode="bilinear", align_corners=False)
        return out.clamp(0, 1)
