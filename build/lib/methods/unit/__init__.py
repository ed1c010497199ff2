"""``unit``: UNIT (Liu, Breuel, Kautz, NIPS 2017), the paper's network (official branch ``version_02``) with weight
sharing of the last encoder / first generator layers and a shared VAE latent. Unpaired, deterministic at test time,
ignores the exemplar.

See README.md for the mapping from the paper's equations to this code and the paper-preset hyperparameters.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import torch

from methods import METHODS
from methods.base import Capabilities, Direction
from methods.common.discriminators import MultiScaleDiscriminator
from methods.common.init import init_weights
from methods.common.losses import GANLoss
from methods.common.training import set_requires_grad
from methods.common.unpaired import UnpairedGANMethod
from methods.unit.losses import latent_kl, reconstruction, sample_latent
from methods.unit.networks import BlurDownsample, UnitDiscriminator, UnitGenerator


@METHODS.register("unit")
class UNIT(UnpairedGANMethod):
    capabilities = Capabilities(
        training="unpaired", guidance="none", directions="both",
        notes="shared-latent VAE-GAN; translates with the latent mean (no noise at test time); ignores the exemplar",
    )
    defaults: ClassVar[dict[str, Any]] = {
        # generator (exps/unit_local street scenes: COCOResGen2, ch 64, 3 front blocks = 2 downsamplings,
        # 3 + 1 shared residual blocks per encoder, 1 shared + 3 residual blocks per decoder, dropout 0.5)
        "ch": 64, "n_down": 2, "n_enc_res": 3, "n_shared": 1, "n_dec_res": 3, "front": "leaky", "dropout": 0.5,
        # discriminator (COCOMsDis: 3 scales, 4 layers, ch 64)
        "dis_ch": 64, "dis_layers": 4, "dis_scales": 3,
        # objective: λ0 GAN 10, λ1 KL 0.1, λ2 recon 100, λ3 cycle KL 0.1, λ4 cycle recon 100
        "gan_w": 10.0, "kl_w": 0.1, "recon_w": 100.0, "kl_cycle_w": 0.1, "cycle_w": 100.0, "gan_mode": "vanilla",
        # optimisation: Adam 1e-4, β=(0.5, 0.999), weight decay 1e-4, batch 1, constant lr, 500k iterations
        "lr": 1e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 1e-4, "batch_size": 1, "init_gain": 0.02,
        "steps": 500_000, "checkpoint_every": 5000,
    }

    def build(self) -> None:
        p = self.params
        gen = UnitGenerator(p["ch"], p["n_down"], p["n_enc_res"], p["n_shared"], p["n_dec_res"], p["front"],
                            p["dropout"])

        def dis() -> MultiScaleDiscriminator:
            return MultiScaleDiscriminator(lambda: UnitDiscriminator(p["dis_ch"], p["dis_layers"]), p["dis_scales"],
                                           downsample=BlurDownsample())

        self.nets = {"gen": gen, "D_A": dis(), "D_B": dis()}
        kw = dict(lr=p["lr"], betas=(p["beta1"], p["beta2"]), weight_decay=p["weight_decay"])
        self.optims = {
            "gen": torch.optim.Adam(gen.parameters(), **kw),
            "dis": torch.optim.Adam(itertools.chain(self.nets["D_A"].parameters(), self.nets["D_B"].parameters()),
                                    **kw),
        }
        self.gan = GANLoss(p["gan_mode"])

    def init_weights(self) -> None:
        # gaussian_weights_init: conv and transposed-conv weights N(0, 0.02); biases keep PyTorch's default
        for net in self.nets.values():
            init_weights(net, "normal", self.params["init_gain"], zero_bias=False)

    def train_step(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        p, gen, d_a, d_b = self.params, self.nets["gen"], self.nets["D_A"], self.nets["D_B"]

        # discriminators first (official order), on fakes from a fresh noisy latent sample
        with torch.no_grad():
            fake_ba = gen.decode(sample_latent(gen.encode(b, "B")), "A")
            fake_ab = gen.decode(sample_latent(gen.encode(a, "A")), "B")
        self.optims["dis"].zero_grad(set_to_none=True)
        loss_d = p["gan_w"] * (self.gan.discriminator(d_a(a), d_a(fake_ba))
                               + self.gan.discriminator(d_b(b), d_b(fake_ab)))
        loss_d.backward()
        self.optims["dis"].step()

        # encoders and generators
        set_requires_grad([d_a, d_b], False)
        self.optims["gen"].zero_grad(set_to_none=True)
        z_a, z_b = sample_latent(gen.encode(a, "A")), sample_latent(gen.encode(b, "B"))
        x_aa, x_ab = gen.decode(z_a, "A"), gen.decode(z_a, "B")
        x_bb, x_ba = gen.decode(z_b, "B"), gen.decode(z_b, "A")
        z_aba, z_bab = sample_latent(gen.encode(x_ab, "B")), sample_latent(gen.encode(x_ba, "A"))
        x_aba, x_bab = gen.decode(z_aba, "A"), gen.decode(z_bab, "B")
        losses = {
            "gan_A": p["gan_w"] * self.gan.generator(d_a(x_ba)),
            "gan_B": p["gan_w"] * self.gan.generator(d_b(x_ab)),
            "recon_A": p["recon_w"] * reconstruction(x_aa, a),
            "recon_B": p["recon_w"] * reconstruction(x_bb, b),
            "cycle_A": p["cycle_w"] * reconstruction(x_aba, a),
            "cycle_B": p["cycle_w"] * reconstruction(x_bab, b),
            "kl": p["kl_w"] * (latent_kl(z_a) + latent_kl(z_b)),
            "kl_cycle": p["kl_cycle_w"] * (latent_kl(z_aba) + latent_kl(z_bab)),
        }
        torch.stack(list(losses.values())).sum().backward()
        self.optims["gen"].step()
        set_requires_grad([d_a, d_b], True)
        losses["D"] = loss_d
        return {k: v.detach() for k, v in losses.items()}

    def translate_signed(self, x: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction) -> torch.Tensor:
        gen = self.nets["gen"]
        source, target = ("A", "B") if direction == "AB" else ("B", "A")
        return gen.decode(gen.encode(x, source), target)  # the latent mean: no sampling at test time
