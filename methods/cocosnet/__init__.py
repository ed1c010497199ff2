"""``cocosnet``: CoCosNet (Zhang et al., "Cross-domain Correspondence Learning for Exemplar-based Image Translation",
CVPR 2020) as released in microsoft/CoCosNet@de0c1bbd; methods/cocosnet/README.md lists the sources and deviations.

The input conditioning (one-hot label map, face edges or pose channels) and the exemplar are matched by the
correspondence network (``correspondence.py``); the warped exemplar and the input condition a SPADE generator
(``networks.py``). ``translate(content, exemplar, exemplar_labels=...)``: ``content`` [N,input_nc,H,W] float (or
class ids [N,H,W] long, one-hot encoded here when input_nc = label_nc); ``exemplar`` RGB [N,3,H,W] in [0,1];
``exemplar_labels`` the exemplar's conditioning, same encoding as ``content`` (needed with ``maskmix``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import BenchError, DataError, NoRecipeError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.cocosnet import losses as L
from methods.cocosnet.correspondence import CorrespondenceNet
from methods.cocosnet.networks import CoCosGenerator, MultiscaleDiscriminator
from methods.cocosnet.sampling import ExemplarSampler
from methods.common.conditioning import as_conditioning, resize_nearest
from methods.common.correspondence import MATCH_FACTORS
from methods.common.distributed import shard
from methods.common.frozen import FrozenEncoders
from methods.common.paired import AdamPairState, adam_pair, optimise, paired_training
from methods.common.sampling import fetch, step_generator
from methods.common.spade import discriminate_pair, init_xavier
from methods.common.spade_losses import hinge_d_step
from methods.common.training import require_kind, set_requires_grad
from methods.training import check_finite

DATASETS = ("ade20k", "celebahq", "celebahq_edge", "deepfashion")
ABLATIONS = {"feat": "fm_ratio", "domain": "weight_domain", "perc": "weight_perceptual", "context": "ctx_w",
             "reg": "warp_cycle_w"}  # the paper's loss (Eq. 14) → the weight that switches it off
WEIGHTS = ("weight_gan", "lambda_feat", "lambda_vgg", "fm_ratio", "weight_perceptual", "ctx_w", "weight_domain",
           "weight_mask", "warp_cycle_w", "warp_self_w")
CHOICES: dict[str, tuple[Any, ...]] = {  # parameters with a fixed set of values (checked before any data)
    "dataset": DATASETS, "match_resolution": tuple(MATCH_FACTORS), "which_perceptual": ("5_2", "4_2"),
    "vgg_input": ("imagenet", "raw"), "warp_bilinear": (True, False), "warp_patch": (True, False),
    "maskmix": (True, False), "pono_c": (True, False), "pono": (True, False), "use_attention": (True, False),
}
DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # the VGG losses need VGG-19 ImageNet weights; true: random VGG, uncalibrated
    # data facts (set by the protocol): ADE20k, 150 classes + don't care as one-hot input
    "dataset": "ade20k", "input_nc": 151, "label_nc": 151,
    "crop_size": 256, "load_size": 286, "flip": True,
    # correspondence network (NoVGGCorrespondence): match at 1/4 (64×64), 3×3 patches, PONO_C centring, T = 0.01
    "ngf": 64, "adaptor_kernel": 3, "match_resolution": "1/4", "match_kernel": 3, "corr_channels": 256,
    "temperature": 0.01, "maskmix": True, "pono_c": True, "warp_bilinear": False, "warp_patch": False,
    "chunk_size": None,  # soft_warp's query chunk (None: its default)
    # generator / discriminator: SPADE with PONO, hidden 128, self-attention in G and D
    "spade_hidden": 128, "pono": True, "use_attention": True, "ndf": 64, "n_layers_d": 4, "num_d": 2,
    # exemplar sampling (pix2pix_dataset.py); same_person_pairs: DeepFashion's --video_like
    "real_reference_probability": 0.7, "hard_reference_probability": 0.2, "same_person_pairs": False,
    # losses (pix2pix_model.py): ADE20k recipe
    "weight_gan": 10.0, "lambda_feat": 10.0, "lambda_vgg": 10.0, "fm_ratio": 0.1, "which_perceptual": "5_2",
    "weight_perceptual": 0.01, "ctx_w": 1.0, "use_22ctx": False, "weight_domain": 10.0, "weight_mask": 100.0,
    "warp_cycle_w": 0.0, "warp_self_w": 0.0,
    "without": [],  # Table 4 ablations: any of feat, domain, perc, context, reg (zeroes that loss whatever its weight)
    "vgg_input": "imagenet",  # --vgg_normal_correct: [-1,1] → [0,1] before VGG; "raw": the uncorrected default
    # optimisation: Adam β=(0, 0.9), G+Corr lr/2 (eps 1e-3), D 2·lr; 100 + 100 epochs of 20,210 images at batch 32
    "lr": 2e-4, "beta1": 0.0, "beta2": 0.9, "adam_eps_g": 1e-3, "batch_size": 32, "steps": 126_320,
    "decay_steps": 63_160, "init_gain": 0.02, "checkpoint_every": 1000, "log_every": 10,
}


def _resize(t: torch.Tensor, size: int, nearest: bool) -> torch.Tensor:
    if tuple(t.shape[-2:]) == (size, size):
        return t
    if nearest:
        return F.interpolate(t.float(), size=(size, size), mode="nearest").to(t.dtype)
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)


def jitter(tensors: list[torch.Tensor], nearest: list[bool], load_size: int | None, crop_size: int, flip: bool,
           generator: torch.Generator) -> list[torch.Tensor]:
    """``resize_and_crop`` + flip with one crop and flip for all ``tensors`` [B,C,H,W]: resized to ``load_size``
    (nearest for label maps and conditioning, bilinear for images), cropped to ``crop_size``, flipped with p=0.5."""
    out = [_resize(t, load_size or crop_size, n) for t, n in zip(tensors, nearest, strict=True)]
    side = out[0].size(-1)
    if side > crop_size:
        top = int(torch.randint(0, side - crop_size + 1, (1,), generator=generator))
        left = int(torch.randint(0, side - crop_size + 1, (1,), generator=generator))
        out = [t[..., top:top + crop_size, left:left + crop_size] for t in out]
    if flip and bool(torch.rand((), generator=generator) < 0.5):
        out = [t.flip(-1) for t in out]
    return out


def build_networks(p: dict[str, Any]) -> dict[str, nn.Module]:
    """netCorr, netG and netD from resolved parameters (default PyTorch init; ``init_xavier`` follows)."""
    param_free = "pono" if p["pono"] else "batch"
    corr = CorrespondenceNet(
        p["input_nc"], p["ngf"], p["adaptor_kernel"], p["match_resolution"], p["maskmix"],
        p["match_kernel"], p["corr_channels"], p["spade_hidden"], param_free, p["pono_c"], p["warp_bilinear"],
        p["warp_patch"], p["temperature"], p["chunk_size"])
    gen = CoCosGenerator(3 + p["input_nc"], p["crop_size"], p["ngf"], p["spade_hidden"], param_free,
                         p["use_attention"])
    disc = MultiscaleDiscriminator(p["input_nc"] + 3, p["ndf"], p["n_layers_d"], p["num_d"], p["use_attention"])
    return {"Corr": corr, "G": gen, "D": disc}


@METHODS.register("cocosnet")
class CoCosNet(FrozenEncoders, AdamPairState, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="exemplar", directions="AB", needs_label_maps=True, needs_exemplar_labels=True,
        notes="conditioning → image; the exemplar is warped by a learned dense correspondence (softmax over "
              "exemplar positions), maskmix uses the exemplar's label map; VGG losses need VGG-19 ImageNet weights")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}
    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        dropped = {ABLATIONS[name] for name in p["without"]}
        self.w = {k: 0.0 if k in dropped else float(p[k]) for k in WEIGHTS}  # effective loss weights
        if self.w["weight_mask"] > 0 and p["input_nc"] != p["label_nc"]:
            raise BenchError(f"cocosnet's mask loss needs one-hot conditioning (input_nc {p['input_nc']} = label_nc "
                             f"{p['label_nc']})", hint="set weight_mask=0 for edge or pose inputs")
        self.vgg: features.FeatureExtractor | None = None
        if self.w["fm_ratio"] > 0 or self.w["weight_perceptual"] > 0 or self.w["ctx_w"] > 0:
            self.vgg = features.get("vgg19", upto="relu5_2", init="model", seed=0,
                                    allow_uncalibrated=p["allow_uncalibrated"])
        self._build(0)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """The choice-valued parameters (``CHOICES``), the ablation names in ``without`` and a positive
        temperature; ``BenchError`` naming the valid values."""
        if params["dataset"] not in DATASETS:  # a protocol's data with no README recipe: refused, not an error
            raise NoRecipeError(f"cocosnet: no training recipe for dataset {params['dataset']!r} (recipes: "
                                f"{', '.join(DATASETS)})", hint="add a `datasets.<name>` overlay to "
                                "bench/configs/methods/cocosnet.yaml and the name to DATASETS in "
                                "methods/cocosnet/__init__.py")
        for name, valid in CHOICES.items():
            if params[name] not in valid:
                raise BenchError(f"cocosnet: {name} must be one of {', '.join(map(str, valid))}, "
                                 f"got {params[name]!r}", hint=f"set methods.<label>.params.{name} to one of them")
        unknown = sorted(set(params["without"]) - set(ABLATIONS))
        if unknown:
            raise BenchError(f"cocosnet: unknown ablation(s) {unknown} in `without`; known: {', '.join(ABLATIONS)}",
                             hint="the paper's Table 4 drops feat, domain, perc, context or reg")
        if not float(params["temperature"]) > 0:
            raise BenchError(f"cocosnet: temperature must be > 0, got {params['temperature']!r}",
                             hint="the paper uses 0.01")

    def _build(self, seed: int) -> None:
        """Networks and optimisers from ``seed`` (spectral norm's power-iteration vectors included)."""
        p = self.params
        with seeded(seed):
            nets = build_networks(p)
            for net in nets.values():
                init_xavier(net, p["init_gain"])
        self.Corr, self.G, self.D = nets["Corr"], nets["G"], nets["D"]
        for net in self.networks().values():
            net.to(self.device)
        self.opt_g, self.opt_d, self.sched_g, self.sched_d = adam_pair(  # TTUR
            [{"params": self.G.parameters()}, {"params": self.Corr.parameters()}], self.D.parameters(), p,
            p["lr"] / 2, p["lr"] * 2, eps_g=p["adam_eps_g"])

    def networks(self) -> dict[str, nn.Module]:
        return {"Corr": self.Corr, "G": self.G, "D": self.D}

    # -- inputs -----------------------------------------------------------------------------------------------
    def conditioning(self, maps: torch.Tensor, what: str = "content") -> torch.Tensor:
        """[N,input_nc,H,W] float conditioning from float maps of that shape, or from class ids [N,H,W]/[N,1,H,W]
        (one-hot, when input_nc = label_nc); ``BenchError`` otherwise (``methods.common.conditioning``)."""
        return as_conditioning(maps, self.params["input_nc"], self.params["label_nc"], f"cocosnet ({what})")

    def _items(self, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(conditioning [B,C,H,W], class ids [B,1,H,W], image [B,3,H,W] in [−1,1]) of fetched training items."""
        if "label_map" not in a:
            raise BenchError("cocosnet needs a label map for every training input",
                             hint="run cocosnet only in protocols that offer label maps")
        ids = a["label_map"].long()
        ids = ids.unsqueeze(1) if ids.dim() == 3 else ids
        cond = self.conditioning(a.get("input", ids), "training input")
        return cond, ids, b["image"].float() * 2 - 1

    def _check_meta(self, data: TrainData) -> None:
        for key in ("input_nc", "label_nc", "dataset"):
            if key in data.meta and data.meta[key] != self.params[key]:
                raise DataError(f"cocosnet was built with {key}={self.params[key]!r} but the training data has "
                                f"{data.meta[key]!r}", hint=f"set {key}={data.meta[key]!r} (protocols set it)")

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        require_kind("cocosnet", data, "paired")
        self._check_meta(data)
        p = self.params
        n = len(data.a)  # type: ignore[arg-type]
        same_person = data.meta.get("same_person") if p["same_person_pairs"] else None
        if p["same_person_pairs"] and same_person is None:
            raise DataError("cocosnet's same_person_pairs needs TrainData.meta['same_person']",
                            hint="set same_person_pairs=false, or use the deepfashion protocol")
        exemplars = ExemplarSampler(n, data.meta.get("exemplar_lists"), same_person,
                                    p["real_reference_probability"], p["hard_reference_probability"])
        loop, sampler = paired_training(self, data, ctx, self._build)
        # the inputs come through the loader (workers, pinned memory); the exemplars depend on the step's draws
        batches = loop.load([sampler, sampler], [data.a, data.b])
        for step in loop:
            idx = shard(sampler.at(step))  # this rank's share, as ``batches`` loads it
            g = step_generator(ctx.seed, step)
            refs, self_ref = exemplars.draw(idx, g)
            sizes = (p["load_size"], p["crop_size"], p["flip"], g)
            seg, ids, real = jitter(list(self._items(*next(batches))), [True, True, False], *sizes)
            ref_seg, ref_ids, ref = jitter(list(self._items(fetch(data.a, refs), fetch(data.b, refs))),
                                           [True, True, False], *sizes)
            batch = [t.to(self.device) for t in (seg, ids, real, ref_seg, ref_ids, ref, self_ref)]
            loop.report(step, self._train_step(*batch))
        self.eval_mode()

    def _vgg_feats(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        assert self.vgg is not None
        if self.params["vgg_input"] == "raw":  # the [-1,1] image read as if it were [0,1] (no vgg_normal_correct)
            return self.vgg(images, L.VGG_LAYERS)
        return self.vgg((images + 1) / 2, L.VGG_LAYERS)

    def _train_step(self, seg: torch.Tensor, ids: torch.Tensor, real: torch.Tensor, ref_seg: torch.Tensor,
                    ref_ids: torch.Tensor, ref: torch.Tensor, self_ref: torch.Tensor) -> dict[str, torch.Tensor]:
        w = self.w
        set_requires_grad(self.D, False)
        corr = self.Corr(ref, seg, ref_seg, real if w["weight_domain"] > 0 else None,
                         warp_mask=w["weight_mask"] > 0, cycle=w["warp_cycle_w"] > 0)
        fake = self.G(torch.cat([corr["warp_out"], seg], 1))
        pred_fake, pred_real = discriminate_pair(self.D, seg, fake, real)
        losses: dict[str, torch.Tensor] = {
            "GAN": L.hinge_generator(pred_fake) * w["weight_gan"],
            "GAN_Feat": L.gan_feature_matching(pred_fake, pred_real) * w["lambda_feat"]}
        if self.vgg is not None:
            fake_f, real_f, ref_f = self._vgg_feats(fake), self._vgg_feats(real), self._vgg_feats(ref)
            losses["fm"] = L.vgg_feature_matching(fake_f, real_f, self_ref) * w["lambda_vgg"] * w["fm_ratio"]
            losses["perc"] = L.perceptual(fake_f, real_f, self.params["which_perceptual"]) * w["weight_perceptual"]
            centre = "position" if self.params["pono"] else "channel"
            losses["contextual"] = (L.contextual(fake_f, ref_f, centre, self.params["use_22ctx"])  # type: ignore[arg-type]
                                    * w["lambda_vgg"] * w["ctx_w"])
        if "loss_domain" in corr:
            losses["no_vgg_feat"] = corr["loss_domain"] * w["weight_domain"]
        if "warp_mask" in corr:
            losses["mask"] = L.warped_mask_loss(corr["warp_mask"], ids, ref_ids) * w["weight_mask"]
        if "warp_cycle" in corr:
            losses["G_warp_cycle"] = L.warp_cycle(corr["warp_cycle"], corr["exemplar_low"]) * w["warp_cycle_w"]
        if w["warp_self_w"] > 0:
            losses["G_warp_self"] = L.warp_self(corr["warp_out"], real, self_ref) * w["warp_self_w"]
        optimise(self.opt_g, sum(losses.values()))  # type: ignore[arg-type]
        # discriminator on the same (detached) fake, as ``compute_discriminator_loss``
        hinge_d_step(self.D, self.opt_d, seg, fake.detach(), real, losses, L.hinge_discriminator, w["weight_gan"])
        self.sched_g.step()
        self.sched_d.step()
        return losses

    # -- inference --------------------------------------------------------------------------------------------
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0, exemplar_labels: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic (``seed`` unused). Raises ``BenchError`` for BA, a missing exemplar, or missing
        ``exemplar_labels`` with ``maskmix``."""
        if direction != "AB":
            raise BenchError(f"cocosnet maps conditioning to images; it cannot translate {direction}")
        if exemplar is None:
            raise BenchError("cocosnet needs an exemplar image", hint="pass one exemplar per input")
        p = self.params
        seg = self.conditioning(content)
        if exemplar.size(0) != seg.size(0):
            raise BenchError(f"got {seg.size(0)} inputs but {exemplar.size(0)} exemplars",
                             hint="pass one exemplar per input")
        if exemplar_labels is None and p["maskmix"]:
            raise BenchError("cocosnet (maskmix) needs the exemplar's label map",
                             hint="pass exemplar_labels= (protocols do for needs_exemplar_labels methods)")
        size, crop = tuple(content.shape[-2:]), p["crop_size"]
        seg = resize_nearest(seg, crop).to(self.device)
        ref_seg = None if exemplar_labels is None else resize_nearest(
            self.conditioning(exemplar_labels, "exemplar_labels"), crop).to(self.device)
        ref = _resize(exemplar.float(), crop, nearest=False).to(self.device) * 2 - 1
        self.eval_mode()
        with torch.no_grad():
            warped = self.Corr(ref, seg, ref_seg)["warp_out"]
            out = self.G(torch.cat([warped, seg], 1))
        out = F.interpolate(out, size=size, mode="bilinear", align_corners=False) if out.shape[-2:] != size else out
        return check_finite("cocosnet", ((out + 1) / 2).clamp(0.0, 1.0))
