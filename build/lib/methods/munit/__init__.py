"""``munit``: MUNIT (Huang, Liu, Belongie, Kautz, ECCV 2018). Unpaired, multimodal, exemplar-guided: the exemplar's
style code comes from the *target* domain's style encoder (the official ``test.py --style``).

See README.md for the mapping from the paper's equations to this code and the paper-preset hyperparameters.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import torch

from methods import METHODS
from methods.base import Capabilities, Direction
from methods.common.blocks import LayerNorm2d
from methods.common.init import init_weights
from methods.common.losses import GANLoss
from methods.common.schedules import step_decay
from methods.common.training import set_requires_grad
from methods.common.unpaired import UnpairedGANMethod
from methods.munit.losses import l1
from methods.munit.networks import AdaINGenerator, munit_discriminator


@METHODS.register("munit")
class MUNIT(UnpairedGANMethod):
    capabilities = Capabilities(
        training="unpaired", guidance="exemplar", directions="both",
        notes="style code of the exemplar from the target domain's style encoder; without an exemplar the style is "
              "drawn from N(0, I) with the given seed",
    )
    defaults: ClassVar[dict[str, Any]] = {
        # generator (configs/edges2shoes_folder.yaml): dim 64, style 8, 2 downsamplings, 4 res blocks, MLP 256
        "dim": 64, "style_dim": 8, "n_down": 2, "n_res": 4, "mlp_dim": 256, "mlp_layers": 3, "style_n_down": 4,
        "activ": "relu", "pad": "reflect",
        # discriminator: 3 scales × 4 layers, dim 64, no norm, LeakyReLU 0.2, LSGAN
        "dis_dim": 64, "dis_layers": 4, "dis_scales": 3, "dis_norm": "none", "gan_mode": "lsgan",
        # loss weights: gan 1, image recon 10, style recon 1, content recon 1, explicit cycle 0
        "gan_w": 1.0, "recon_x_w": 10.0, "recon_s_w": 1.0, "recon_c_w": 1.0, "recon_x_cyc_w": 0.0,
        # optimisation: Adam 1e-4, β=(0.5, 0.999), weight decay 1e-4, lr × 0.5 every 100k of 1M iterations, batch 1
        "lr": 1e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 1e-4, "lr_step": 100_000, "lr_gamma": 0.5,
        "batch_size": 1, "init": "kaiming", "steps": 1_000_000, "checkpoint_every": 10_000,
    }

    def build(self) -> None:
        p = self.params
        gen = dict(dim=p["dim"], style_dim=p["style_dim"], n_down=p["n_down"], n_res=p["n_res"], mlp_dim=p["mlp_dim"],
                   mlp_layers=p["mlp_layers"], style_n_down=p["style_n_down"], act=p["activ"], pad=p["pad"])
        self.nets = {
            "gen_A": AdaINGenerator(**gen), "gen_B": AdaINGenerator(**gen),
            "D_A": munit_discriminator(p["dis_dim"], p["dis_layers"], p["dis_scales"], p["dis_norm"]),
            "D_B": munit_discriminator(p["dis_dim"], p["dis_layers"], p["dis_scales"], p["dis_norm"]),
        }
        kw = dict(lr=p["lr"], betas=(p["beta1"], p["beta2"]), weight_decay=p["weight_decay"])
        n = self.nets
        self.optims = {
            "gen": torch.optim.Adam(itertools.chain(n["gen_A"].parameters(), n["gen_B"].parameters()), **kw),
            "dis": torch.optim.Adam(itertools.chain(n["D_A"].parameters(), n["D_B"].parameters()), **kw),
        }
        self.gan = GANLoss(p["gan_mode"])

    def init_weights(self) -> None:
        # official: every conv/linear with the config's init (kaiming), then the discriminators with N(0, 0.02)
        for name, net in self.nets.items():
            init_weights(net, self.params["init"] if name.startswith("gen") else "normal", 0.02)
            for m in net.modules():
                if isinstance(m, LayerNorm2d) and m.affine:
                    torch.nn.init.uniform_(m.gamma)
                    torch.nn.init.zeros_(m.beta)

    def make_schedulers(self, total_steps: int) -> dict[str, Any]:
        return {name: step_decay(opt, self.params["lr_step"], self.params["lr_gamma"])
                for name, opt in self.optims.items()}

    def _random_style(self, batch: int, device: torch.device) -> torch.Tensor:
        return torch.randn(batch, self.params["style_dim"], 1, 1, device=device)

    def train_step(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        p, n = self.params, self.nets
        gen_a, gen_b, d_a, d_b = n["gen_A"], n["gen_B"], n["D_A"], n["D_B"]

        # discriminator update (official order: D, then G), cross-domain fakes with styles from the prior
        with torch.no_grad():
            fake_ba = gen_a.decode(gen_b.enc_content(b), self._random_style(b.shape[0], b.device))
            fake_ab = gen_b.decode(gen_a.enc_content(a), self._random_style(a.shape[0], a.device))
        self.optims["dis"].zero_grad(set_to_none=True)
        loss_d = p["gan_w"] * (self.gan.discriminator(d_a(a), d_a(fake_ba))
                               + self.gan.discriminator(d_b(b), d_b(fake_ab)))
        loss_d.backward()
        self.optims["dis"].step()

        # generator update
        set_requires_grad([d_a, d_b], False)
        self.optims["gen"].zero_grad(set_to_none=True)
        s_a, s_b = self._random_style(a.shape[0], a.device), self._random_style(b.shape[0], b.device)
        c_a, s_a_prime = gen_a.encode(a)
        c_b, s_b_prime = gen_b.encode(b)
        x_a_recon, x_b_recon = gen_a.decode(c_a, s_a_prime), gen_b.decode(c_b, s_b_prime)
        x_ba, x_ab = gen_a.decode(c_b, s_a), gen_b.decode(c_a, s_b)
        c_b_recon, s_a_recon = gen_a.encode(x_ba)
        c_a_recon, s_b_recon = gen_b.encode(x_ab)
        losses = {
            "gan_A": p["gan_w"] * self.gan.generator(d_a(x_ba)),
            "gan_B": p["gan_w"] * self.gan.generator(d_b(x_ab)),
            "recon_x_A": p["recon_x_w"] * l1(x_a_recon, a),
            "recon_x_B": p["recon_x_w"] * l1(x_b_recon, b),
            "recon_s_A": p["recon_s_w"] * l1(s_a_recon, s_a),
            "recon_s_B": p["recon_s_w"] * l1(s_b_recon, s_b),
            "recon_c_A": p["recon_c_w"] * l1(c_a_recon, c_a),
            "recon_c_B": p["recon_c_w"] * l1(c_b_recon, c_b),
        }
        if p["recon_x_cyc_w"] > 0:
            losses["cycle_A"] = p["recon_x_cyc_w"] * l1(gen_a.decode(c_a_recon, s_a_prime), a)
            losses["cycle_B"] = p["recon_x_cyc_w"] * l1(gen_b.decode(c_b_recon, s_b_prime), b)
        torch.stack(list(losses.values())).sum().backward()
        self.optims["gen"].step()
        set_requires_grad([d_a, d_b], True)
        losses["D"] = loss_d
        return {k: v.detach() for k, v in losses.items()}

    def translate_signed(self, x: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction) -> torch.Tensor:
        source, target = (self.nets["gen_A"], self.nets["gen_B"]) if direction == "AB" else \
            (self.nets["gen_B"], self.nets["gen_A"])
        content = source.enc_content(x)
        if exemplar is None:
            style = self._random_style(x.shape[0], x.device)
        else:
            style = target.enc_style(exemplar).expand(x.shape[0], -1, -1, -1)
        return target.decode(content, style)

    def style_code(self, exemplar: torch.Tensor, domain: str) -> torch.Tensor:
        """The style code [B, style_dim] of [0,1] images of ``domain`` (what ``translate`` uses for the exemplar)."""
        with torch.no_grad():
            return self.nets[f"gen_{domain}"].enc_style(exemplar.to(self.device) * 2 - 1).flatten(1)
