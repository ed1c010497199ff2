"""``spade``: SPADE (Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019) without
the image encoder, i.e. the official code with ``--use_vae`` off (NVlabs/SPADE @fecacc92, ``generator.py``): the
generator starts from the conditioning map downsampled (nearest) to 8×8 and a 3×3 conv, and the output is a
deterministic function of the label map. It is Table 1's "SPADE" row in CoCosNet (Zhang et al., CVPR 2020).

It has no exemplar input: ``translate(content, exemplar)`` ignores the exemplar (guidance ``none``), so the label-map
protocols run it like every method and its style scores show what ignoring the exemplar gives.

``content``: the conditioning of the label-map protocols, float [N, input_nc, H, W] (one-hot label map with a
don't-care channel, face-edge or pose channels), or integer class maps [N,H,W] (one-hot to label_nc = input_nc).
Training data: ``a[i]["input"]`` (or ``label_map``) and ``b[i]["image"]`` in [0,1]. Output: [N,3,H,W] in [0,1].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from core.errors import BenchError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.conditioning import as_conditioning, batch_conditioning
from methods.common.frozen import FrozenEncoders
from methods.common.paired import (
    AdamPairState,
    adam_pair,
    generated_image,
    labelmap_batch,
    labelmap_input,
    optimise,
    paired_training,
)
from methods.common.spade import PARAM_FREE_NORMS, SPADEDiscriminator, SPADEGenerator, init_xavier
from methods.common.spade_losses import generator_losses, hinge_d_step, perceptual_net
from methods.common.training import require_kind, set_requires_grad

DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # the VGG loss needs VGG-19 ImageNet weights; true: random VGG, uncalibrated
    # conditioning channels (``semantic_nc``) and classes; the label-map protocols set both.
    # ADE20k: 150 classes + "don't care", no instance maps, 256×256 (load 286 → crop 256, flip)
    "input_nc": 151, "label_nc": 151, "crop_size": 256, "load_size": 286, "flip": True,
    # generator ``spade`` (normal: 5 up-samplings from 8×8), norm_G spectralspadesyncbatch3x3, hidden 128
    "ngf": 64, "n_up_blocks": 4, "spade_hidden": 128, "param_free_norm": "sync",
    # discriminator: multiscale (2), n_layers 4, spectral instance norm, conditioned on the map
    "ndf": 64, "n_layers_d": 4, "num_d": 2,
    # objective: hinge GAN + 10·feature matching + 10·VGG
    "lambda_feat": 10.0, "lambda_vgg": 10.0,
    "vgg_input": "raw",  # official: the [-1,1] generator output goes into VGG unnormalised; "imagenet" corrects it
    # optimisation: TTUR (G lr/2 = 1e-4, D 2·lr = 4e-4), Adam β=(0, 0.9); 100 + 100 epochs at batch 32
    "lr": 2e-4, "beta1": 0.0, "beta2": 0.9, "batch_size": 32, "steps": 126_320, "decay_steps": 63_160,
    "init_gain": 0.02, "checkpoint_every": 1000, "log_every": 10,
}


@METHODS.register("spade")
class SPADE(FrozenEncoders, AdamPairState, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="none", directions="AB", needs_label_maps=True,
        notes="label map → image, deterministic (no image encoder, --use_vae off): the exemplar has no effect, "
              "protocols still run it; VGG loss needs VGG-19 ImageNet weights")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}

    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """``param_free_norm`` is one of ``PARAM_FREE_NORMS``."""
        if params["param_free_norm"] not in PARAM_FREE_NORMS:
            raise BenchError(f"param_free_norm must be one of {', '.join(PARAM_FREE_NORMS)}, "
                             f"got {params['param_free_norm']!r}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.vgg = perceptual_net(p)  # checkpoints keep only its record
        self._build(0)

    def _build(self, seed: int) -> None:
        """Networks and optimisers from ``seed`` (spectral norm's power-iteration vectors included)."""
        p = self.params
        with seeded(seed):
            self.G = SPADEGenerator(p["input_nc"], p["crop_size"], p["ngf"], None, p["n_up_blocks"],
                                    p["spade_hidden"], p["param_free_norm"])
            self.D = SPADEDiscriminator(p["input_nc"] + 3, p["ndf"], p["n_layers_d"], p["num_d"])
            for net in (self.G, self.D):
                init_xavier(net, p["init_gain"])
        for net in self.networks().values():
            net.to(self.device)
        self.opt_g, self.opt_d, self.sched_g, self.sched_d = adam_pair(  # TTUR
            self.G.parameters(), self.D.parameters(), p, p["lr"] / 2, p["lr"] * 2)

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        require_kind("spade", data, "paired")
        p = self.params
        loop, sampler = paired_training(self, data, ctx, self._build)
        batches = loop.load([sampler, sampler], [data.a, data.b])
        for step in loop:
            a, b = next(batches)
            seg = batch_conditioning(a, p["input_nc"], p["label_nc"], "spade")
            loop.report(step, self._train_step(*labelmap_batch(seg, b["image"], p, ctx.seed, step, self.device)))
        self.eval_mode()

    def _train_step(self, seg: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        set_requires_grad(self.D, False)
        fake = self.G(seg)
        losses = generator_losses(self.D, self.vgg, seg, fake, real, self.params)
        optimise(self.opt_g, sum(losses.values()))  # type: ignore[arg-type]
        # discriminator, on a fresh fake (the official ``compute_discriminator_loss`` regenerates it)
        with torch.no_grad():
            fake = self.G(seg)
        hinge_d_step(self.D, self.opt_d, seg, fake, real, losses)
        self.sched_g.step()
        self.sched_d.step()
        return losses

    # -- inference --------------------------------------------------------------------------------------------
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        """Label map → image; ``exemplar`` and ``seed`` have no effect (deterministic generator)."""
        p = self.params
        seg, size = labelmap_input("spade", direction, as_conditioning(content, p["input_nc"], p["label_nc"], "spade"),
                                   p["crop_size"], self.device)
        self.eval_mode()
        with torch.no_grad():
            out = self.G(seg)
        return generated_image("spade", out, size)
