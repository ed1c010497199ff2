"""``sia``: Semantic Image Analogy (Li et al., "Semantic Image Analogy with a Conditional Single-Image GAN", ACM MM
2020) as released in ddlee-cn/SemIA@875b2c73; methods/sia/README.md maps every file and lists the deviations.

One generator is trained per test case on the source image and its layout alone (``fit``, contract §1): augmented
copies of the pair teach it to re-render the source image under a changed layout. ``translate(content,
exemplar, exemplar_labels=)`` renders the source image ``exemplar`` [N,3,H,W] in [0,1], whose layout is
``exemplar_labels``, under the target layout ``content``; layouts are one-hot [N,C,H,W] float or class ids [N,H,W].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import BenchError, DataError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.frozen import FrozenEncoders
from methods.common.sampling import derive_seed, step_generator
from methods.common.spade import init_xavier
from methods.common.training import require_kind, set_requires_grad
from methods.sia import losses as L
from methods.sia.augment import augment
from methods.sia.networks import DeeplabAux, FPSEDiscriminator, SIAGenerator
from methods.training import TrainLoop, check_finite

CHOICES: dict[str, tuple[Any, ...]] = {"aux_grad": ("paper", "official_code"), "layout": ("colour", "onehot"),
                                       "vgg_input": ("raw", "imagenet")}
DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # the patch loss needs VGG-19 ImageNet weights; true: random VGG, uncalibrated
    # layouts: "colour" = a fixed colour per class in [-1,1] (the released code reads colour-coded label images);
    # "onehot" = the protocol's one-hot maps (label_nc channels)
    "layout": "colour", "input_nc": 3, "label_nc": 3,
    "max_side": None,  # downscale the source so its longer side is at most this (the released --resize)
    "base_nc": 32, "levels": 3, "d_base_nc": 64, "aux_nc": 128, "init_gain": 0.02,
    # optimisation: TTUR Adam β=(0, 0.9), G and aux lr/2, D 2·lr; 2500 iterations, linear decay to lr/10 after 1000
    "lr": 0.01, "beta1": 0.0, "beta2": 0.9, "steps": 2500, "stable_iter": 1000, "niter_decay": 1500,
    "g_steps": 10, "d_steps": 1, "a_steps": 1, "rec_every": 5,
    "rec_w": 5.0, "fixedpoint_w": 1.0, "patch_w": 1.0, "feat_w": 1.0, "aux_w": 1.0,
    "aux_grad": "paper",  # paper: the aux loss trains G; official_code: computed on a detached fake (no gradient)
    "vgg_input": "raw",  # raw: the [-1,1] image straight into VGG, as released; imagenet: [0,1] + ImageNet norm
    "noise": True, "max_scale": 0.2, "tps_scale": 0.02, "tps_points": 3, "use_tps": True,
    "checkpoint_every": 100, "log_every": 10,
}
LOSS_KEYS = ("D_real", "D_fake", "G_GAN", "G_feat", "G_rec", "G_alpha_fp", "G_beta_fp", "G_patch", "G_aux", "aux_l1")


def palette(n: int) -> torch.Tensor:
    """[n,3] colours in [-1,1], distinct per class (the PASCAL VOC bit-interleaving palette)."""
    out = torch.zeros(n, 3)
    for k in range(n):
        c, v = k, [0, 0, 0]
        for shift in range(7, -1, -1):
            for ch in range(3):
                v[ch] |= ((c >> ch) & 1) << shift
            c >>= 3
        out[k] = torch.tensor(v, dtype=torch.float32)
    return out / 127.5 - 1


@METHODS.register("sia")
class SIA(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="single_image", guidance="exemplar", directions="AB", needs_label_maps=True,
        needs_exemplar_labels=True,
        notes="one conditional GAN per source image: SFT modulation from source/target layout features; patch loss "
              "needs VGG-19 ImageNet weights; aux_grad records whether the aux loss trains G (paper) or not (code)")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}
    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.vgg: features.FeatureExtractor | None = None
        if p["patch_w"] > 0:
            self.vgg = features.get("vgg19", upto="relu2_1", init="model", seed=0,
                                    allow_uncalibrated=p["allow_uncalibrated"])
        self._build(0)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Choice-valued parameters (``CHOICES``) and a reconstruction period ≥ 1; ``BenchError`` otherwise."""
        for name, valid in CHOICES.items():
            if params[name] not in valid:
                raise BenchError(f"sia: {name} must be one of {', '.join(valid)}, got {params[name]!r}",
                                 hint=f"set methods.<label>.params.{name} to one of them")
        if int(params["rec_every"]) < 1 or int(params["g_steps"]) < 1:
            raise BenchError("sia: rec_every and g_steps must be ≥ 1", hint="the released code uses 5 and 10")

    @property
    def cond_nc(self) -> int:
        return 3 if self.params["layout"] == "colour" else int(self.params["label_nc"])

    def _build(self, seed: int) -> None:
        """Fresh networks and optimisers from ``seed`` (spectral norm's power-iteration vectors included)."""
        p = self.params
        with seeded(seed):
            self.G = init_xavier(SIAGenerator(self.cond_nc, p["base_nc"], p["levels"]), p["init_gain"])
            self.D = init_xavier(FPSEDiscriminator(p["d_base_nc"]), p["init_gain"])
            self.Aux = init_xavier(DeeplabAux(self.cond_nc, p["aux_nc"]), p["init_gain"])
        for net in self.networks().values():
            net.to(self.device)
        betas = (p["beta1"], p["beta2"])
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=p["lr"] / 2, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=p["lr"] * 2, betas=betas)
        self.opt_a = torch.optim.Adam(self.Aux.parameters(), lr=p["lr"] / 2, betas=betas)

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D, "Aux": self.Aux}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_g, "D": self.opt_d, "Aux": self.opt_a}

    # -- inputs -----------------------------------------------------------------------------------------------
    def encode_layout(self, maps: torch.Tensor) -> torch.Tensor:
        """Layouts one-hot [N,C,H,W] float or ids [N,H,W] / [N,1,H,W] → the network's [N,cond_nc,H,W]."""
        ids = maps.argmax(1) if maps.is_floating_point() else (maps[:, 0] if maps.dim() == 4 else maps).long()
        if self.params["layout"] == "colour":
            return palette(int(ids.max()) + 1).to(ids.device)[ids].permute(0, 3, 1, 2).contiguous()
        if int(ids.max()) >= self.cond_nc:
            raise DataError(f"sia (onehot) was built with label_nc={self.cond_nc} but got class {int(ids.max())}",
                            hint="set label_nc to the protocol's channel count")
        return F.one_hot(ids, self.cond_nc).permute(0, 3, 1, 2).float()

    def working_size(self, h: int, w: int) -> tuple[int, int]:
        """(h, w) after the ``max_side`` downscale, shaved to multiples of 2**levels (the released must_divide)."""
        side = self.params["max_side"]
        if side and max(h, w) > side:
            h, w = round(h * side / max(h, w)), round(w * side / max(h, w))
        m = 2 ** self.params["levels"]
        if h < m * 2 or w < m * 2:  # the discriminator's coarsest scale is 1/8
            raise DataError(f"sia needs images of at least {m * 2} px a side, got {h}×{w}", hint="use larger images")
        return h // m * m, w // m * m

    def _prepare(self, image: torch.Tensor, layout: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """image [N,3,H,W] in [0,1] → [-1,1]; layout → encoded; both at ``working_size`` (resize, not crop)."""
        size = self.working_size(*image.shape[-2:])
        cond = self.encode_layout(layout)
        if tuple(image.shape[-2:]) != size:
            image = F.interpolate(image.float(), size=size, mode="bilinear", align_corners=False)
        if tuple(cond.shape[-2:]) != size:
            cond = F.interpolate(cond, size=size, mode="nearest")
        return image.float().to(self.device) * 2 - 1, cond.to(self.device)

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        """Re-initialise (seed ``ctx.seed``) and train on ``data.a[0]`` (source layout) and ``data.b[0]`` (source
        image) for ``steps`` iterations; the target layout (``meta["target"]``) is only needed by ``translate``."""
        require_kind("sia", data, "single_image")
        if len(data.a) != 1 or len(data.b) != 1:  # type: ignore[arg-type]
            raise DataError("sia trains on exactly one source image and its layout",
                            hint="the protocol calls fit once per case (contract §1)")
        self._build(ctx.seed)
        a, b = data.a[0], data.b[0]
        image, layout = self._prepare(b["image"][None], a.get("input", a["label_map"])[None])
        loop = TrainLoop(self, ctx, steps=self.params["steps"], checkpoint_every=self.params["checkpoint_every"],
                         log_every=self.params["log_every"], desc="sia")
        self.train_mode()
        for it in loop:
            with seeded(derive_seed(ctx.seed, it), self.device):  # the aux net's dropout: same draws on resume
                losses = self.iteration(it, image, layout, step_generator(ctx.seed, it))
            loop.report(it, losses)
        self.eval_mode()

    def set_lr(self, it: int) -> None:
        """The released ``update_learning_rate`` (called after each iteration): lr falls by 0.9·lr/niter_decay after
        every iteration past ``stable_iter``; G gets lr/2, D 2·lr; the aux optimiser keeps its first lr."""
        p = self.params
        lr = p["lr"] * (1 - 0.9 * max(0, it - 1 - p["stable_iter"]) / p["niter_decay"])
        for group in self.opt_g.param_groups:
            group["lr"] = lr / 2
        for group in self.opt_d.param_groups:
            group["lr"] = lr * 2

    def is_reconstruction(self, it: int) -> bool:
        """Iterations 0, rec_every, 2·rec_every, ... reconstruct the augmented image from itself (train.py)."""
        return it % self.params["rec_every"] == 0

    def iteration(self, it: int, image: torch.Tensor, layout: torch.Tensor, g: torch.Generator
                  ) -> dict[str, torch.Tensor]:
        """One released iteration: D step(s), aux step(s) on reconstruction iterations, ``g_steps`` G steps, D
        step(s). Returns every loss of ``LOSS_KEYS`` (0 for those this iteration's mode does not compute) and
        ``rec_iteration`` (1 or 0)."""
        p = self.params
        self.set_lr(it)
        aug_img, aug_lay = augment(image.cpu(), layout.cpu(), it, p["stable_iter"], g, p["max_scale"],
                                   p["tps_scale"], p["tps_points"], p["use_tps"])
        aug_img, aug_lay = aug_img.to(self.device), aug_lay.to(self.device)
        rec = self.is_reconstruction(it)
        if rec:
            src, tgt = (aug_img, aug_lay), (aug_img, aug_lay)
        else:
            src, tgt = (image, layout), (aug_img, aug_lay)
            if bool(torch.rand((), generator=g) < 0.5):
                src, tgt = tgt, src
        out = {k: torch.zeros(()) for k in LOSS_KEYS}
        for _ in range(p["d_steps"]):
            out |= self._d_step(src, tgt, g)
        if rec:
            for _ in range(p["a_steps"]):
                out |= self._aux_step(src)
        for _ in range(p["g_steps"]):
            out |= self._g_step(src, tgt, rec, g)
        for _ in range(p["d_steps"]):
            out |= self._d_step(src, tgt, g)
        out["rec_iteration"] = torch.tensor(float(rec))
        return out

    def _generate(self, src: tuple[torch.Tensor, torch.Tensor], tgt_layout: torch.Tensor, g: torch.Generator
                  ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        image = src[0]
        if self.params["noise"]:  # uniform ±1/255 on the input image (``generate_fake``, InGAN)
            image = image + (torch.rand(image.shape, generator=g).to(image) - 0.5) * 2 / 255
        return self.G(image, src[1], tgt_layout)

    def _d_step(self, src: tuple[torch.Tensor, torch.Tensor], tgt: tuple[torch.Tensor, torch.Tensor],
                g: torch.Generator) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            fake, _ = self._generate(src, tgt[1], g)
        preds, _ = self.D(torch.cat([tgt[0], fake]))
        real_p, fake_p = [x[:1] for x in preds], [x[1:] for x in preds]
        losses = {"D_real": L.lsgan(real_p, True), "D_fake": L.lsgan(fake_p, False)}
        self.opt_d.zero_grad(set_to_none=True)
        sum(losses.values()).backward()  # type: ignore[union-attr]
        self.opt_d.step()
        return {k: v.detach() for k, v in losses.items()}

    def _aux_step(self, src: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        loss = F.l1_loss(self.Aux(src[0]), src[1])
        self.opt_a.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_a.step()
        return {"aux_l1": loss.detach()}

    def _vgg(self, x: torch.Tensor) -> list[torch.Tensor]:
        assert self.vgg is not None
        raw = self.params["vgg_input"] == "raw"
        feats = self.vgg(x if raw else (x + 1) / 2, ("relu1_1", "relu2_1"), normalise=not raw)
        return [feats["relu1_1"], feats["relu2_1"]]

    def _g_step(self, src: tuple[torch.Tensor, torch.Tensor], tgt: tuple[torch.Tensor, torch.Tensor], rec: bool,
                g: torch.Generator) -> dict[str, torch.Tensor]:
        p = self.params
        set_requires_grad([self.D, self.Aux], False)
        fake, params = self._generate(src, tgt[1], g)
        preds, feats = self.D(torch.cat([tgt[0], fake]))
        losses = {"G_GAN": L.lsgan([x[1:] for x in preds], True),
                  "G_feat": L.feature_matching([f[1:] for f in feats], [f[:1] for f in feats]) * p["feat_w"]}
        if rec:
            alpha, beta = L.fixed_point(params)
            losses |= {"G_alpha_fp": alpha * p["fixedpoint_w"], "G_beta_fp": beta * p["fixedpoint_w"],
                       "G_rec": F.l1_loss(fake, tgt[0]) * p["rec_w"]}
        else:
            losses["G_aux"] = self.aux_loss(fake, tgt[1]) * p["aux_w"]
            if self.vgg is not None and p["patch_w"] > 0:
                losses["G_patch"] = L.patch_loss(self._vgg(src[0]), self._vgg(fake), g) * p["patch_w"]
        self.opt_g.zero_grad(set_to_none=True)
        sum(losses.values()).backward()  # type: ignore[union-attr]
        self.opt_g.step()
        set_requires_grad([self.D, self.Aux], True)
        return {k: v.detach() for k, v in losses.items()}

    def aux_loss(self, fake: torch.Tensor, target_layout: torch.Tensor) -> torch.Tensor:
        """L1(Aux(fake), target layout). ``aux_grad=paper``: differentiable in ``fake`` (paper §3.3); ``official_code``:
        computed under no_grad on the detached fake, as model.py does, so it is a constant to G."""
        if self.params["aux_grad"] == "official_code":
            with torch.no_grad():
                return F.l1_loss(self.Aux(fake.detach()), target_layout)
        return F.l1_loss(self.Aux(fake), target_layout)

    # -- inference --------------------------------------------------------------------------------------------
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0, exemplar_labels: torch.Tensor | None = None) -> torch.Tensor:
        """The source image ``exemplar`` re-rendered under the target layout ``content`` (deterministic: no noise,
        BatchNorm running statistics, as ``model.evaluate``). [N,3,H,W] in [0,1] at the content's size. Raises
        ``BenchError`` for BA or a missing exemplar or exemplar layout."""
        if direction != "AB":
            raise BenchError(f"sia renders a layout with a source image; it cannot translate {direction}")
        if exemplar is None or exemplar_labels is None:
            raise BenchError("sia needs the source image and its layout",
                             hint="pass exemplar= and exemplar_labels= (protocols do for needs_exemplar_labels)")
        if exemplar.size(0) != content.size(0):
            raise BenchError(f"got {content.size(0)} layouts but {exemplar.size(0)} source images",
                             hint="pass one source image per target layout")
        size = tuple(content.shape[-2:])
        image, src_layout = self._prepare(exemplar, exemplar_labels)
        tgt_layout = self.encode_layout(content)
        tgt_layout = F.interpolate(tgt_layout, size=image.shape[-2:], mode="nearest").to(self.device)
        self.eval_mode()
        with torch.no_grad():
            out, _ = self.G(image, src_layout, tgt_layout)
        out = F.interpolate(out, size=size, mode="bilinear", align_corners=False) if out.shape[-2:] != size else out
        return check_finite("sia", ((out.cpu() + 1) / 2).clamp(0.0, 1.0))
