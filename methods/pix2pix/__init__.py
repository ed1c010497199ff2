"""``pix2pix`` (Isola et al., CVPR 2017) and ``pix2pix_noise`` (pix2pix+noise, the first baseline of BicycleGAN,
Zhu et al., NeurIPS 2017 §3.1).

pix2pix: U-Net generator, conditional 70×70 PatchGAN, vanilla GAN + λ_L1·L1 (λ=100), the discriminator's loss halved.
Its only noise is dropout, applied at training *and* test time, and at test time BatchNorm uses the statistics of
the test batch of one image (paper §3.3/6.1: "we run the generator net in exactly the same manner as during the
training phase"). It has no exemplar input: the exemplar is ignored.

pix2pix_noise: the same model with a Gaussian code z (nz=8) tiled and concatenated to the generator's input
(BicycleGAN's ``where_add=input``); a new z per translation, drawn from the seed. The exemplar is ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from core.errors import BenchError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.discriminators import PatchDiscriminator
from methods.common.images import paired_jitter, resize_to, to_signed, to_unit
from methods.common.init import init_weights
from methods.common.losses import GANLoss
from methods.common.paired import AdamPairState, adam_pair, paired_training
from methods.common.sampling import step_generator
from methods.common.training import require_kind, set_requires_grad
from methods.common.unet import UnetGenerator
from methods.training import check_finite

PIX2PIX_DEFAULTS: dict[str, Any] = {
    # architecture: unet_256 + 70×70 PatchGAN (basic, n_layers 3), BatchNorm, dropout on
    "ngf": 64, "ndf": 64, "num_downs": 8, "n_layers_d": 3, "norm": "batch", "use_dropout": True, "nz": 0,
    # objective
    "gan_mode": "vanilla", "lambda_l1": 100.0,
    # optimisation: Adam 2e-4, β=(0.5, 0.999), batch 1, constant then linear decay (100 + 100 epochs)
    "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 1, "steps": 80_000, "decay_steps": 40_000,
    "init_gain": 0.02,
    # data: load 286 → random crop 256 + flip at training; the input is resized to test_size at test time
    "load_size": 286, "crop_size": 256, "flip": True, "test_size": 256,
    # "paper": dropout on + per-image batch statistics at test time (paper §3.3); "eval": the usual eval mode
    "test_mode": "paper",
    "checkpoint_every": 1000, "log_every": 10,
}


@contextmanager
def paper_test_mode(net: nn.Module) -> Iterator[None]:
    """Dropout active and BatchNorm normalising with the current batch's statistics, running statistics untouched."""
    saved = [(m, m.training) for m in net.modules()]
    norms = [(m, m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in net.modules() if isinstance(m, _BatchNorm)]
    net.train()
    for m, _, _ in norms:
        m.momentum = 0.0  # running = (1 - 0)·running + 0·batch: unchanged
    try:
        yield
    finally:
        for m, training in saved:
            m.training = training
        for m, momentum, tracked in norms:
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


@METHODS.register("pix2pix")
class Pix2Pix(AdamPairState, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="none", directions="AB",
        notes="ignores the exemplar; dropout at test time (paper) makes the output vary slightly with the seed")
    defaults: ClassVar[dict[str, Any]] = PIX2PIX_DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.G = UnetGenerator(3, 3, p["num_downs"], p["ngf"], p["norm"], p["use_dropout"], nz=p["nz"],
                               where_add="input")
        self.D = PatchDiscriminator(6, p["ndf"], p["n_layers_d"], norm=p["norm"])  # conditional: sees (A, B)
        self.gan = GANLoss(p["gan_mode"])
        self._init(0)

    calibrated = True  # no pretrained component

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """``test_mode`` is ``paper`` (dropout and batch statistics at test, as released) or ``eval``."""
        if params["test_mode"] not in ("paper", "eval"):
            raise BenchError(f"test_mode must be 'paper' or 'eval', got {params['test_mode']!r}")

    def _init(self, seed: int) -> None:
        with seeded(seed):
            init_weights(self.G, "normal", self.params["init_gain"])
            init_weights(self.D, "normal", self.params["init_gain"])
        p = self.params  # fresh optimisers for fresh weights
        self.opt_g, self.opt_d, self.sched_g, self.sched_d = adam_pair(
            self.G.parameters(), self.D.parameters(), p, p["lr"], p["lr"])

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    # -- training ---------------------------------------------------------------------------------------------
    def _latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        if not self.params["nz"]:
            return None
        return torch.randn(n, self.params["nz"], generator=generator).to(self.device)

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        require_kind(self.registry_name, data, "paired")
        p = self.params
        loop, sampler = paired_training(self, data, ctx, self._init)
        batches = loop.load([sampler, sampler], [data.a, data.b])
        for step in loop:
            a, b = next(batches)
            real_a, real_b = paired_jitter([to_signed(a["image"]), to_signed(b["image"])], p["load_size"],
                                           p["crop_size"], p["flip"], step_generator(ctx.seed, step))
            real_a, real_b = real_a.to(self.device), real_b.to(self.device)
            loop.report(step, self._train_step(real_a, real_b))
        self.eval_mode()

    def _train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        p = self.params
        fake_b = self.G(real_a, self._latent(real_a.size(0)))
        # D: real pairs → 1, generated pairs → 0; the loss is halved to slow D down relative to G (§3.3)
        set_requires_grad(self.D, True)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d_fake = self.gan(self.D(torch.cat([real_a, fake_b.detach()], 1)), False)
        loss_d_real = self.gan(self.D(torch.cat([real_a, real_b], 1)), True)
        loss_d = 0.5 * (loss_d_fake + loss_d_real)
        loss_d.backward()
        self.opt_d.step()
        # G: fool D and stay close to the target in L1 (Eq. 4)
        set_requires_grad(self.D, False)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g_gan = self.gan(self.D(torch.cat([real_a, fake_b], 1)), True)
        loss_g_l1 = F.l1_loss(fake_b, real_b) * p["lambda_l1"]
        (loss_g_gan + loss_g_l1).backward()
        self.opt_g.step()
        self.sched_g.step()
        self.sched_d.step()
        return {"G_GAN": loss_g_gan, "G_L1": loss_g_l1, "D_real": loss_d_real, "D_fake": loss_d_fake}

    # -- inference --------------------------------------------------------------------------------------------
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if direction != "AB":
            raise BenchError(f"{self.registry_name} is trained A→B only; it cannot translate {direction}",
                             hint="run it in protocols that evaluate A→B only (capabilities.directions='AB')")
        size = content.shape[-2:]
        x = to_signed(resize_to(content.to(self.device), self.params["test_size"]))
        z = self._latent(x.size(0), torch.Generator().manual_seed(seed))  # the exemplar plays no part
        with torch.no_grad(), seeded(seed):  # dropout masks
            if self.params["test_mode"] == "paper":
                with paper_test_mode(self.G):  # one image per batch, as the paper's batch size 1
                    out = torch.cat([self.G(x[i:i + 1], None if z is None else z[i:i + 1])
                                     for i in range(x.size(0))])
            else:
                self.G.eval()
                out = self.G(x, z)
        return check_finite(self.registry_name, resize_to(to_unit(out), tuple(size)))


@METHODS.register("pix2pix_noise")
class Pix2PixNoise(Pix2Pix):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="noise", directions="AB",
        notes="pix2pix with a Gaussian z (nz=8) concatenated to the input; ignores the exemplar")
    defaults: ClassVar[dict[str, Any]] = {**PIX2PIX_DEFAULTS, "nz": 8}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["nz"] < 1:
            raise BenchError("pix2pix_noise needs nz >= 1 (the size of the injected noise vector)")
