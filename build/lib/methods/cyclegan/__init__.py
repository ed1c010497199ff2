"""``cyclegan``: CycleGAN (Zhu, Park, Isola, Efros, ICCV 2017), unpaired, deterministic, ignores the exemplar.

See README.md for the mapping from the paper's equations to this code and the paper-preset hyperparameters.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import torch

from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction
from methods.common.discriminators import PatchDiscriminator
from methods.common.images import ImagePool
from methods.common.init import init_weights
from methods.common.losses import GANLoss
from methods.common.schedules import linear_decay
from methods.common.training import set_requires_grad
from methods.common.unpaired import UnpairedGANMethod
from methods.cyclegan.losses import cycle_loss, identity_loss
from methods.cyclegan.networks import ResnetGenerator


@METHODS.register("cyclegan")
class CycleGAN(UnpairedGANMethod):
    capabilities = Capabilities(
        training="unpaired", guidance="none", directions="both",
        notes="deterministic G: A→B and F: B→A; the exemplar is ignored (one output per input)",
    )
    defaults: ClassVar[dict[str, Any]] = {
        # networks (official resnet_9blocks G, basic 70×70 D, instance norm, no dropout)
        "ngf": 64, "n_blocks": 9, "n_down": 2, "ndf": 64, "n_layers_d": 3, "norm": "instance", "dropout": 0.0,
        # objective
        "gan_mode": "lsgan", "lambda_a": 10.0, "lambda_b": 10.0, "lambda_identity": 0.5, "pool_size": 50,
        # optimisation: Adam 2e-4, β1 0.5, batch 1; 100 epochs at constant lr + 100 epochs of linear decay to 0
        "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 1, "init": "normal", "init_gain": 0.02,
        "epochs": 200, "decay_epochs": 100, "steps": None, "checkpoint_every": 5000,
    }

    def build(self) -> None:
        p = self.params
        gen = dict(ngf=p["ngf"], n_blocks=p["n_blocks"], n_down=p["n_down"], norm=p["norm"], dropout=p["dropout"])
        dis = dict(ndf=p["ndf"], n_layers=p["n_layers_d"], norm=p["norm"])
        # Paper names: G_AB = G (A→B), G_BA = F (B→A), D_B = D_Y judges domain B, D_A = D_X judges domain A.
        self.nets = {"G_AB": ResnetGenerator(**gen), "G_BA": ResnetGenerator(**gen),
                     "D_A": PatchDiscriminator(3, **dis), "D_B": PatchDiscriminator(3, **dis)}
        betas = (p["beta1"], p["beta2"])
        self.optims = {
            "G": torch.optim.Adam(itertools.chain(self.nets["G_AB"].parameters(), self.nets["G_BA"].parameters()),
                                  lr=p["lr"], betas=betas),
            "D": torch.optim.Adam(itertools.chain(self.nets["D_A"].parameters(), self.nets["D_B"].parameters()),
                                  lr=p["lr"], betas=betas),
        }
        self.gan = GANLoss(p["gan_mode"])
        self.pools = {"A": ImagePool(p["pool_size"], seed=1), "B": ImagePool(p["pool_size"], seed=2)}

    def init_weights(self) -> None:
        for net in self.nets.values():
            init_weights(net, self.params["init"], self.params["init_gain"])

    def optimizers(self) -> dict[str, Any]:
        # the image pools are training state too: a resumed run must see the same history of fakes
        return {**super().optimizers(), "pool_A": self.pools["A"], "pool_B": self.pools["B"]}

    def total_steps(self, data: TrainData) -> int:
        if self.params["steps"] is not None:
            return int(self.params["steps"])
        # the official dataset length is max(|A|, |B|); one epoch = that many images at the given batch size
        per_epoch = max(len(data.a), len(data.b)) // int(self.params["batch_size"])  # type: ignore[arg-type]
        return int(self.params["epochs"]) * max(1, per_epoch)

    def make_schedulers(self, total_steps: int) -> dict[str, Any]:
        decay = round(total_steps * self.params["decay_epochs"] / self.params["epochs"])
        return {name: linear_decay(opt, total_steps - decay, decay) for name, opt in self.optims.items()}

    def train_step(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        p, n = self.params, self.nets
        fake_b, fake_a = n["G_AB"](a), n["G_BA"](b)
        rec_a, rec_b = n["G_BA"](fake_b), n["G_AB"](fake_a)

        # generators (Eq. 3 + identity), discriminators frozen
        set_requires_grad([n["D_A"], n["D_B"]], False)
        self.optims["G"].zero_grad(set_to_none=True)
        losses = {
            "G_AB": self.gan(n["D_B"](fake_b), True),
            "G_BA": self.gan(n["D_A"](fake_a), True),
            "cycle_A": cycle_loss(rec_a, a) * p["lambda_a"],
            "cycle_B": cycle_loss(rec_b, b) * p["lambda_b"],
        }
        if p["lambda_identity"] > 0:
            losses["idt_A"] = identity_loss(n["G_BA"](a), a) * p["lambda_a"] * p["lambda_identity"]
            losses["idt_B"] = identity_loss(n["G_AB"](b), b) * p["lambda_b"] * p["lambda_identity"]
        torch.stack(list(losses.values())).sum().backward()
        self.optims["G"].step()

        # discriminators on real images vs fakes drawn from the history pools; the loss is halved (official code)
        set_requires_grad([n["D_A"], n["D_B"]], True)
        self.optims["D"].zero_grad(set_to_none=True)
        pool_b, pool_a = self.pools["B"].query(fake_b), self.pools["A"].query(fake_a)
        losses["D_B"] = 0.5 * self.gan.discriminator(n["D_B"](b), n["D_B"](pool_b))
        losses["D_A"] = 0.5 * self.gan.discriminator(n["D_A"](a), n["D_A"](pool_a))
        (losses["D_A"] + losses["D_B"]).backward()
        self.optims["D"].step()
        return {k: v.detach() for k, v in losses.items()}

    def translate_signed(self, x: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction) -> torch.Tensor:
        return self.nets["G_AB" if direction == "AB" else "G_BA"](x)
