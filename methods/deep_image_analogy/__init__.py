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

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import BenchError
from core.features.torchvision_nets import VGG19_RELU, imagenet_normalise
from methods import METHODS
from methods.base import Capabilities, Direction, Method
from methods.common.frozen import FrozenEncoders
from methods.deep_image_analogy.analogy import LAYERS, WEIGHT_FNS, Network, Settings, analogy, transfer
from methods.deep_image_analogy.wls import wls_refine

DEFAULTS: dict[str, Any] = {  # official values: msracver/Deep-Image-Analogy@632b928, see README "Parameters"
    "allow_uncalibrated": False,  # true: random VGG-19 when the ImageNet weights are absent (results uncalibrated)
    "patch_sizes": [3, 3, 3, 5, 5],  # PatchMatch patch side per layer, relu5_1 → relu1_1
    "vote_patch": 3,  # patch of the final pixel-level vote
    "radii": [None, 6, 6, 4, 4],  # random-search radius per layer (None: A's longer side / 16, the whole map)
    "alphas": [0.9, 0.8, 0.7, 0.2],  # blending α for relu4_1 … relu1_1 (blend weight level 3)
    "weight_fn": "step",  # "step": α·[M ≥ τ] as the official code; "sigmoid": α·σ(κ(M − τ)) as the paper's §4.2
    "kappa": 300.0,  # κ of the paper's sigmoid (weight_fn: sigmoid only)
    "tau": 0.05,  # τ, the threshold on the min-max-normalised response M
    "iterations": 10,  # PatchMatch iterations per layer
    "deconv_iters": 100,  # L-BFGS iterations per feature reconstruction
    "test_size": None,  # None: the official size limits (OFFICIAL_LIMITS); an int: both images squared to it
    "refine": "wls",  # "wls": the official photo refinement (README: photo to photo); "none": the plain vote
}

OFFICIAL_LIMITS = (200, 700, 350000)  # shortest side, longest side, area (DeepAnalogy.cu:120-206)
REFINES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "wls": wls_refine, "none": lambda image_a, result: result}


def official_size(height: int, width: int) -> tuple[int, int]:
    """(H, W) after the official input rules (DeepAnalogy.cu:120-194, in that order, aspect kept): a side above 700
    is scaled to 700, then a side below 200 to 200, then an area above 350 000 to 350 000. Raises BenchError for an
    aspect the rules cannot meet (DA:201-206)."""
    low, high, area = OFFICIAL_LIMITS
    h, w = float(height), float(width)

    def scaled(ratio: float) -> tuple[float, float]:
        return float(round(h * ratio)), float(round(w * ratio))  # cv::resize(Size(), fx, fy) rounds

    for side, bound, above in ((0, high, True), (1, high, True), (0, low, False), (1, low, False)):
        value = (h, w)[side]
        if (value > bound) if above else (value < bound):
            h, w = scaled(bound / value)
    if h * w > area:
        h, w = scaled((area / (h * w)) ** 0.5)
    if max(h, w) > high or min(h, w) < low:
        raise BenchError(f"deep_image_analogy: a {height}×{width} image cannot meet the official size limits "
                         f"(sides {low}–{high}, area ≤ {area})", hint="crop it closer to square, or set test_size")
    return int(h), int(w)


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
        if any(int(k) < 1 or int(k) % 2 == 0 for k in (*params["patch_sizes"], params["vote_patch"])):
            raise BenchError(f"deep_image_analogy patch_sizes and vote_patch must be odd, got "
                             f"{params['patch_sizes']}, {params['vote_patch']}")
        for key, known in (("weight_fn", WEIGHT_FNS), ("refine", REFINES)):
            if params[key] not in known:
                raise BenchError(f"deep_image_analogy {key} must be one of {sorted(known)}, got {params[key]!r}")
        size = params["test_size"]
        if size is not None and (int(size) < 16 or int(size) % 16):
            raise BenchError(f"deep_image_analogy test_size must be a multiple of 16, got {size}",
                             hint="relu5_1 sits after four 2× poolings; test_size: null keeps the official sizes")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.vgg = features.get("vgg19", upto="relu5_1", init="model", seed=0,
                                allow_uncalibrated=self.params["allow_uncalibrated"])
        p = self.params
        self.settings = Settings(patch_sizes=tuple(int(k) for k in p["patch_sizes"]), vote_patch=int(p["vote_patch"]),
                                 radii=tuple(None if r is None else int(r) for r in p["radii"]),
                                 alphas=tuple(float(a) for a in p["alphas"]), weight_fn=str(p["weight_fn"]),
                                 kappa=float(p["kappa"]), tau=float(p["tau"]), iterations=int(p["iterations"]),
                                 deconv_iters=int(p["deconv_iters"]))

    def networks(self) -> dict[str, nn.Module]:
        return {"vgg_encoder": self.vgg}

    def _prepared(self, image: torch.Tensor) -> torch.Tensor:
        """[3,H,W] in [0,1] at the working size: ``test_size`` squared, or the official limits (bicubic as cv2)."""
        size = self.params["test_size"]
        hw = (int(size), int(size)) if size is not None else official_size(*image.shape[-2:])
        image = image.float().to(self.device)[None]
        if tuple(image.shape[-2:]) != hw:
            image = F.interpolate(image, size=hw, mode="bicubic", align_corners=False)
        return image[0].clamp(0, 1)

    def _pyramid(self, image: torch.Tensor) -> list[torch.Tensor]:
        """``LEVELS`` features of one image [3,H,W]: relu5_1 … relu1_1, then the network input."""
        with torch.no_grad():
            feats = self.vgg(image[None], list(LAYERS))
        return [feats[k][0] for k in LAYERS] + [imagenet_normalise(image[None])[0]]

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
        net = Network(self.vgg.features, VGG19_RELU)  # type: ignore[arg-type]
        generator = torch.Generator().manual_seed(seed)
        refine = REFINES[self.params["refine"]]
        outs = []
        for i in range(content.size(0)):
            a, bp = self._prepared(target_image[i]), self._prepared(exemplar[i])
            nnf_ab, _ = analogy(self._pyramid(a), self._pyramid(bp), net, self.settings, generator)
            out = refine(a, transfer(bp, nnf_ab, self.settings))
            outs.append(F.interpolate(out[None], size=tuple(content.shape[-2:]), mode="bicubic",
                                      align_corners=False)[0])
        return torch.stack(outs).clamp(0, 1)
