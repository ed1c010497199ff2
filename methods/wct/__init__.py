"""``wct``: universal style transfer via feature transforms (Li et al., NeurIPS 2017).

Five decoders, one per VGG-19 layer ReLU_X_1 (X = 1..5), are trained only to reconstruct images from the frozen
VGG features (the paper's "reconstruction decoder": pixel + feature reconstruction loss, λ = 1). Stylisation needs
no style-specific training: at each level, coarse to fine (relu5_1 first), the current image is encoded, its
features are whitened and coloured with the exemplar's covariance ("whitening and coloring transforms"), blended
with the unstylised features by α (0.6), and decoded ("multi-level coarse-to-fine stylization", Fig. 2c). As in
EGSC-IT Table 4, the decoders are trained inside the harness on the protocol's images (both domains); the exemplar
decides the output domain.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from core import features
from core.errors import BenchError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.decoders import mirror_decoder
from methods.common.frozen import FrozenEncoders
from methods.common.images import check_size, paired_jitter, resize_to
from methods.common.sampling import PER_STEP_B, BatchSampler, step_generator
from methods.common.schedules import inverse_time_decay
from methods.training import TrainLoop, check_finite
from methods.wct.transform import blend, wct

DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # true: random VGG-19 when the ImageNet weights are absent (results uncalibrated)
    "levels": [5, 4, 3, 2, 1],  # coarse-to-fine stylisation order (the official test_wct.lua)
    "alpha": 0.6,  # style strength (official default)
    "feature_weight": 1.0,  # λ of the reconstruction loss
    # optimisation: not stated in the paper; AdaIN's recipe (Adam 1e-4, lr/(1 + 5e-5·t), batch 8)
    "lr": 1e-4, "beta1": 0.9, "beta2": 0.999, "lr_decay": 5e-5, "batch_size": 8, "steps": 160_000,
    "load_size": 512, "crop_size": 256, "test_size": 512,
    "checkpoint_every": 2000, "log_every": 10,
}


def layer(level: int) -> str:
    return f"relu{level}_1"


@METHODS.register("wct")
class WCT(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="unpaired", guidance="exemplar", directions="both",
        notes="multi-level whitening-colouring of VGG-19 relu5_1..relu1_1 features with reconstruction decoders; "
              "needs VGG-19 ImageNet weights (allow_uncalibrated: random VGG, results marked uncalibrated)")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg_encoder": "vgg"}

    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        levels = [int(k) for k in p["levels"]]
        if not levels or any(k not in range(1, 6) for k in levels) or len(set(levels)) != len(levels):
            raise BenchError(f"wct levels must be distinct values in 1..5, got {p['levels']}")
        self.levels = levels
        for key in ("crop_size", "test_size"):
            if p[key] is not None:
                self._check_size(p[key], key)
        self.vgg = features.get("vgg19", upto=layer(max(levels)), init="model", seed=0,
                                allow_uncalibrated=p["allow_uncalibrated"])
        self.decoders = nn.ModuleDict({str(k): mirror_decoder(layer(k)) for k in sorted(levels)})
        self._init(0)

    def _check_size(self, size: int, what: str) -> None:
        check_size("wct", size, max(self.levels) - 1, what)  # relu5_1 sits after 4 max-pools

    def _init(self, seed: int) -> None:
        with seeded(seed):
            for module in self.decoders.modules():
                if isinstance(module, nn.Conv2d):
                    module.reset_parameters()
        p = self.params  # fresh optimiser for fresh weights
        self.opt = torch.optim.Adam(self.decoders.parameters(), lr=p["lr"], betas=(p["beta1"], p["beta2"]))
        self.sched = inverse_time_decay(self.opt, p["lr_decay"])

    def networks(self) -> dict[str, nn.Module]:
        return {"vgg_encoder": self.vgg, **{f"decoder{k}": dec for k, dec in self.decoders.items()}}

    def optimizers(self) -> dict[str, Any]:
        return {"decoders": self.opt, "sched_decoders": self.sched}

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        p = self.params
        self._init(ctx.seed)
        torch.manual_seed(ctx.seed)
        loop = TrainLoop(self, ctx, steps=p["steps"], checkpoint_every=p["checkpoint_every"],
                         log_every=p["log_every"])
        self.decoders.train()
        half = max(1, p["batch_size"] // 2)  # half from each domain (AdaIN's sampling)
        sampler_a = BatchSampler(len(data.a), half, ctx.seed, "per_step")  # type: ignore[arg-type]
        sampler_b = BatchSampler(len(data.b), half, ctx.seed + PER_STEP_B, "per_step")  # type: ignore[arg-type]
        batches = loop.load([sampler_a, sampler_b], [data.a, data.b])
        for step in loop:
            a, b = next(batches)
            images = torch.cat([a["image"], b["image"]])
            [images] = paired_jitter([images], p["load_size"], p["crop_size"], False, step_generator(ctx.seed, step))
            if step == loop.start:
                self._check_size(images.shape[-1], "crop_size (the training image size)")
            loop.report(step, self._train_step(images.to(self.device)))
        self.eval_mode()

    def _train_step(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """L = ‖I_o − I_i‖² + λ‖Φ(I_o) − Φ(I_i)‖² per decoder (squared norms per image, averaged over the batch)."""
        n = images.size(0)
        with torch.no_grad():
            feats = self.vgg(images, [layer(k) for k in self.levels])
        losses: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=images.device)
        for k in self.levels:
            out = self.decoders[str(k)](feats[layer(k)])
            pixel = (out - images).pow(2).sum() / n
            feature = (self.vgg(out, [layer(k)])[layer(k)] - feats[layer(k)]).pow(2).sum() / n
            loss_k = pixel + self.params["feature_weight"] * feature
            total = total + loss_k
            losses[f"rec{k}"] = loss_k
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        self.sched.step()
        return {"loss": total, **losses}

    def stylise(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The multi-level pipeline on images already at the working size."""
        image = content
        style_feats = self.vgg(style, [layer(k) for k in self.levels])
        for k in self.levels:
            f_c = self.vgg(image, [layer(k)])[layer(k)]
            image = self.decoders[str(k)](blend(wct(f_c, style_feats[layer(k)]), f_c, self.params["alpha"]))
        return image

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if exemplar is None:
            raise BenchError("wct needs an exemplar (the style image)", hint="pass one exemplar per input image")
        if exemplar.size(0) != content.size(0):
            raise BenchError(f"got {content.size(0)} inputs but {exemplar.size(0)} exemplars",
                             hint="pass one exemplar per input image")
        size = content.shape[-2:]
        c = resize_to(content.to(self.device), self.params["test_size"])
        if self.params["test_size"] is None:
            self._check_size(min(size), "test_size (the input size)")
        s = resize_to(exemplar.to(self.device), self.params["test_size"])
        with torch.no_grad():
            self.decoders.eval()
            out = self.stylise(c, s)
        return check_finite("wct", resize_to(out, tuple(size)).clamp(0.0, 1.0))
