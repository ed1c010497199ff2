"""``ci2i``: conditional image-to-image translation, cd-GAN (Lin, Xia, Qin, Chen, Liu, CVPR 2018; arXiv 1805.00251).

Unpaired and exemplar-guided: x_AB = g_B(x_A^i, x_B^s) keeps the domain-independent feature of the input x_A and takes
the domain-specific feature of the exemplar x_B of the target domain; the dual model gives B→A the same way. Trained
with the GAN losses of both directions and the dual reconstruction losses of the images and of both features
(§3, Fig. 2; ``methods/ci2i/losses.py``). No official code is public; the layers are ours (README.md).

MSCA (Table 1) trains it on colour-encoded label maps → photos: the protocol hands this RGB method the label map's
palette image as content (contract §3), as it does on edges2shoes/MNIST with the input image itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from core.errors import BenchError
from methods import METHODS
from methods.base import Capabilities, Direction
from methods.ci2i.losses import DualPass, dual_losses, dual_pass
from methods.ci2i.networks import CombineGenerator, SplitEncoder, patch_discriminator
from methods.common.blocks import NORMS, LayerNorm2d
from methods.common.init import init_weights
from methods.common.losses import GAN_MODES, GANLoss
from methods.common.training import set_requires_grad
from methods.common.unpaired import UnpairedGANMethod


@METHODS.register("ci2i")
class CI2I(UnpairedGANMethod):
    capabilities = Capabilities(
        training="unpaired", guidance="exemplar", directions="both",
        notes="domain-independent feature of the input + domain-specific feature of the exemplar (target domain's "
              "encoder); an exemplar is required",
    )
    defaults: ClassVar[dict[str, Any]] = {
        # networks (paper: layers in its supplement, unavailable; ours, see README)
        "dim": 64, "n_down": 2, "n_res": 4, "s_dim": 8, "spec_n_down": 4, "enc_norm": "instance",
        "gen_norm": "layer", "activ": "relu", "pad": "reflect",
        "ndf": 64, "dis_layers": 3, "dis_norm": "instance", "gan_mode": "vanilla",  # ℓ_GAN: log D + log(1 − D)
        # loss weights: ℓ_GAN + λ_im ℓ^im + λ_di ℓ^di + λ_ds ℓ^ds (the paper's weights are not in the main text)
        "gan_w": 1.0, "im_w": 10.0, "di_w": 1.0, "ds_w": 1.0,
        # optimisation (our choice): Adam 2e-4, β=(0.5, 0.999), batch 1; kaiming init for e/g, N(0, 0.02) for D
        "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 1, "init": "kaiming", "init_gain": 0.02,
        "steps": 200_000, "checkpoint_every": 10_000,
    }

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Known norms and GAN loss; no per-sample channel norm in g (it would cancel the tiled x^s); sizes ≥ 1."""
        for key in ("enc_norm", "gen_norm", "dis_norm"):
            if params[key] not in NORMS or params[key] == "adain":
                raise BenchError(f"ci2i: unknown {key} {params[key]!r}", hint=f"use one of {', '.join(NORMS[:-1])}")
        if params["gen_norm"] in ("instance", "instance_affine"):
            raise BenchError("ci2i: gen_norm=instance would subtract the tiled domain-specific feature x^s and make "
                             "the exemplar useless", hint="use layer, batch or none")
        if params["gan_mode"] not in GAN_MODES:
            raise BenchError(f"ci2i: unknown gan_mode {params['gan_mode']!r}",
                             hint=f"use one of {', '.join(GAN_MODES)}")
        for key in ("dim", "s_dim", "ndf", "dis_layers", "batch_size"):
            if int(params[key]) < 1:
                raise BenchError(f"ci2i: {key} must be ≥ 1, got {params[key]}", hint=f"set {key} to a positive integer")

    def build(self) -> None:
        p = self.params
        net = dict(act=p["activ"], pad=p["pad"])
        enc = dict(dim=p["dim"], n_down=p["n_down"], n_res=p["n_res"], s_dim=p["s_dim"],
                   spec_n_down=p["spec_n_down"], norm=p["enc_norm"], **net)
        e_a, e_b = SplitEncoder(**enc), SplitEncoder(**enc)
        gen = dict(in_dim=e_a.independent_dim, s_dim=p["s_dim"], n_up=p["n_down"], n_res=p["n_res"],
                   norm=p["gen_norm"], **net)
        self.nets = {
            "e_A": e_a, "e_B": e_b, "g_A": CombineGenerator(**gen), "g_B": CombineGenerator(**gen),
            "D_A": patch_discriminator(p["ndf"], p["dis_layers"], p["dis_norm"]),
            "D_B": patch_discriminator(p["ndf"], p["dis_layers"], p["dis_norm"]),
        }
        kw = dict(lr=p["lr"], betas=(p["beta1"], p["beta2"]))
        self.optims = {
            "gen": torch.optim.Adam(itertools.chain(*(self.nets[k].parameters() for k in self.generators())), **kw),
            "dis": torch.optim.Adam(itertools.chain(self.nets["D_A"].parameters(), self.nets["D_B"].parameters()),
                                    **kw),
        }
        self.gan = GANLoss(p["gan_mode"])

    @staticmethod
    def generators() -> tuple[str, ...]:
        return ("e_A", "e_B", "g_A", "g_B")

    def init_weights(self) -> None:
        # e/g with ``init`` (kaiming keeps x^s from vanishing through the norm-free specific branch), D N(0, gain)
        for name, net in self.nets.items():
            init_weights(net, "normal" if name.startswith("D_") else self.params["init"], self.params["init_gain"])
            for m in net.modules():
                if isinstance(m, LayerNorm2d) and m.affine:  # γ ~ U(0,1), β = 0 (MUNIT's layer norm)
                    torch.nn.init.uniform_(m.gamma)
                    torch.nn.init.zeros_(m.beta)

    def forward_pass(self, a: torch.Tensor, b: torch.Tensor) -> DualPass:
        """Fig. 2 on [-1,1] batches of A and B (equal sizes)."""
        n = self.nets
        return dual_pass(n["e_A"], n["e_B"], n["g_A"], n["g_B"], a, b)

    def train_step(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        p, n = self.params, self.nets
        if a.shape[0] != b.shape[0]:
            raise BenchError(f"ci2i pairs each A image with a B image, got batches {a.shape[0]} and {b.shape[0]}",
                             hint="give both training domains at least batch_size images")
        d_a, d_b = n["D_A"], n["D_B"]
        fwd = self.forward_pass(a, b)

        # discriminators on the generated images of both directions (ℓ_GAN, maximised by d_A, d_B)
        self.optims["dis"].zero_grad(set_to_none=True)
        loss_d = p["gan_w"] * (self.gan.discriminator(d_a(a), d_a(fwd.x_ba.detach()))
                               + self.gan.discriminator(d_b(b), d_b(fwd.x_ab.detach())))
        loss_d.backward()
        self.optims["dis"].step()

        # encoders + generators: ℓ_GAN (non-saturating) + the weighted dual reconstruction losses
        set_requires_grad([d_a, d_b], False)
        self.optims["gen"].zero_grad(set_to_none=True)
        dual = dual_losses(fwd)
        losses = {
            "gan_A": p["gan_w"] * self.gan.generator(d_a(fwd.x_ba)),
            "gan_B": p["gan_w"] * self.gan.generator(d_b(fwd.x_ab)),
            "dual_im": p["im_w"] * dual["dual_im"],
            "dual_di": p["di_w"] * dual["dual_di"],
            "dual_ds": p["ds_w"] * dual["dual_ds"],
        }
        torch.stack(list(losses.values())).sum().backward()
        self.optims["gen"].step()
        set_requires_grad([d_a, d_b], True)
        losses["D"] = loss_d
        return {k: v.detach() for k, v in losses.items()}

    def translate_signed(self, x: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction) -> torch.Tensor:
        if exemplar is None:
            raise BenchError("ci2i needs an exemplar of the target domain (its domain-specific feature)",
                             hint="pass one exemplar, or one per input image")
        source, target = ("A", "B") if direction == "AB" else ("B", "A")
        independent = self.nets[f"e_{source}"].independent(x)
        specific = self.nets[f"e_{target}"].specific(exemplar).expand(x.shape[0], -1)
        return self.nets[f"g_{target}"](independent, specific)
