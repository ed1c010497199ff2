"""``pix2pixhd``: pix2pixHD (Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation with Conditional
GANs", CVPR 2018; NVIDIA/pix2pixHD @14b3b3c), a baseline of CoCosNet's Table 1.

Label map → image with the global generator G1 (``netG: global``, the official command for 512 px and what the
paper preset uses at 256 px) or G1 + the local enhancer G2 (``netG: local``, the official 1024 px recipe), a
multi-scale PatchGAN (2 scales, 3 layers), LSGAN + 10·feature matching + 10·VGG. The instance-boundary map (§3.3) is
an extra input channel when ``instance_edges`` is on. The instance-wise feature encoder (§3.3, ``--instance_feat``)
is not implemented. It has no exemplar input: guidance ``none``.

``content``: float conditioning [N, input_nc, H, W] or integer class maps [N,H,W] (one-hot to label_nc = input_nc).
Training data: ``a[i]["input"]`` (or ``label_map``) and ``b[i]["image"]`` in [0,1], plus ``a[i]["instance"]`` (long
[H,W] instance ids) when ``instance_edges`` is on. Output: [N,3,H,W] in [0,1].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import BenchError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.conditioning import as_conditioning, batch_conditioning
from methods.common.frozen import FrozenEncoders
from methods.common.init import init_weights
from methods.common.losses import GANLoss
from methods.common.paired import (
    AdamPairState,
    adam_pair,
    generated_image,
    labelmap_batch,
    labelmap_input,
    optimise,
    paired_training,
)
from methods.common.spade_losses import perceptual_net, vgg_term
from methods.common.training import require_kind
from methods.pix2pixhd.networks import instance_edges, make_discriminator, make_generator

DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # the VGG loss needs VGG-19 ImageNet weights; true: random VGG, uncalibrated
    # conditioning channels and classes (the label-map protocols set both); ADE20k 150 + don't care, 256 px
    "input_nc": 151, "label_nc": 151, "crop_size": 256, "load_size": 286, "flip": True,
    "instance_edges": False,  # +1 input channel: the instance-boundary map (needs instance maps; ADE20k: none)
    # generator: global (G1) or local (G1 + G2); official defaults ngf 64, 4 downsamplings, 9 + 3 residual blocks
    "netG": "global", "ngf": 64, "n_downsample_global": 4, "n_blocks_global": 9, "n_blocks_local": 3,
    # discriminator: 2 scales × 3 layers, instance norm; LSGAN
    "ndf": 64, "n_layers_d": 3, "num_d": 2, "gan_mode": "lsgan",
    "lambda_feat": 10.0, "lambda_vgg": 10.0,  # official: the VGG term is weighted by lambda_feat too
    "vgg_input": "raw",  # official: the [-1,1] generator output goes into VGG unnormalised; "imagenet" corrects it
    # Adam lr 2e-4, β (0.5, 0.999), batch 1; 100 + 100 epochs (linear decay) of the 20,210 ADE20k images
    "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 1, "steps": 4_042_000, "decay_steps": 2_021_000,
    "init_gain": 0.02, "checkpoint_every": 1000, "log_every": 10,
}


def feature_matching(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]], n_layers: int,
                     weight: float) -> torch.Tensor:
    """pix2pixHD's L_FM (§3.2 Eq. 4, ``pix2pixHD_model.py``): Σ_scales Σ_layers L1(D_l(fake), D_l(real)) with the
    official weights 1/num_D · 4/(n_layers+1) · λ_feat, over every layer but the logits."""
    scale_w, layer_w = 1.0 / len(fake), 4.0 / (n_layers + 1)
    total = torch.zeros((), device=fake[0][0].device)
    for f_scale, r_scale in zip(fake, real, strict=True):
        for f, r in zip(f_scale[:-1], r_scale[:-1], strict=True):
            total = total + scale_w * layer_w * F.l1_loss(f, r.detach()) * weight
    return total


@METHODS.register("pix2pixhd")
class Pix2PixHD(FrozenEncoders, AdamPairState, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="none", directions="AB", needs_label_maps=True,
        notes="label map → image, deterministic: the exemplar has no effect, protocols still run it; instance "
              "edges only with instance maps (translate(..., instance=)); no instance feature encoder; VGG loss "
              "needs VGG-19 ImageNet weights")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}

    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """``netG`` is ``global`` or ``local`` (pix2pixHD's two generators)."""
        if params["netG"] not in ("global", "local"):
            raise BenchError(f"netG must be 'global' or 'local', got {params['netG']!r}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        multiple = 2 ** (p["n_downsample_global"] + (p["netG"] == "local"))
        if p["crop_size"] % multiple:
            raise BenchError(f"pix2pixhd: crop_size {p['crop_size']} is not a multiple of {multiple}",
                             hint="use a crop_size divisible by 2^n_downsample_global (×2 for netG=local)")
        self.gan = GANLoss(p["gan_mode"])
        self.vgg = perceptual_net(p)  # checkpoints keep only its record
        self._build(0)

    @property
    def net_input_nc(self) -> int:
        return self.params["input_nc"] + int(self.params["instance_edges"])

    def _build(self, seed: int) -> None:
        p = self.params
        with seeded(seed):
            self.G = make_generator(p["netG"], self.net_input_nc, p["ngf"], p["n_downsample_global"],
                                    p["n_blocks_global"], p["n_blocks_local"])
            self.D = make_discriminator(self.net_input_nc + 3, p["ndf"], p["n_layers_d"], p["num_d"])
            for net in (self.G, self.D):  # official weights_init: conv weights N(0, 0.02), biases untouched
                init_weights(net, "normal", p["init_gain"], zero_bias=False)
        for net in self.networks().values():
            net.to(self.device)
        self.opt_g, self.opt_d, self.sched_g, self.sched_d = adam_pair(
            self.G.parameters(), self.D.parameters(), p, p["lr"], p["lr"])

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def _with_edges(self, seg: torch.Tensor, instance: torch.Tensor | None) -> torch.Tensor:
        if not self.params["instance_edges"]:
            return seg
        if instance is None:
            raise BenchError("pix2pixhd was built with instance_edges but got no instance map",
                             hint="pass instance maps (training items' 'instance', translate(..., instance=)) "
                                  "or set instance_edges=false")
        if tuple(instance.shape[-2:]) != tuple(seg.shape[-2:]):
            raise BenchError(f"instance maps {tuple(instance.shape)} do not match the conditioning "
                             f"{tuple(seg.shape)}")
        return torch.cat([seg, instance_edges(instance.to(seg.device)).to(seg.dtype)], 1)

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        require_kind("pix2pixhd", data, "paired")
        p = self.params
        loop, sampler = paired_training(self, data, ctx, self._build)
        batches = loop.load([sampler, sampler], [data.a, data.b])
        for step in loop:
            a, b = next(batches)
            # edges from the full-resolution instance map, then resized with the map (nearest)
            seg = self._with_edges(batch_conditioning(a, p["input_nc"], p["label_nc"], "pix2pixhd"),
                                   a.get("instance"))
            loop.report(step, self._train_step(*labelmap_batch(seg, b["image"], p, ctx.seed, step, self.device)))
        self.eval_mode()

    def _train_step(self, seg: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """One official iteration: the losses of G and D from one generated image, then G's and D's steps."""
        p = self.params
        fake = self.G(seg)
        # discriminator terms on the detached fake and the real pair (pool_size 0: no image history)
        pred_fake_d = self.D(torch.cat([seg, fake.detach()], 1), return_features=True)
        pred_real = self.D(torch.cat([seg, real], 1), return_features=True)
        d_fake, d_real = self.gan(pred_fake_d, False), self.gan(pred_real, True)
        # generator terms
        pred_fake = self.D(torch.cat([seg, fake], 1), return_features=True)
        losses = {"G_GAN": self.gan(pred_fake, True),
                  "G_GAN_Feat": feature_matching(pred_fake, pred_real, p["n_layers_d"], p["lambda_feat"])}
        if self.vgg is not None:
            losses["G_VGG"] = vgg_term(self.vgg, fake, real, p["vgg_input"], p["lambda_vgg"])
        optimise(self.opt_g, sum(losses.values()))  # type: ignore[arg-type]
        # zero_grad first drops what G's backward left in D, as the official train.py
        optimise(self.opt_d, (d_fake + d_real) * 0.5)
        self.sched_g.step()
        self.sched_d.step()
        losses["D_fake"], losses["D_real"] = d_fake.detach(), d_real.detach()
        return losses

    # -- inference --------------------------------------------------------------------------------------------
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0, instance: torch.Tensor | None = None) -> torch.Tensor:
        """Label map (+ ``instance`` ids [N,H,W] when built with instance_edges) → image; ``exemplar`` and ``seed``
        have no effect."""
        p = self.params
        seg = self._with_edges(as_conditioning(content, p["input_nc"], p["label_nc"], "pix2pixhd"), instance)
        seg, size = labelmap_input("pix2pixhd", direction, seg, p["crop_size"], self.device)
        self.eval_mode()
        with torch.no_grad():
            out = self.G(seg)
        return generated_image("pix2pixhd", out, size)
