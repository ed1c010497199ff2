"""``adain``: arbitrary style transfer with adaptive instance normalisation (Huang & Belongie, ICCV 2017).

A frozen VGG-19 encodes content and exemplar up to relu4_1, AdaIN gives the content features the exemplar's
channel-wise mean and standard deviation, and a learned decoder maps them back to an image. Only the decoder is
trained, with the content + style losses of §6.2. As in EGSC-IT Table 4 ("trained using MNIST-Single data") the
decoder is trained inside the harness on the protocol's images: content and style images are drawn from both
domains (each content image is paired with a style image of the other domain), so one model translates both ways
and the exemplar alone decides the output domain.
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
from methods.adain.losses import STYLE_LAYERS, content_loss, style_loss
from methods.adain.networks import adain
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.decoders import mirror_decoder
from methods.common.frozen import FrozenEncoders
from methods.common.images import check_size, paired_jitter, resize_to
from methods.common.sampling import PER_STEP_B, BatchSampler, step_generator
from methods.common.schedules import inverse_time_decay
from methods.training import TrainLoop, check_finite

DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # true: random VGG-19 when the ImageNet weights are absent (results uncalibrated)
    # objective: L_c + λ L_s; λ = 0.1 trains the paper's decoder.t7 (the official README: "-styleWeight 1e-1")
    "content_weight": 1.0, "style_weight": 0.1,
    # optimisation (train.lua): Adam 1e-4, β1 0.9, lr/(1 + 5e-5·t), batch 8, 160k iterations
    "lr": 1e-4, "beta1": 0.9, "beta2": 0.999, "lr_decay": 5e-5, "batch_size": 8, "steps": 160_000,
    # images: resized to load_size, random crop_size crops for training; test images resized to test_size
    # (EGSC-IT: "we resize the input image to 512×512 resolution")
    "load_size": 512, "crop_size": 256, "test_size": 512,
    "alpha": 1.0,  # content–style trade-off at test time (Eq. 14); 1 = full stylisation
    "checkpoint_every": 2000, "log_every": 10,
}


def domain_samplers(data: TrainData, batch_size: int, seed: int) -> tuple[BatchSampler, BatchSampler]:
    """Per-step samplers of half a batch each over domain A (``seed``) and domain B (``seed + PER_STEP_B``)."""
    half = max(1, batch_size // 2)
    return (BatchSampler(len(data.a), half, seed, "per_step"),  # type: ignore[arg-type]
            BatchSampler(len(data.b), half, seed + PER_STEP_B, "per_step"))  # type: ignore[arg-type]


def style_content_batch(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """(contents, styles) of a step's half batches ``a`` from A and ``b`` from B (``domain_samplers``): half the
    contents from A and half from B; each content's style image comes from the other domain."""
    return torch.cat([a["image"], b["image"]]), torch.cat([b["image"], a["image"]])


@METHODS.register("adain")
class AdaIN(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="unpaired", guidance="exemplar", directions="both",
        notes="VGG-19 relu4_1 features re-normalised to the exemplar's mean/std; trained decoder; needs VGG-19 "
              "ImageNet weights (allow_uncalibrated: random VGG, results marked uncalibrated)")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg_encoder": "vgg"}

    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        for key in ("crop_size", "test_size"):  # relu4_1 sits after 3 max-pools
            if p[key] is not None:
                check_size("adain", p[key], 3, key)
        # random weights (allow_uncalibrated, no file): the whole vgg19() built under seed 0, as always
        self.vgg = features.get("vgg19", upto="relu4_1", init="model", seed=0,
                                allow_uncalibrated=p["allow_uncalibrated"])
        self.decoder = mirror_decoder("relu4_1")
        self._init(0)

    def _init(self, seed: int) -> None:
        with seeded(seed):
            for module in self.decoder.modules():
                if isinstance(module, nn.Conv2d):
                    module.reset_parameters()
        p = self.params  # fresh optimiser for fresh weights
        self.opt = torch.optim.Adam(self.decoder.parameters(), lr=p["lr"], betas=(p["beta1"], p["beta2"]))
        self.sched = inverse_time_decay(self.opt, p["lr_decay"])

    def networks(self) -> dict[str, nn.Module]:
        return {"vgg_encoder": self.vgg, "decoder": self.decoder}

    def optimizers(self) -> dict[str, Any]:
        return {"decoder": self.opt, "sched_decoder": self.sched}

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        p = self.params
        self._init(ctx.seed)
        torch.manual_seed(ctx.seed)
        loop = TrainLoop(self, ctx, steps=p["steps"], checkpoint_every=p["checkpoint_every"],
                         log_every=p["log_every"])
        samplers = domain_samplers(data, p["batch_size"], ctx.seed)
        self.decoder.train()
        batches = loop.load(samplers, [data.a, data.b])
        for step in loop:
            content, style = style_content_batch(*next(batches))
            rng = step_generator(ctx.seed, step)  # independent crops for content and style
            [content] = paired_jitter([content], p["load_size"], p["crop_size"], False, rng)
            [style] = paired_jitter([style], p["load_size"], p["crop_size"], False, rng)
            if step == loop.start:
                check_size("adain", content.shape[-1], 3, "crop_size (the training image size)")
            loop.report(step, self._train_step(content.to(self.device), style.to(self.device)))
        self.eval_mode()

    def _train_step(self, content: torch.Tensor, style: torch.Tensor) -> dict[str, torch.Tensor]:
        p = self.params
        with torch.no_grad():
            style_feats = self.vgg(style, STYLE_LAYERS)
            target = adain(self.vgg(content, ["relu4_1"])["relu4_1"], style_feats["relu4_1"])  # t, Eq. 9
        output = self.decoder(target)  # g(t)
        out_feats = self.vgg(output, STYLE_LAYERS)
        loss_c = content_loss(out_feats["relu4_1"], target)
        loss_s = style_loss(out_feats, style_feats)
        loss = p["content_weight"] * loss_c + p["style_weight"] * loss_s
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.sched.step()
        return {"loss": loss, "content": loss_c, "style": loss_s}

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if exemplar is None:
            raise BenchError("adain needs an exemplar (the style image)", hint="pass one exemplar per input image")
        if exemplar.size(0) != content.size(0):
            raise BenchError(f"got {content.size(0)} inputs but {exemplar.size(0)} exemplars",
                             hint="pass one exemplar per input image")
        size, alpha = content.shape[-2:], self.params["alpha"]
        if self.params["test_size"] is None:
            check_size("adain", min(size), 3, "test_size (the input size)")
        c = resize_to(content.to(self.device), self.params["test_size"])
        s = resize_to(exemplar.to(self.device), self.params["test_size"])
        with torch.no_grad():
            self.decoder.eval()
            f_c = self.vgg(c, ["relu4_1"])["relu4_1"]
            t = adain(f_c, self.vgg(s, ["relu4_1"])["relu4_1"])
            out = self.decoder(alpha * t + (1 - alpha) * f_c)
        return check_finite("adain", resize_to(out, tuple(size)).clamp(0.0, 1.0))
