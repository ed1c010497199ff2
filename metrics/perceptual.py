"""LPIPS (Zhang et al. 2018) through the ``lpips`` package, with the backbone loaded from our weights manifest.

``lpips.LPIPS(pretrained=True)`` loads its calibrated linear heads from files inside the package but builds the
AlexNet/VGG-16 backbone with ``torchvision.models.<net>(pretrained=True)``, i.e. it downloads ImageNet weights at
runtime. We build it with ``pnet_rand=True`` (no download; guarded by ``forbid_downloads``) and copy the backbone
weights from the feature registry (``core.features``: ``alexnet`` / ``vgg16``, files from the manifest), or refuse.
Linear heads: the package's own ``weights/v<version>/<net>.pth``, checksum-verified through the manifest.

Input range: the harness passes RGB in [0,1]; LPIPS expects [-1,1], so images are mapped with 2x−1 here (the
package's ``normalize=True``). Passing [0,1] straight to ``lpips.LPIPS`` is the common bug behind wrong LPIPS
numbers (PerceptualSimilarity #83/#84). Version: v0.1 by default; v0.0 (used by 2017–2018 papers, roughly half the
v0.1 values) is available for reproducing old tables and is part of the protocol hash.

Modes:
- ``lpips``: paired distance per image (output vs ground truth, or vs exemplar: ``reference=``), lower is better;
- ``lpips_diversity``: mean distance between outputs generated for the same input under different exemplars or
  noise, averaged per input, then mean ± std over inputs; higher is better. ``pairs="all"`` uses every pair of the
  K outputs (BicycleGAN); ``pairs="consecutive"`` uses (0,1), (1,2), …, (K−2,K−1) (K−1 pairs; MUNIT's 19 pairs from
  20 samples).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from core import features, weights
from core.features import forbid_downloads
from core.seeding import seeded
from metrics import METRICS
from metrics.base import (
    Metric,
    MetricInputError,
    MetricValue,
    PairedMetric,
    check_min_size,
    check_unit_range,
    describe,
    exact_matmul,
    resolve_device,
)
from metrics.inception import package_version

NETS = {"alex": "alexnet", "vgg": "vgg16"}  # LPIPS network name → feature extractor
# Smallest side each backbone's deepest LPIPS layer accepts (AlexNet: conv1 stride 4 and two 3×3/2 pools before
# relu3; VGG-16: four 2×2 pools before relu5_3); smaller inputs end in a torch "output size is too small" error.
MIN_SIZE = {"alex": 31, "vgg": 16}
VERSIONS = ("0.1", "0.0")


def copy_backbone(lpips_net: nn.Module, features: nn.Sequential) -> None:
    """Copy torchvision ``features`` weights into lpips' sliced backbone (children are ``features[int(name)]``)."""
    copied = set()
    for slice_module in lpips_net.children():
        for index, layer in slice_module.named_children():
            source = features[int(index)]
            if type(source) is not type(layer):
                raise RuntimeError(f"lpips backbone layer {index} is {type(layer).__name__}, "
                                   f"torchvision's is {type(source).__name__}")
            layer.load_state_dict(source.state_dict())
            copied.add(int(index))
    with_params = {i for i, layer in enumerate(features) if any(True for _ in layer.parameters())}
    if not with_params <= copied:
        raise RuntimeError(f"lpips backbone misses torchvision layers {sorted(with_params - copied)}")


class LPIPSNetwork:
    """An ``lpips.LPIPS`` module whose backbone and heads both come from verified local files."""

    def __init__(self, net: str = "alex", version: str = "0.1", allow_uncalibrated: bool = False, seed: int = 0,
                 device: str | torch.device | None = None) -> None:
        import lpips

        if net not in NETS:
            raise MetricInputError(f"unknown LPIPS network {net!r}; valid: {', '.join(NETS)}",
                                   hint="lpips.net=alex (default) or lpips.net=vgg")
        if version not in VERSIONS:
            raise MetricInputError(f"unknown LPIPS version {version!r}; valid: {', '.join(VERSIONS)}",
                                   hint="lpips.lpips_version=0.1 (default) or 0.0 (2017–2018 papers)")
        self.net, self.version, self.seed = net, version, seed
        heads = weights.require(f"lpips_{net}_v{version}")  # bundled with the package: never uncalibrated
        self.heads_sha256 = weights.digest_of(heads)
        self.backbone = features.get(NETS[net], allow_uncalibrated=allow_uncalibrated, seed=seed)
        with forbid_downloads(), seeded(seed), warnings.catch_warnings():
            # lpips passes torchvision's deprecated ``pretrained=`` flag (False here: pnet_rand=True)
            warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
            model = lpips.LPIPS(pretrained=True, net=net, version=version, pnet_rand=True, verbose=False,
                                model_path=str(heads))
        copy_backbone(model.net, self.backbone.features)
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)
        for param in self.model.parameters():
            param.requires_grad_(False)

    @property
    def calibrated(self) -> bool:
        return self.backbone.calibrated

    def settings(self) -> dict[str, Any]:
        return {
            "implementation": f"lpips package {package_version('lpips')} (LPIPS, linear heads)",
            "net": self.net, "lpips_version": self.version,
            "heads_sha256": self.heads_sha256, "backbone": self.backbone.artifact,
            "weights_sha256": self.backbone.checksum, "calibrated": self.calibrated,
            "input": "RGB [0,1] mapped to [-1,1] (2x-1) before lpips", "spatial": "mean over positions",
        }

    @torch.inference_mode()
    def distance(self, a: torch.Tensor, b: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
        """[N] float64 distances between equally shaped [N,3,H,W] batches in [0,1]."""
        if a.shape != b.shape:
            raise MetricInputError(f"LPIPS needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}",
                                   hint="pair each output with a reference of the same size (resize one set first)")
        if a.ndim != 4 or a.shape[1] != 3:
            raise MetricInputError(f"LPIPS expects [N,3,H,W] RGB images, got shape {tuple(a.shape)}",
                                   hint="give RGB images stacked as [N,3,H,W]")
        if a.shape[0] == 0:
            raise MetricInputError("LPIPS: no image pairs given", hint="give at least one pair")
        smaller = [n for n, size in MIN_SIZE.items() if size < MIN_SIZE[self.net]]
        check_min_size(a, MIN_SIZE[self.net], f"LPIPS({self.net})", "the smallest input its deepest layer accepts",
                       f"upsample both sets to at least {MIN_SIZE[self.net]} px (and record the filter)"
                       + "".join(f", or lpips.net={n} (needs {MIN_SIZE[n]} px; another protocol)" for n in smaller))
        check_unit_range(a, "LPIPS inputs")
        check_unit_range(b, "LPIPS inputs")
        out = []
        with exact_matmul():
            for start in range(0, a.shape[0], batch_size):
                x = a[start:start + batch_size].to(self.device, torch.float32) * 2 - 1
                y = b[start:start + batch_size].to(self.device, torch.float32) * 2 - 1
                out.append(self.model(x, y).flatten().to("cpu", torch.float64))
        return torch.cat(out)


@METRICS.register("lpips")
class LPIPS(PairedMetric):
    """Paired LPIPS: output vs ground truth (``reference="ground_truth"``) or vs exemplar; lower is better."""
    pretrained_network = "LPIPS's backbone and linear heads"

    direction = "lower"
    best = 0.0
    implementation = "lpips"
    version = "1"
    REFERENCES = ("ground_truth", "exemplar")

    def __init__(self, net: str = "alex", lpips_version: str = "0.1", reference: str = "ground_truth",
                 allow_uncalibrated: bool = False, device: str | None = None, batch_size: int = 32,
                 seed: int = 0, network: LPIPSNetwork | None = None) -> None:
        if reference not in self.REFERENCES:
            raise MetricInputError(f"unknown LPIPS reference {reference!r}; valid: {', '.join(self.REFERENCES)}",
                                   hint="lpips.reference=ground_truth (default) or lpips.reference=exemplar")
        # ``network`` shares one built LPIPS between metric objects; its own settings then apply.
        self.network = network or LPIPSNetwork(net, lpips_version, allow_uncalibrated, seed, device)
        self.reference, self.batch_size = reference, batch_size

    @property
    def calibrated(self) -> bool:
        return self.network.calibrated

    def settings(self) -> dict[str, Any]:
        return super().settings() | self.network.settings() | {
            "mode": "paired", "reference": self.reference, "aggregate": "mean ± std(ddof=0) over images"}

    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return self.network.distance(fake, real, self.batch_size)


def pair_indices(k: int, pairs: str) -> list[tuple[int, int]]:
    if pairs == "all":
        return list(itertools.combinations(range(k), 2))
    if pairs == "consecutive":
        return [(i, i + 1) for i in range(k - 1)]
    raise MetricInputError(f"unknown pairing {pairs!r}; valid: all, consecutive",
                           hint="lpips_diversity.pairs=all (BicycleGAN) or consecutive (MUNIT)")


@METRICS.register("lpips_diversity")
class LPIPSDiversity(Metric):
    """Mean LPIPS between outputs of the same input (different exemplars/noise); higher is more diverse."""
    pretrained_network = "LPIPS's backbone and linear heads"

    direction = "higher"
    inputs = "groups"
    implementation = "lpips"
    version = "1"

    def __init__(self, net: str = "alex", lpips_version: str = "0.1", pairs: str = "all",
                 allow_uncalibrated: bool = False, device: str | None = None, batch_size: int = 32,
                 seed: int = 0, network: LPIPSNetwork | None = None) -> None:
        pair_indices(2, pairs)  # validates the name
        self.network = network or LPIPSNetwork(net, lpips_version, allow_uncalibrated, seed, device)
        self.pairs, self.batch_size = pairs, batch_size

    @property
    def calibrated(self) -> bool:
        return self.network.calibrated

    def settings(self) -> dict[str, Any]:
        return super().settings() | self.network.settings() | {
            "mode": "diversity", "pairs": self.pairs,
            "aggregate": "mean over pairs per input, then mean ± std(ddof=0) over inputs"}

    def per_input(self, groups: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """[N] float64: mean pairwise distance within each group of K ≥ 2 outputs ([N,K,3,H,W] or N × [K,3,H,W])."""
        firsts, seconds, owner = [], [], []
        for g, group in enumerate(groups):
            if group.ndim != 4 or group.shape[0] < 2:
                raise MetricInputError(f"group {g}: need [K≥2,3,H,W] outputs of one input, got {tuple(group.shape)}",
                                       hint="give every input at least 2 outputs (different exemplars or noise)")
            for i, j in pair_indices(group.shape[0], self.pairs):
                firsts.append(group[i])
                seconds.append(group[j])
                owner.append(g)
        if not firsts:
            raise MetricInputError("no output groups given", hint="give one group of K≥2 outputs per input")
        dists = self.network.distance(torch.stack(firsts), torch.stack(seconds), self.batch_size).numpy()
        owner_arr = np.asarray(owner)
        return torch.from_numpy(np.array([dists[owner_arr == g].mean() for g in range(owner_arr.max() + 1)]))

    def __call__(self, groups: torch.Tensor | Sequence[torch.Tensor]) -> MetricValue:
        value = MetricValue.from_samples(self.name, self.per_input(groups), self.direction, self.calibrated)
        return describe(value, self)
