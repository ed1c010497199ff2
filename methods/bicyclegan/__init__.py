"""``bicyclegan`` (Zhu et al., "Toward Multimodal Image-to-Image Translation", NeurIPS 2017).

cVAE-GAN (B → z → B̂, §3.2) and cLR-GAN (z → B̂ → ẑ, §3.3) trained together (§3.4, Eq. 5). Each batch is split in
halves like the official code: the first half's B is encoded (cVAE-GAN) and the first half's A is also translated
with a random z (cLR-GAN); the second half's B is the "real" sample of the cLR-GAN discriminator.

Exemplar: E(exemplar) → its mean μ is the latent code (the official ``test(encode=True)``); without an exemplar a
z ~ N(0, I) is drawn from the seed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import BenchError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.bicyclegan.networks import ResNetEncoder
from methods.common.discriminators import MultiScalePatchDiscriminator
from methods.common.images import paired_jitter, resize_to, to_signed, to_unit
from methods.common.init import init_weights
from methods.common.losses import GANLoss
from methods.common.paired import paired_training
from methods.common.sampling import step_generator
from methods.common.schedules import linear_decay
from methods.common.training import frozen_weights, require_kind, set_requires_grad
from methods.common.unet import UnetGenerator
from methods.training import check_finite

DEFAULTS: dict[str, Any] = {
    # architecture (edges2shoes script): unet_256 with z at all levels, resnet_256 E, two basic_256_multi Ds
    "nz": 8, "ngf": 64, "nef": 64, "ndf": 64, "num_downs": 8, "e_blocks": 5, "n_layers_d": 3, "num_ds": 2,
    "norm": "instance", "use_dropout": True,
    # objective (train_options.py)
    "gan_mode": "lsgan", "lambda_gan": 1.0, "lambda_gan2": 1.0, "lambda_l1": 10.0, "lambda_kl": 0.01,
    "lambda_z": 0.5,
    # optimisation: Adam 2e-4, β1 0.5, batch 2 (one cVAE-GAN + one cLR-GAN sample); edges2shoes 30 + 30 epochs
    "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 2, "steps": 1_494_750, "decay_steps": 747_375,
    "init_gain": 0.02,
    # data (edges2shoes: load = crop = 256, no flip)
    "load_size": 256, "crop_size": 256, "flip": False, "test_size": 256,
    "checkpoint_every": 1000, "log_every": 10,
}


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over the batch and the code (the official reduction, not a mean)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


@METHODS.register("bicyclegan")
class BicycleGAN(Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="exemplar", directions="AB",
        notes="exemplar → encoder mean μ = the latent code; without an exemplar z ~ N(0, I) from the seed")
    calibrated = True
    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["batch_size"] % 2:
            raise BenchError(f"bicyclegan needs an even batch_size (got {p['batch_size']})",
                             hint="each batch is split into a cVAE-GAN half and a cLR-GAN half")
        self.G = UnetGenerator(3, 3, p["num_downs"], p["ngf"], p["norm"], p["use_dropout"], nz=p["nz"],
                               where_add="all", bias=True)
        self.E = ResNetEncoder(3, p["nz"], p["nef"], p["e_blocks"], p["norm"])
        self.D = MultiScalePatchDiscriminator(3, p["ndf"], p["n_layers_d"], p["norm"], p["num_ds"])
        self.D2 = MultiScalePatchDiscriminator(3, p["ndf"], p["n_layers_d"], p["norm"], p["num_ds"])
        self.gan = GANLoss(p["gan_mode"])  # summed over the discriminator's scales, as the official GANLoss
        self._init(0)

    def _init(self, seed: int) -> None:
        with seeded(seed):
            for net in self.networks().values():
                init_weights(net, "xavier", self.params["init_gain"])
        p, betas = self.params, (self.params["beta1"], self.params["beta2"])  # fresh optimisers for fresh weights
        self.opts = {name: torch.optim.Adam(net.parameters(), lr=p["lr"], betas=betas)
                     for name, net in self.networks().items()}
        constant = p["steps"] - p["decay_steps"]
        self.scheds = {name: linear_decay(opt, constant, p["decay_steps"]) for name, opt in self.opts.items()}

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "E": self.E, "D": self.D, "D2": self.D2}

    def optimizers(self) -> dict[str, Any]:
        return {**self.opts, **{f"sched_{k}": s for k, s in self.scheds.items()}}

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        require_kind("bicyclegan", data, "paired")
        p = self.params
        loop, sampler = paired_training(self, data, ctx, self._init)
        batches = loop.load([sampler, sampler], [data.a, data.b])
        for step in loop:
            a, b = next(batches)
            real_a, real_b = paired_jitter([to_signed(a["image"]), to_signed(b["image"])], p["load_size"],
                                           p["crop_size"], p["flip"], step_generator(ctx.seed, step))
            loop.report(step, self._train_step(real_a.to(self.device), real_b.to(self.device)))
        self.eval_mode()

    def _train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        p = self.params
        half = real_a.size(0) // 2
        if half == 0:
            raise BenchError("bicyclegan needs at least 2 training pairs per batch")
        a_enc, b_enc, b_rand = real_a[:half], real_b[:half], real_b[half:2 * half]
        mu, logvar = self.E(b_enc)
        z_enc = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterisation
        z_rand = torch.randn(half, p["nz"], device=self.device)
        fake_enc = self.G(a_enc, z_enc)  # cVAE-GAN: B → z → B̂
        fake_rand = self.G(a_enc, z_rand)  # cLR-GAN: z → B̂

        # G and E (Eq. 5): GAN on both branches, L1 image reconstruction, KL; latent regression updates G only
        set_requires_grad([self.D, self.D2], False)
        for name in ("G", "E"):
            self.opts[name].zero_grad(set_to_none=True)
        loss_gan = self.gan(self.D(fake_enc), True) * p["lambda_gan"]
        loss_gan2 = self.gan(self.D2(fake_rand), True) * p["lambda_gan2"]
        loss_kl = kl_divergence(mu, logvar) * p["lambda_kl"]
        loss_l1 = F.l1_loss(fake_enc, b_enc) * p["lambda_l1"]
        with frozen_weights(self.E):  # ‖E(G(A, z)) − z‖₁ through the encoder's mean, E's weights untouched
            mu2, _ = self.E(fake_rand)
        loss_z = F.l1_loss(mu2, z_rand) * p["lambda_z"]
        (loss_gan + loss_gan2 + loss_kl + loss_l1 + loss_z).backward()
        self.opts["E"].step()
        self.opts["G"].step()

        # the two discriminators, on the samples generated before the G step (the official order)
        set_requires_grad([self.D, self.D2], True)
        losses_d = {}
        for name, net, fake, real in (("D", self.D, fake_enc, b_enc), ("D2", self.D2, fake_rand, b_rand)):
            self.opts[name].zero_grad(set_to_none=True)
            loss = self.gan(net(fake.detach()), False) + self.gan(net(real), True)
            loss.backward()
            self.opts[name].step()
            losses_d[name] = loss
        for sched in self.scheds.values():
            sched.step()
        return {"G_GAN": loss_gan, "G_GAN2": loss_gan2, "G_L1": loss_l1, "z_L1": loss_z, "kl": loss_kl,
                "D": losses_d["D"], "D2": losses_d["D2"]}

    # -- inference --------------------------------------------------------------------------------------------
    def encode(self, exemplar: torch.Tensor) -> torch.Tensor:
        """The exemplar's latent code: the mean of E's posterior (no sampling)."""
        x = to_signed(resize_to(exemplar.to(self.device), self.params["test_size"]))
        with torch.no_grad():
            self.E.eval()
            mu, _ = self.E(x)
        return mu

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if direction != "AB":
            raise BenchError(f"bicyclegan is trained A→B only; it cannot translate {direction}",
                             hint="run it in protocols that evaluate A→B only (capabilities.directions='AB')")
        size = content.shape[-2:]
        x = to_signed(resize_to(content.to(self.device), self.params["test_size"]))
        if exemplar is None:
            z = torch.randn(x.size(0), self.params["nz"], generator=torch.Generator().manual_seed(seed))
            z = z.to(self.device)
        else:
            if exemplar.size(0) != content.size(0):
                raise BenchError(f"got {content.size(0)} inputs but {exemplar.size(0)} exemplars",
                                 hint="pass one exemplar per input image")
            z = self.encode(exemplar)
        with torch.no_grad():
            self.G.eval()
            out = self.G(x, z)
        return check_finite("bicyclegan", resize_to(to_unit(out), tuple(size)))
