"""``egscit``: Exemplar Guided & Semantically Consistent I2I translation (Ma et al., ICLR 2019). See README.md.

Two stages, each a ``TrainLoop`` with its own checkpoint (``<workdir>/stage0/last.pt``, then ``<workdir>/last.pt``),
so a resumed run continues in the stage it was in:

0. per-domain VAE-GAN autoencoders (GAN + L1 reconstruction + KL), one D update and one G update per iteration;
1. the UNIT-style translator (per-domain encoders → shared encoder block → z = μ + N(0, I) → shared generator block →
   per-domain decoders) whose decoders are conditioned, before their first block, on the frozen stage-0 encoders:
   the content is multiplied by its feature mask m = (1 − η)·σ(f_content) + η and re-normalised with the
   exemplar's channel statistics (``adain``: paper | official_code | none). Losses: LSGAN, within-domain L1, cycle
   L1, KL, and the perceptual content + Gram style loss on VGG-19; one D update then ``g_updates`` (5) G updates
   per iteration, each on a fresh batch; Adam(0.5, 0.999) with poly-0.9 lr decay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import BenchError, NoRecipeError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.distributed import shard
from methods.common.frozen import FrozenEncoders
from methods.common.images import to_signed, to_unit
from methods.common.sampling import STAGE_STRIDE, STREAM_B, BatchSampler, load
from methods.common.schedules import poly_decay
from methods.common.training import set_requires_grad
from methods.egscit.augment import flip_and_zoom_crop
from methods.egscit.conditioning import ADAIN_VARIANTS, channel_moments, exemplar_adain, feature_mask
from methods.egscit.losses import PERCEPTUAL_LAYERS, kl_mean_square, lsgan_d, lsgan_g, perceptual_losses
from methods.egscit.networks import (
    VAEGAN,
    Decoder,
    Discriminator,
    Encoder,
    ResStack,
    init_discriminator,
    init_generator,
)
from methods.training import TrainLoop, check_finite

# Keys that EGSC-IT's Table 6 sets per dataset (bench/configs/methods/egscit.yaml carries the table; see README).
TABLE6_KEYS = ("n_down", "batch_size", "lr", "style_weight", "content_weight", "steps", "stage0_steps")

DEFAULTS: dict[str, Any] = {
    "dataset_preset": "mnist_single",  # the Table-6 row the values below come from (a label; logged with the run)
    # architecture (Table 6: n_1 = n_down, n_2 = n_res + n_shared = 4, n_3 = n_dis + 1 = 5; official ngf = ndf = 64)
    "ngf": 64, "ndf": 64, "n_down": 1, "n_res": 3, "n_shared": 1, "n_dis": 4,
    # exemplar conditioning and the ablation switches
    "adain": "paper", "adain_eps": 1e-5, "feature_mask": True, "eta": 0.5, "perceptual": True,
    "allow_uncalibrated": False,  # perceptual loss with random VGG-19 weights when the ImageNet ones are absent
    # loss weights: UNIT's (official defaults) and Table 6's λ_s, λ_c
    "gan_weight": 10.0, "recon_weight": 100.0, "cycle_weight": 100.0, "kl_weight": 0.1, "kl_cycle_weight": 0.1,
    "style_weight": 1e3, "content_weight": 1e1,
    # schedule: iterations of each stage (one D update + g_updates G updates each), poly lr decay
    "batch_size": 8, "lr": 1e-5, "beta1": 0.5, "beta2": 0.999, "lr_power": 0.9,
    "steps": 60_000, "stage0_steps": 60_000, "g_updates": 5, "stage0_g_updates": 1,
    # augmentation (flip + zoom crop, also on digits, as the official code)
    "augment": True, "crop_probability": 0.5, "min_crop": 0.8,
    # the official code adds z-noise at test time too; we translate with z = μ unless this is true
    "test_noise": False,
    "checkpoint_every": 2000, "log_every": 50,
}

def check_params(p: Mapping[str, Any]) -> None:
    """The checks beyond the names (``Method.__init__`` resolves those): Table-6 values present, valid choices."""
    missing = [k for k in TABLE6_KEYS if p.get(k) is None]
    if missing:
        raise NoRecipeError(
            f"egscit: no Table-6 settings for dataset_preset {p['dataset_preset']!r} (missing {missing})",
            hint="set methods.egscit.params.dataset_preset to one of the rows of `table6` in "
                 "bench/configs/methods/egscit.yaml, or set those parameters explicitly")
    if p["adain"] not in ADAIN_VARIANTS:
        raise BenchError(f"egscit: unknown adain {p['adain']!r}", hint=f"valid: {', '.join(ADAIN_VARIANTS)}")
    if int(p["g_updates"]) < 1 or int(p["stage0_g_updates"]) < 1:
        raise BenchError("egscit: g_updates and stage0_g_updates must be ≥ 1", hint="the paper uses 5 and 1")
    if not 0.0 <= float(p["eta"]) <= 1.0:
        raise BenchError(f"egscit: eta={p['eta']} outside [0, 1]", hint="the paper uses 0.5")


def paired_streams(data: TrainData, batch_size: int, seed: int, skip: int = 0, workers: int = 0,
                   pin_memory: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (A, B) image batches, each domain shuffled independently and reproducibly (``stream`` mode, A from
    ``seed``, B from ``seed + STREAM_B``); ``skip`` fast-forwards that many batches without loading them; fetched
    in ``workers`` processes (``methods.common.sampling.load``)."""
    sampler_a = BatchSampler(len(data.a), batch_size, seed, "stream")  # type: ignore[arg-type]
    sampler_b = BatchSampler(len(data.b), batch_size, seed + STREAM_B, "stream")  # type: ignore[arg-type]
    indices = ((shard(a), shard(b)) for a, b in zip(sampler_a.indices(skip), sampler_b.indices(skip), strict=False))
    for batch_a, batch_b in load([data.a, data.b], indices, workers, pin_memory):
        yield batch_a["image"], batch_b["image"]


def _l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).abs().mean()


@METHODS.register("egscit")
class EGSCIT(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="unpaired", guidance="exemplar", directions="both",
        notes="two-stage: frozen per-domain VAE-GAN encoders give feature masks and AdaIN statistics; adain=paper "
              "(textbook) or official_code (scale by exemplar mean, shift by variance); perceptual loss needs VGG-19 "
              "ImageNet weights (allow_uncalibrated: random VGG, results marked uncalibrated)")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}

    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        check_params(params)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.vgg: features.FeatureExtractor | None = None
        if p["perceptual"] and (p["style_weight"] or p["content_weight"]):
            # channels-last weights: ≈20% faster convolutions on CPU; random weights from vgg19() under seed 0
            self.vgg = features.get("vgg19", layers=PERCEPTUAL_LAYERS, init="model", seed=0, channels_last=True,
                                    allow_uncalibrated=bool(p["allow_uncalibrated"]))
        self._build()

    def _build(self) -> None:
        """All networks (initialised from the current torch RNG), their optimisers and lr schedules."""
        p = self.params
        ngf, n_down, n_res, n_shared = int(p["ngf"]), int(p["n_down"]), int(p["n_res"]), int(p["n_shared"])
        # stage 0: per-domain autoencoders and their discriminators
        self.vae_a, self.vae_b = (init_generator(VAEGAN(ngf, n_down, n_res, n_shared)) for _ in range(2))
        self.d0_a, self.d0_b = (init_discriminator(Discriminator(int(p["ndf"]), int(p["n_dis"]))) for _ in range(2))
        # stage 1: the translator (UNIT weight sharing: shared last encoder block and first generator block)
        self.enc_a, self.enc_b = (init_generator(Encoder(ngf, n_down, n_res)) for _ in range(2))
        ch = self.enc_a.out_channels
        self.shared_enc = init_generator(ResStack(ch, n_shared))
        self.shared_gen = init_generator(ResStack(ch, n_shared))
        self.dec_a, self.dec_b = (init_generator(Decoder(ngf, n_down, n_res)) for _ in range(2))
        self.dis_a, self.dis_b = (init_discriminator(Discriminator(int(p["ndf"]), int(p["n_dis"]))) for _ in range(2))
        for net in self.networks().values():
            net.to(self.device)

        betas = (float(p["beta1"]), float(p["beta2"]))
        self.opt_g0 = torch.optim.Adam(self._params(self.vae_a, self.vae_b), lr=float(p["lr"]), betas=betas)
        self.opt_d0 = torch.optim.Adam(self._params(self.d0_a, self.d0_b), lr=float(p["lr"]), betas=betas)
        self.opt_g = torch.optim.Adam(self._params(*self.translator().values()), lr=float(p["lr"]), betas=betas)
        self.opt_d = torch.optim.Adam(self._params(self.dis_a, self.dis_b), lr=float(p["lr"]), betas=betas)
        self.schedulers = {
            name: poly_decay(opt, steps, float(p["lr_power"]))
            for name, opt, steps in (("g0", self.opt_g0, p["stage0_steps"]), ("d0", self.opt_d0, p["stage0_steps"]),
                                     ("g", self.opt_g, p["steps"]), ("d", self.opt_d, p["steps"]))
        }

    @staticmethod
    def _params(*nets: nn.Module) -> list[nn.Parameter]:
        return [q for net in nets for q in net.parameters()]

    # -- structure -----------------------------------------------------------------------------------------------
    def translator(self) -> dict[str, nn.Module]:
        """The stage-1 generator networks (the only ones the stage-1 G optimiser updates)."""
        return {"enc_a": self.enc_a, "enc_b": self.enc_b, "shared_enc": self.shared_enc,
                "shared_gen": self.shared_gen, "dec_a": self.dec_a, "dec_b": self.dec_b}

    def frozen_encoders(self) -> dict[str, nn.Module]:
        """F_A, F_B: the stage-0 encoders that supply feature masks and AdaIN statistics in stage 1."""
        return {"a": self.vae_a.encoder, "b": self.vae_b.encoder}

    def networks(self) -> dict[str, nn.Module]:
        return {"vae_a": self.vae_a, "vae_b": self.vae_b, "d0_a": self.d0_a, "d0_b": self.d0_b,
                **self.translator(), "dis_a": self.dis_a, "dis_b": self.dis_b}

    def optimizers(self) -> dict[str, Any]:
        return {"g0": self.opt_g0, "d0": self.opt_d0, "g": self.opt_g, "d": self.opt_d,
                **{f"sched_{k}": s for k, s in self.schedulers.items()}}

    # -- the conditioned translator ------------------------------------------------------------------------------
    def condition(self, x_content: torch.Tensor, content_domain: str, x_style: torch.Tensor, style_domain: str
                  ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Feature mask of the content images and channel statistics of the exemplars, from the frozen encoders'
        last residual block (the official code uses only that one)."""
        frozen = self.frozen_encoders()
        with torch.no_grad():
            f_content = frozen[content_domain](x_content)
            f_style = f_content if x_style is x_content else frozen[style_domain](x_style)
            mask = feature_mask(f_content, float(self.params["eta"]))
            stats = channel_moments(f_style)
        return mask, stats

    def modulation(self, mask: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]
                   ) -> Callable[[torch.Tensor], torch.Tensor]:
        """The decoder hook: h ↦ AdaIN(m ∘ h, exemplar statistics) (paper §3.1), per the ablation switches."""
        p = self.params

        def modulate(h: torch.Tensor) -> torch.Tensor:
            if p["feature_mask"]:
                m = mask if mask.shape[-2:] == h.shape[-2:] else F.interpolate(
                    mask, size=h.shape[-2:], mode="bilinear", align_corners=True)
                h = h * m
            return exemplar_adain(h, stats[0], stats[1], str(p["adain"]), float(p["adain_eps"]))

        return modulate

    def _latent(self, h: torch.Tensor, noise: bool) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.shared_enc(h)
        return (mu + torch.randn_like(mu) if noise else mu), mu

    # -- training ------------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        """Stage 0 checkpoints in ``<workdir>/stage0``, stage 1 in ``<workdir>`` (its ``last.pt`` is the run's last
        checkpoint); a resumed run skips a finished stage 0 and continues where it stopped."""
        p = self.params
        meta_name = (data.meta or {}).get("name")
        if meta_name and meta_name != p["dataset_preset"]:
            logging.getLogger("bench").warning(
                "egscit: training on %r with the Table-6 settings of %r (dataset_preset)", meta_name,
                p["dataset_preset"])
        with seeded(ctx.seed, self.device):  # the same initial weights for every fit with this seed
            self._build()
        torch.manual_seed(ctx.seed)
        self._run_stage(0, data, replace(ctx, workdir=ctx.workdir / "stage0"), int(p["stage0_steps"]),
                        int(p["stage0_g_updates"]))
        self._run_stage(1, data, ctx, int(p["steps"]), int(p["g_updates"]))
        self.eval_mode()

    def _run_stage(self, stage: int, data: TrainData, ctx: FitContext, steps: int, g_updates: int) -> None:
        p = self.params
        loop = TrainLoop(self, ctx, steps=steps, checkpoint_every=int(p["checkpoint_every"]),
                         log_every=int(p["log_every"]), desc=f"egscit stage {stage}")
        draws = 1 + g_updates  # the official input queue yields a fresh batch to every D and G update
        self._set_stage(stage)
        batches: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None
        for step in loop:
            if batches is None:  # a resumed run skips the batches the interrupted one already drew
                batches = paired_streams(data, int(p["batch_size"]), ctx.seed + STAGE_STRIDE * stage,
                                         skip=step * draws, workers=ctx.loader_workers,
                                         pin_memory=ctx.pin_memory)
            losses = self._step0(batches, g_updates) if stage == 0 else self._step1(batches, g_updates)
            for name in ("g0", "d0") if stage == 0 else ("g", "d"):
                self.schedulers[name].step()
            loop.report(step, losses)

    def _set_stage(self, stage: int) -> None:
        for net in self.networks().values():
            net.train()
        stage0_nets = [self.vae_a, self.vae_b, self.d0_a, self.d0_b]
        set_requires_grad(stage0_nets, stage == 0)
        if stage == 1:  # F_A, F_B are fixed feature extractors from here on
            for net in stage0_nets:
                net.eval()

    def _batch(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.params
        a, b = next(batches)
        if p["augment"]:
            a = flip_and_zoom_crop(a, float(p["crop_probability"]), float(p["min_crop"]))
            b = flip_and_zoom_crop(b, float(p["crop_probability"]), float(p["min_crop"]))
        return to_signed(a.to(self.device)), to_signed(b.to(self.device))

    def _step0(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], g_updates: int) -> dict[str, torch.Tensor]:
        p = self.params
        x_a, x_b = self._batch(batches)
        with torch.no_grad():
            fake_a, fake_b = self.vae_a(x_a)[0], self.vae_b(x_b)[0]
        d_loss = p["gan_weight"] * (lsgan_d(self.d0_a(x_a), self.d0_a(fake_a)) + lsgan_d(self.d0_b(x_b),
                                                                                         self.d0_b(fake_b)))
        self.opt_d0.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d0.step()
        for _ in range(g_updates):
            x_a, x_b = self._batch(batches)
            rec_a, mu_a = self.vae_a(x_a)
            rec_b, mu_b = self.vae_b(x_b)
            set_requires_grad([self.d0_a, self.d0_b], False)
            gan = lsgan_g(self.d0_a(rec_a)) + lsgan_g(self.d0_b(rec_b))
            set_requires_grad([self.d0_a, self.d0_b], True)
            recon = _l1(rec_a, x_a) + _l1(rec_b, x_b)
            kl = kl_mean_square(mu_a) + kl_mean_square(mu_b)
            g_loss = p["gan_weight"] * gan + p["recon_weight"] * recon + p["kl_weight"] * kl
            self.opt_g0.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g0.step()
        return {"s0_d": d_loss, "s0_g": g_loss, "s0_gan": gan, "s0_recon": recon, "s0_kl": kl}

    def _forward1(self, x_a: torch.Tensor, x_b: torch.Tensor, cycle: bool) -> dict[str, torch.Tensor]:
        """The four flows of paper Fig. 3 (and, with ``cycle``, the cycle reconstructions). Masks always come from
        the content image's own domain; AdaIN statistics from the decoder's domain (x_A's own for x_AA, the
        exemplar x_B for x_AB, ...). The batch's x_B[i] is x_A[i]'s exemplar and vice versa."""
        mask_a, stats_a = self.condition(x_a, "a", x_a, "a")
        mask_b, stats_b = self.condition(x_b, "b", x_b, "b")
        z, mu = self._latent(torch.cat([self.enc_a(x_a), self.enc_b(x_b)]), noise=True)
        h = self.shared_gen(z)
        masks = torch.cat([mask_a, mask_b])
        twice = lambda s: (torch.cat([s[0], s[0]]), torch.cat([s[1], s[1]]))  # noqa: E731
        x_aa, x_ba = self.dec_a(h, self.modulation(masks, twice(stats_a))).chunk(2)
        x_ab, x_bb = self.dec_b(h, self.modulation(masks, twice(stats_b))).chunk(2)
        out = {"x_aa": x_aa, "x_ba": x_ba, "x_ab": x_ab, "x_bb": x_bb, "mu": mu}
        if cycle:  # x_BA → E_A → G_B with x_B's mask and statistics; x_AB → E_B → G_A with x_A's
            z2, mu2 = self._latent(torch.cat([self.enc_a(x_ba), self.enc_b(x_ab)]), noise=True)
            h_bab, h_aba = self.shared_gen(z2).chunk(2)
            out["x_bab"] = self.dec_b(h_bab, self.modulation(mask_b, stats_b))
            out["x_aba"] = self.dec_a(h_aba, self.modulation(mask_a, stats_a))
            out["mu_bab"], out["mu_aba"] = mu2.chunk(2)
        return out

    def _step1(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], g_updates: int) -> dict[str, torch.Tensor]:
        p = self.params
        x_a, x_b = self._batch(batches)
        with torch.no_grad():
            fakes = self._forward1(x_a, x_b, cycle=False)
        d_loss = p["gan_weight"] * (lsgan_d(self.dis_a(x_a), self.dis_a(fakes["x_ba"]))
                                    + lsgan_d(self.dis_b(x_b), self.dis_b(fakes["x_ab"])))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        set_requires_grad([self.dis_a, self.dis_b], False)
        for _ in range(g_updates):
            x_a, x_b = self._batch(batches)
            o = self._forward1(x_a, x_b, cycle=True)
            gan = lsgan_g(self.dis_a(o["x_ba"])) + lsgan_g(self.dis_b(o["x_ab"]))
            recon = _l1(o["x_aa"], x_a) + _l1(o["x_bb"], x_b)
            cyc = _l1(o["x_aba"], x_a) + _l1(o["x_bab"], x_b)
            # the official objective counts KL(shared) in both domains' generator losses
            kl = 2 * kl_mean_square(o["mu"])
            kl_cyc = kl_mean_square(o["mu_bab"]) + kl_mean_square(o["mu_aba"])
            g_loss = (p["gan_weight"] * gan + p["recon_weight"] * recon + p["cycle_weight"] * cyc
                      + p["kl_weight"] * kl + p["kl_cycle_weight"] * kl_cyc)
            losses = {"d": d_loss, "gan": gan, "recon": recon, "cycle": cyc, "kl": kl}
            if self.vgg is not None:
                content, style = perceptual_losses(self.vgg, to_unit(x_a), to_unit(x_b), to_unit(o["x_ab"]),
                                                   to_unit(o["x_ba"]))
                g_loss = g_loss + p["style_weight"] * style + p["content_weight"] * content
                losses |= {"content": content, "style": style}
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
        set_requires_grad([self.dis_a, self.dis_b], True)
        return {"g": g_loss, **losses}

    # -- inference -----------------------------------------------------------------------------------------------
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if direction not in ("AB", "BA"):
            raise BenchError(f"egscit: unknown direction {direction!r}", hint="use AB or BA")
        if exemplar is None:
            if self.params["adain"] != "none":
                raise BenchError("egscit needs an exemplar of the target domain",
                                 hint="pass one exemplar per input image")
            exemplar = content
        elif exemplar.shape[0] != content.shape[0]:
            raise BenchError(f"egscit: got {content.shape[0]} inputs but {exemplar.shape[0]} exemplars",
                             hint="pass one exemplar per input image")
        src, tgt = ("a", "b") if direction == "AB" else ("b", "a")
        encoder = self.enc_a if src == "a" else self.enc_b
        decoder: Decoder = self.dec_b if tgt == "b" else self.dec_a
        x = to_signed(content.to(self.device))
        e = to_signed(exemplar.to(self.device))
        with torch.no_grad(), seeded(seed, self.device):
            mask, _ = self.condition(x, src, x, src)
            _, stats = self.condition(e, tgt, e, tgt)
            z, _ = self._latent(encoder(x), noise=bool(self.params["test_noise"]))
            out = decoder(self.shared_gen(z), self.modulation(mask, stats))
        return check_finite("egscit", to_unit(out))
