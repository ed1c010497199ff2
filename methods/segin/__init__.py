"""SEGIN: Semantic Example Guided Image-to-Image Translation (Huang, Liao, Kwong; IEEE TMM 2020, arXiv 1909.13028).

UNOFFICIAL re-implementation from the paper (no public code exists); see README.md for the mapping from paper
sections and equations to this code and for every choice the paper leaves open.

Test time: W(x, r) = semantic match of the reference r onto the input x (VGG-19 patches, Eq. 1–2), then
ŷ = N(x, r, W) (``n_inputs: paper``; ``x_w``: N(x, W)). Training (self-supervised, paired data): the reference is
the ground truth y; W(x, y) is perturbed (patch shifting, pattern repeating, random matches) and N learns to
reconstruct y (Eq. 5–11) while a second decoder predicts y's foreground mask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import BenchError
from core.features import VGG19_RELU, imagenet_normalise
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.frozen import FrozenEncoders
from methods.common.sampling import derive_seed, fetch
from methods.segin.auxiliary import bbox_warp, random_correspondence
from methods.segin.losses import (
    LossWeights,
    feature_loss,
    feature_sum_scale,
    gan_d_loss,
    gan_g_loss,
    recon_loss,
    seg_attention_loss,
    seg_loss,
    tv_loss,
)
from methods.segin.match import SemanticMatcher, warp
from methods.segin.networks import N_INPUTS, SeginGenerator, SpectralPatchDiscriminator
from methods.segin.postprocess import PostProcess
from methods.training import TrainLoop, check_finite

# The paper's settings (= the `paper` scale); bench/configs/methods/segin.yaml repeats them with comments.
DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # random VGG-19 when its weights are missing (then calibrated=False)
    "vgg_seed": 0,  # seeds the random VGG-19 when uncalibrated
    "image_size": 256,
    "ngf": 64,
    "ndf": 64,
    "d_layers": 3,  # PatchGAN depth (3 = 70×70 receptive field)
    "n_nonlocal": 3,
    "non_local": True,
    "n_inputs": "paper",  # what N is fed: paper = x, r, W (§III); x_w = x, W (see networks.N_INPUTS)
    "train_reference": "warped",  # r in training (n_inputs paper): warped = the perturbed W(x, y) (§I) | y (§III-B1)
    "multi_task": True,
    "match_layer": "relu3_1",
    "match_patch": 3,
    "match_chunk": 1024,
    "match_at_test": "semantic",  # semantic | warp | random (matching-swap ablation)
    "cache_matches": True,  # keep each training pair's W(x, y) correspondence (the match is fixed per pair)
    "postprocess": {},  # PostProcess fields
    "feature_layer": "relu3_2",
    "feature_reduction": "sum",
    "feature_sum_size": 256,  # L_F's per-image sum rescaled to this image size (w₂'s scale); None = raw sum
    "w_recon": 100.0,
    "w_feature": 5e-6,
    "w_gan": 1.0,
    "w_seg": 100.0,
    "w_seg_att": 10.0,
    "w_tv": 10.0,
    "lr_g": 2e-4,
    "lr_d": 1.3e-5,
    "betas": [0.5, 0.999],
    "batch_size": 5,
    "steps": 200_000,  # ≈ 20 epochs of edges2shoes' 49,825 pairs at batch 5
    "checkpoint_every": 5000,
    "log_every": 50,
}
MATCH_MODES = ("semantic", "warp", "random")
# The reference N sees in self-supervised training, from (y, perturbed W(x, y)) in [-1,1]. §III-B1: "We use the paired
# data y as a fake reference"; §I: "we warp y to x and obtain a warped image y'. Then we use y' as the reference".
# y is pixel-aligned with the target, so with r = y N learns to copy r (and then pastes the exemplar at test time):
# the default is y', the reading that matches the paper's outputs (input structure kept). README: "Inputs of N".
TRAIN_REFERENCES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "y": lambda y, aux: y, "warped": lambda y, aux: aux}
INIT_SEED = 0  # networks are built under a fixed seed; ``fit`` rebuilds them from the run's seed


def _signed(images: torch.Tensor) -> torch.Tensor:
    return images * 2 - 1


def _unit(images: torch.Tensor) -> torch.Tensor:
    return (images + 1) / 2


def _resize(images: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(images.shape[-2:]) == size:
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)


class PairedBatches:
    """A dataset over paired ``TrainData`` whose batches hold ``x`` (A), ``y`` (B) and ``mask`` (B's foreground,
    when the protocol provides one)."""

    def __init__(self, data: TrainData) -> None:
        self.a, self.b = data.a, data.b
        if len(self.a) != len(self.b):  # type: ignore[arg-type]
            raise BenchError(f"paired data with {len(self.a)} inputs but {len(self.b)} targets")  # type: ignore

    def __len__(self) -> int:
        return len(self.a)  # type: ignore[arg-type]

    def get_batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        a, b = fetch(self.a, indices), fetch(self.b, indices)
        batch = {"x": a["image"], "y": b["image"], "index": torch.as_tensor(indices).long()}
        if "mask" in b:
            batch["mask"] = b["mask"]
        return batch


@METHODS.register("segin")
class Segin(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="exemplar", directions="AB",
        notes="unofficial re-implementation from the paper; VGG-19 semantic match + U-Net with non-local blocks; "
              "trains on paired data with foreground masks (derived from a white background when absent)")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}

    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """The choice-valued parameters, ``feature_sum_size`` and ``image_size`` (a multiple of the generator's
        downsampling)."""
        if params["match_at_test"] not in MATCH_MODES:
            raise BenchError(f"match_at_test={params['match_at_test']!r}; valid: {', '.join(MATCH_MODES)}")
        if params["n_inputs"] not in N_INPUTS:
            raise BenchError(f"segin n_inputs={params['n_inputs']!r}; valid: {', '.join(N_INPUTS)}",
                             hint="paper feeds N the input, the reference and W; x_w feeds the input and W")
        if params["train_reference"] not in TRAIN_REFERENCES:
            raise BenchError(f"segin train_reference={params['train_reference']!r}; "
                             f"valid: {', '.join(TRAIN_REFERENCES)}",
                             hint="y: the ground truth (§III-B1); warped: the perturbed W(x, y) (§I)")
        size = params["feature_sum_size"]
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
            raise BenchError(f"segin feature_sum_size={size!r} must be a positive integer or null",
                             hint="256 (the paper's image size) or null for the raw per-image sum")
        if int(params["image_size"]) % SeginGenerator.DOWNSAMPLING:
            raise BenchError(f"segin image_size={params['image_size']} must be a multiple of "
                             f"{SeginGenerator.DOWNSAMPLING}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        # shared through the feature registry (matching and L_F never change it); random weights: vgg19() under
        # vgg_seed
        self.vgg = features.get("vgg19", layers=(p["match_layer"], p["feature_layer"]), init="model",
                                seed=int(p["vgg_seed"]), allow_uncalibrated=bool(p["allow_uncalibrated"]))
        self.pretrained_encoders_changed()
        self.postprocess = PostProcess(**dict(p["postprocess"]))
        self.weights = LossWeights(recon=p["w_recon"], feature=p["w_feature"], gan=p["w_gan"], seg=p["w_seg"],
                                   seg_att=p["w_seg_att"], tv=p["w_tv"])
        self.multi_task = bool(p["multi_task"])
        self._match_cache: dict[int, torch.Tensor] = {}
        self.use_gan = float(p["w_gan"]) > 0
        self.build(INIT_SEED)

    def build(self, seed: int) -> None:
        """(Re)build N, D and their optimisers with weights drawn under ``seed`` (``fit`` uses the run's seed)."""
        p = self.params
        with seeded(int(seed)):
            self.G = SeginGenerator(3 * len(N_INPUTS[p["n_inputs"]]), int(p["ngf"]), int(p["n_nonlocal"]),
                                    bool(p["non_local"]), self.multi_task)
            self.D = SpectralPatchDiscriminator(6, int(p["ndf"]), int(p["d_layers"])) if self.use_gan else None
        betas = tuple(float(b) for b in p["betas"])
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=float(p["lr_g"]), betas=betas)  # type: ignore
        self.opt_d = (torch.optim.Adam(self.D.parameters(), lr=float(p["lr_d"]), betas=betas)  # type: ignore
                      if self.D is not None else None)
        self.to(self.device)

    # -- bookkeeping ------------------------------------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        nets: dict[str, nn.Module] = {"G": self.G}
        if self.D is not None:
            nets["D"] = self.D
        return nets

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = {"G": self.opt_g}
        if self.opt_d is not None:
            opts["D"] = self.opt_d
        return opts

    def pretrained_encoders_changed(self) -> None:
        """The semantic matcher and L_F's Φ are views of the frozen VGG-19 (rewired when it is swapped)."""
        p = self.params
        self.matcher = SemanticMatcher(self.vgg.features, p["match_layer"], int(p["match_patch"]),
                                       int(p["match_chunk"]))
        self.feature_net = self.vgg.features[: VGG19_RELU[p["feature_layer"]] + 1]

    def translate_net(self, x: torch.Tensor, r: torch.Tensor, aux: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """N on the images ``n_inputs`` names (x, r, W: [B,3,H,W] in [-1,1]) → (image [-1,1], mask or None)."""
        images = {"x": x, "r": r, "w": aux}
        return self.G(*(images[name] for name in N_INPUTS[self.params["n_inputs"]]))

    # -- auxiliary image -----------------------------------------------------------------------------------------
    def feature_hw(self, size: int) -> tuple[int, int]:
        pools = sum(isinstance(m, nn.MaxPool2d) for m in self.matcher.net)
        return size // 2 ** pools, size // 2 ** pools

    def auxiliary(self, x: torch.Tensor, r: torch.Tensor, mode: str = "semantic",
                  generator: torch.Generator | None = None, perturb: bool = False) -> torch.Tensor:
        """W(x, r) in [0,1]: the semantic match (optionally post-processed), a plain warp, or random matches."""
        patch = self.matcher.patch
        if mode == "warp":
            return bbox_warp(x, r)
        generator = generator or torch.Generator().manual_seed(0)
        if mode == "random":
            hw = self.feature_hw(x.shape[-1])
            xi = random_correspondence(x.shape[0], hw[0] * hw[1], generator).to(x.device)
            return warp(r, xi, hw, patch)
        xi, hw = self.matcher.match(x, r)
        if perturb:
            xi, _ = self.postprocess(xi, hw, generator)
        return warp(r, xi, hw, patch)

    def training_match(self, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor | None
                       ) -> tuple[torch.Tensor, tuple[int, int]]:
        """ξ of W(x, y) for a training batch. The match of a pair never changes (no augmentation; the paper runs it
        as a separate pre-process), so with ``cache_matches`` each pair is matched once and its ξ kept (int16/32)."""
        hw = self.feature_hw(x.shape[-1])
        if index is None or not self.params["cache_matches"]:
            return self.matcher.match(x, y)
        keys = [int(i) for i in index]
        missing = [k for k, key in enumerate(keys) if key not in self._match_cache]
        if missing:
            xi_new, hw = self.matcher.match(x[missing], y[missing])
            dtype = torch.int16 if hw[0] * hw[1] <= torch.iinfo(torch.int16).max else torch.int32
            for k, row in zip(missing, xi_new.cpu().to(dtype), strict=True):
                self._match_cache[keys[k]] = row
        xi = torch.stack([self._match_cache[key] for key in keys]).long().to(x.device)
        return xi, hw

    # -- training -------------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        if data.kind != "paired":
            raise BenchError(f"segin trains on paired data (input, ground truth) but was given {data.kind} data",
                             hint="run it in a protocol that offers paired training data (e.g. edges2shoes)")
        p = self.params
        self.device = torch.device(ctx.device)
        self.build(ctx.seed)  # a resumed run then loads its checkpoint over these weights
        loop = TrainLoop(self, ctx, steps=int(p["steps"]), checkpoint_every=int(p["checkpoint_every"]),
                         log_every=int(p["log_every"]))
        batches = loop.batches(PairedBatches(data), int(p["batch_size"]))
        for step in loop:
            loop.report(step, self.train_step(next(batches), seed=derive_seed(ctx.seed, step)))

    def _prepare(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        size = int(self.params["image_size"])
        x = _resize(batch["x"].to(self.device), size).clamp(0, 1)
        y = _resize(batch["y"].to(self.device), size).clamp(0, 1)
        if "mask" in batch:
            mask = (_resize(batch["mask"].to(self.device).float(), size) >= 0.5).float()
        else:  # no mask from the protocol: the near-white-background rule of the pix2pix loader
            from datasets.pix2pix_folder import foreground_masks

            def u8(t: torch.Tensor) -> Any:
                return (t.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype("uint8")

            mask = torch.from_numpy(foreground_masks(u8(y), u8(x))).float().unsqueeze(1).to(self.device)
        return x, y, mask

    def _features(self, images01: torch.Tensor) -> torch.Tensor:
        return self.feature_net(imagenet_normalise(images01))

    def train_step(self, batch: dict[str, torch.Tensor], seed: int = 0) -> dict[str, torch.Tensor]:
        self.G.train()
        x, y, mask = self._prepare(batch)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            xi, hw = self.training_match(x, y, batch.get("index"))
            xi, _ = self.postprocess(xi, hw, generator)
            aux = warp(y, xi, hw, self.matcher.patch)
        xs, ys = _signed(x), _signed(y)
        aux = _signed(aux)
        fake, seg = self.translate_net(xs, TRAIN_REFERENCES[self.params["train_reference"]](ys, aux), aux)
        losses: dict[str, torch.Tensor] = {}
        if self.D is not None and self.opt_d is not None:
            self.D.train()
            d_loss = gan_d_loss(self.D(xs, ys), self.D(xs, fake.detach()))
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            losses["D"] = d_loss.detach()
        terms = self.generator_terms(x, y, mask, fake, seg)
        total = self.weights.total(terms)
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        losses["G"] = total.detach()
        losses.update({k: v.detach() for k, v in terms.items()})
        return losses

    def generator_terms(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, fake: torch.Tensor,
                        seg: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The Eq. 11 terms whose weights are non-zero (images: x, y, mask in [0,1]; fake in [-1,1])."""
        w = self.weights
        fake01 = _unit(fake)
        terms: dict[str, torch.Tensor] = {}
        if w.recon:
            terms["recon"] = recon_loss(fake, _signed(y))
        if w.feature:
            with torch.no_grad():
                real_features = self._features(y)
            scale = feature_sum_scale(tuple(y.shape[-2:]), self.params["feature_sum_size"])
            terms["feature"] = feature_loss(self._features(fake01), real_features,
                                            str(self.params["feature_reduction"]), scale)
        if w.gan and self.D is not None:
            for param in self.D.parameters():
                param.requires_grad_(False)
            terms["gan"] = gan_g_loss(self.D(_signed(x), fake))
            for param in self.D.parameters():
                param.requires_grad_(True)
        if seg is not None:
            if w.seg:
                terms["seg"] = seg_loss(seg, mask)
            if w.seg_att:
                terms["seg_att"] = seg_attention_loss(seg, fake01, mask, y)
        if w.tv:
            terms["tv"] = tv_loss(fake01)
        return terms

    # -- inference --------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if direction != "AB":
            raise BenchError(f"segin is trained A→B (edges → photos) only; it cannot translate {direction}",
                             hint="run it in protocols that evaluate A→B only")
        if exemplar is None:
            raise BenchError("segin translates under an exemplar (reference image); got none",
                             hint="pass one exemplar per input")
        if exemplar.shape[0] != content.shape[0]:
            raise BenchError(f"got {content.shape[0]} inputs but {exemplar.shape[0]} exemplars")
        size = int(self.params["image_size"])
        x = _resize(content.to(self.device), size).clamp(0, 1)
        r = _resize(exemplar.to(self.device), size).clamp(0, 1)
        aux = self.auxiliary(x, r, str(self.params["match_at_test"]), torch.Generator().manual_seed(seed))
        self.G.eval()
        fake, _ = self.translate_net(_signed(x), _signed(r), _signed(aux))
        out = _resize(_unit(fake), tuple(content.shape[-2:])).clamp(0, 1)
        return check_finite("segin", out)
