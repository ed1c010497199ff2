"""``msca``: example-guided image synthesis with masked spatial-channel attention and self-supervision (Zheng, Liao,
Chen, Xiong, Chen, Luo, ECCV 2020). No public code exists; this follows the paper's equations, and
methods/msca/README.md lists what the paper leaves open and what we chose.

``translate(content, exemplar, exemplar_labels=...)``: ``content`` the target label map c₁ (one-hot
[N,input_nc,H,W] float, or class ids [N,H,W] when input_nc = label_nc); ``exemplar`` x₂ RGB [N,3,H,W] in [0,1];
``exemplar_labels`` c̃₂, the exemplar's label map in the content's encoding. Output RGB [N,3,H,W] in [0,1].
``attention_maps(...)`` returns one scale's α, β and masking gates (contract §6, the paper's Fig. 6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from core import features
from core.errors import BenchError, DataError
from core.seeding import seeded
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.conditioning import as_conditioning, batch_conditioning, resize_nearest
from methods.common.frozen import FrozenEncoders
from methods.common.images import resize_to
from methods.common.paired import generated_image, optimise, paired_training
from methods.common.sampling import step_generator
from methods.common.spade import PARAM_FREE_NORMS, SPADEDiscriminator, discriminate_pair, init_xavier
from methods.common.spade_losses import feature_matching, vgg_features, vgg_loss
from methods.common.training import require_kind, set_requires_grad
from methods.msca.attention import ATTENTIONS
from methods.msca.networks import SCALES, VGG_LAYERS, FeatureDecoders, MSCAGenerator
from methods.msca.tasks import GAN_MODES, TaskBatch, gan_d, gan_g, make_tasks

MIN_SIZE = 16  # scale 4 is 1/16 of the image
LISTS = ("x_channels", "c_channels", "K")  # one positive value per scale
DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # VGG-19 ImageNet weights (features and loss); true: random VGG, uncalibrated
    # data facts (set by the protocol, contract §1): COCO-Stuff's 182 classes + don't care as one-hot input
    "dataset": "coco_stuff", "input_nc": 183, "label_nc": 183,
    "crop_size": 256,  # test resolution (§4: 256×256)
    # §4: 512×512 images, two 256 patches; 384 patches after epoch 20 (with the global task)
    "load_size": 512, "patch_size": 256, "patch_size_late": 384, "late_epoch": 20, "flip": True,
    # §3.1–3.2: per scale 0..4: the VGG-19 layer (one of block i+1), compressed image width N, label width M, K maps
    "vgg_layers": list(VGG_LAYERS),
    "x_channels": [64, 128, 256, 256, 256], "c_channels": [64, 64, 64, 64, 64], "K": [8, 16, 16, 16, 16],
    "mask_hidden": 64, "lrelu_slope": 0.2,
    # Table 1 ablations: attention msca | gap | labels (w/o att); feature_masking (w/o fm); global_task (w/o global)
    "attention": "msca", "feature_masking": True, "global_task": True,
    # §3.3 SPADE synthesis (generator ``normal``) and SPADE's multi-scale discriminator
    "ngf": 64, "spade_hidden": 128, "param_free_norm": "batch", "ndf": 64, "n_layers_d": 4, "num_d": 2,
    # Eq. 11: λ = 1; L_spade = SPADE's feature matching (10) and VGG (10) losses
    "gan_mode": "original", "lambda_global": 1.0, "lambda_feat": 10.0, "lambda_vgg": 10.0, "vgg_input": "imagenet",
    # §4: lr 2e-4 (G and D), G updated every 5 iterations, 40 epochs (34,698 images, batch 8 → 173,490 iterations)
    # after the attention pre-training (1 epoch, 4,337 iterations); Adam β as SPADE's --no_TTUR: (0, 0.9)
    "lr": 2e-4, "beta1": 0.0, "beta2": 0.9, "g_every": 5, "batch_size": 8, "pretrain_steps": 4_337,
    "steps": 177_827, "init_gain": 0.02, "checkpoint_every": 1000, "log_every": 10,
    # Eqs. 1-8's layers (W_x, the label pyramid, phi, psi, the gate MLPs): PyTorch's default init ("pytorch") or
    # SPADE's xavier(init_gain) as every other layer ("xavier"). Our choice (the paper's appendix is not in our copy):
    # under xavier(0.02) Adam's first steps, each about lr, dwarf weights of std ~1e-3, and the K alpha maps collapse
    # into transforms of one map within 50 steps (methods/msca/README.md, "attention collapse")
    "alignment_init": "pytorch",
}
CHOICES: dict[str, tuple[Any, ...]] = {
    "attention": ATTENTIONS, "gan_mode": GAN_MODES, "vgg_input": ("imagenet", "raw"),
    "param_free_norm": PARAM_FREE_NORMS, "feature_masking": (True, False), "global_task": (True, False),
    "flip": (True, False), "alignment_init": ("pytorch", "xavier"),
}


def _refuse(message: str, hint: str) -> None:
    raise BenchError(f"msca: {message}", hint=hint)


@METHODS.register("msca")
class MSCA(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="exemplar", directions="AB", needs_label_maps=True, needs_exemplar_labels=True,
        notes="label map + exemplar + exemplar's label map → image; masked spatial-channel attention aligns VGG "
              "features of the exemplar at 5 scales; self-supervised (patch cross- and global self-reconstruction); "
              "needs VGG-19 ImageNet weights")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}
    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.vgg = features.get("vgg19", upto=p["vgg_layers"][-1], init="model", seed=0,  # features and loss
                                allow_uncalibrated=p["allow_uncalibrated"])
        self._build(0)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Choice-valued parameters, one value per scale in ``x_channels``/``c_channels``/``K`` (positive), sizes
        of at least 16 px with patches inside ``load_size``, ``g_every`` ≥ 1; ``BenchError`` naming the fix."""
        for name, valid in CHOICES.items():
            if params[name] not in valid:
                _refuse(f"{name} must be one of {', '.join(map(str, valid))}, got {params[name]!r}",
                        f"set methods.<label>.params.{name} to one of them")
        for name in LISTS:
            values = list(params[name])
            if len(values) != SCALES or any(int(v) < 1 for v in values):
                _refuse(f"{name} needs {SCALES} positive values (scales 0–4), got {values}",
                        f"e.g. {name}={DEFAULTS[name]}")
        layers = list(params["vgg_layers"])
        if len(layers) != SCALES or any(not str(name).startswith(f"relu{i + 1}_") for i, name in enumerate(layers)):
            _refuse(f"vgg_layers needs one VGG-19 ReLU of block i+1 per scale i (scales 0–4), got {layers}",
                    f"e.g. {list(VGG_LAYERS)} or relu1_2, relu2_2, relu3_4, ...")
        late = params["patch_size_late"]
        for name, value in (("crop_size", params["crop_size"]), ("patch_size", params["patch_size"]),
                            ("patch_size_late", late if late is not None else params["patch_size"])):
            if int(value) < MIN_SIZE or (name != "crop_size" and int(value) > int(params["load_size"])):
                _refuse(f"{name} {value} must be at least {MIN_SIZE} px and patches at most load_size "
                        f"({params['load_size']})", "the paper uses load 512, patches 256 then 384, test 256")
        if int(params["g_every"]) < 1 or int(params["pretrain_steps"]) < 0:
            _refuse("g_every must be ≥ 1 and pretrain_steps ≥ 0", "the paper updates G every 5 iterations")

    def _build(self, seed: int) -> None:
        """Networks and optimisers from ``seed`` (spectral norm's power-iteration vectors included)."""
        p = self.params
        with seeded(seed):
            self.G = MSCAGenerator(p["input_nc"], p["x_channels"], p["c_channels"], p["K"], p["mask_hidden"],
                                   p["attention"], p["feature_masking"], p["ngf"], p["spade_hidden"],
                                   p["param_free_norm"], p["lrelu_slope"])
            self.Dec = FeatureDecoders(self.G.cond_channels)
            self.D = SPADEDiscriminator(2 * p["input_nc"] + 6, p["ndf"], p["n_layers_d"], p["num_d"])
            for net in (self.G, self.Dec, self.D):
                init_xavier(net, p["init_gain"])
            if p["alignment_init"] == "pytorch":
                for layer in self.G.alignment_modules():
                    layer.reset_parameters()
        for net in self.networks().values():
            net.to(self.device)
        betas = (p["beta1"], p["beta2"])
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=p["lr"], betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=p["lr"], betas=betas)
        self.opt_pre = torch.optim.Adam([*self.G.alignment_parameters(), *self.Dec.parameters()], lr=p["lr"],
                                        betas=betas)

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "Dec": self.Dec, "D": self.D}

    def optimizers(self) -> dict[str, Any]:
        return {"G": self.opt_g, "D": self.opt_d, "pretrain": self.opt_pre}

    # -- inputs -----------------------------------------------------------------------------------------------
    def conditioning(self, maps: torch.Tensor, what: str = "content") -> torch.Tensor:
        """One-hot [N,input_nc,H,W] float from float maps of that shape or class ids (``methods.common``)."""
        return as_conditioning(maps, self.params["input_nc"], self.params["label_nc"], f"msca ({what})")

    def _vgg(self, images: torch.Tensor) -> list[torch.Tensor]:
        """VGG-19 ``vgg_layers`` of images [N,3,H,W] in [0,1] (ImageNet-normalised inside), in scale order."""
        layers = self.params["vgg_layers"]
        feats = self.vgg(images, layers)
        return [feats[name] for name in layers]

    def _check_meta(self, data: TrainData) -> None:
        for key in ("input_nc", "label_nc", "dataset"):
            if key in data.meta and data.meta[key] != self.params[key]:
                raise DataError(f"msca was built with {key}={self.params[key]!r} but the training data has "
                                f"{data.meta[key]!r}", hint=f"set {key}={data.meta[key]!r} (protocols set it)")

    def patch_size_at(self, step: int, n_items: int, batch_size: int) -> int:
        """The patch side at iteration ``step``: ``patch_size_late`` from epoch ``late_epoch`` of the training
        proper (pre-training steps not counted) when the global task is on, else ``patch_size``."""
        p = self.params
        if not p["global_task"] or p["patch_size_late"] is None:
            return int(p["patch_size"])
        epoch = max(0, step - int(p["pretrain_steps"])) * batch_size // n_items
        return int(p["patch_size_late"] if epoch >= p["late_epoch"] else p["patch_size"])

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, data: TrainData, ctx: FitContext) -> None:
        require_kind("msca", data, "paired")
        self._check_meta(data)
        p = self.params
        n = len(data.a)  # type: ignore[arg-type]
        loop, sampler = paired_training(self, data, ctx, self._build)
        batches = loop.load([sampler, sampler], [data.a, data.b])
        for step in loop:
            a, b = next(batches)
            cond = batch_conditioning(a, p["input_nc"], p["label_nc"], "msca")
            g = step_generator(ctx.seed, step)
            # on the device: a 512-px one-hot batch of 183 classes is 1.5 GB before cropping
            batch = make_tasks(cond.float().to(self.device), b["image"].float().to(self.device), p["load_size"],
                               self.patch_size_at(step, n, sampler.batch_size), p["flip"], p["global_task"], g)
            if step < p["pretrain_steps"]:
                losses = self._pretrain_step(batch)
            else:
                losses = self._train_step(batch, (step - p["pretrain_steps"]) % p["g_every"] == 0)
            loop.report(step, losses)
        self.eval_mode()

    def _pretrain_step(self, batch: TaskBatch) -> dict[str, torch.Tensor]:
        """§4's attention pre-training: per scale, a 1×1 conv of concat(F_x1, F_c1) regresses the target's VGG
        features (L1, summed over scales), on both tasks (global weighted λ)."""
        with torch.no_grad():
            vgg_x2, vgg_target = self._vgg(batch.x2), self._vgg(batch.target)
        conds, _ = self.G.condition(vgg_x2, batch.c1, batch.c2)
        recon = self.Dec(conds)
        loss = torch.zeros((), device=self.device)
        for rows, weight in batch.slices(self.params["lambda_global"]):
            for r, t in zip(recon, vgg_target, strict=True):
                loss = loss + weight * (r[rows] - t[rows]).abs().mean()
        optimise(self.opt_pre, loss)
        return {"pretrain": loss}

    def _train_step(self, batch: TaskBatch, update_g: bool) -> dict[str, torch.Tensor]:
        """One iteration of Eq. 12: the discriminator every iteration, the generator when ``update_g`` (every
        ``g_every``-th); its losses are computed (and logged) every iteration. D sees (image, c₁, x₂, c̃₂)."""
        p = self.params
        seg = torch.cat([batch.c1, batch.x2 * 2 - 1, batch.c2], 1)
        real = batch.target * 2 - 1
        with torch.no_grad():
            vgg_x2 = self._vgg(batch.x2)
        set_requires_grad(self.D, False)
        with torch.set_grad_enabled(update_g):
            fake = self.G(vgg_x2, batch.c1, batch.c2)[0]
            losses = self._generator_losses(batch, seg, fake, real)
            if update_g:
                optimise(self.opt_g, sum(losses.values()))  # type: ignore[arg-type]
        set_requires_grad(self.D, True)
        pred_fake, pred_real = discriminate_pair(self.D, seg, fake.detach(), real)
        d_fake = d_real = torch.zeros((), device=self.device)
        for rows, weight in batch.slices(p["lambda_global"]):
            d_fake = d_fake + weight * gan_d(_rows(pred_fake, rows), False, p["gan_mode"])
            d_real = d_real + weight * gan_d(_rows(pred_real, rows), True, p["gan_mode"])
        optimise(self.opt_d, d_fake + d_real)
        return {**losses, "D_Fake": d_fake, "D_real": d_real}

    def _generator_losses(self, batch: TaskBatch, seg: torch.Tensor, fake: torch.Tensor, real: torch.Tensor
                          ) -> dict[str, torch.Tensor]:
        """Eq. 11's generator terms: per task, GAN + L_spade (feature matching · λ_feat, VGG · λ_vgg), the global
        task weighted λ."""
        p = self.params
        pred_fake, pred_real = discriminate_pair(self.D, seg, fake, real)
        vgg_fake = vgg_features(self.vgg, fake, p["vgg_input"]) if p["lambda_vgg"] > 0 else None
        vgg_real = vgg_features(self.vgg, real, p["vgg_input"]) if p["lambda_vgg"] > 0 else None
        zero = torch.zeros((), device=self.device)
        losses = {"GAN": zero, "GAN_Feat": zero, "VGG": zero}
        for rows, weight in batch.slices(p["lambda_global"]):
            f, r = _rows(pred_fake, rows), _rows(pred_real, rows)
            losses["GAN"] = losses["GAN"] + weight * gan_g(f, p["gan_mode"])
            losses["GAN_Feat"] = losses["GAN_Feat"] + weight * feature_matching(f, r, p["lambda_feat"])
            if vgg_fake is not None and vgg_real is not None:
                term = vgg_loss({k: v[rows] for k, v in vgg_fake.items()}, {k: v[rows] for k, v in vgg_real.items()})
                losses["VGG"] = losses["VGG"] + weight * p["lambda_vgg"] * term
        return losses

    # -- inference --------------------------------------------------------------------------------------------
    def _inputs(self, content: torch.Tensor, exemplar: torch.Tensor | None, exemplar_labels: torch.Tensor | None,
                direction: Direction = "AB") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(c₁, x₂ in [0,1], c̃₂) at ``crop_size`` on the device; ``BenchError`` for BA or a missing input."""
        if direction != "AB":
            _refuse(f"it maps label maps to images; it cannot translate {direction}", "use direction AB")
        if exemplar is None or exemplar_labels is None:
            _refuse("needs an exemplar image and its label map", "pass exemplar and exemplar_labels= (protocols do "
                    "for needs_exemplar_labels methods)")
        assert exemplar is not None and exemplar_labels is not None
        c1, c2 = self.conditioning(content), self.conditioning(exemplar_labels, "exemplar_labels")
        if not c1.size(0) == c2.size(0) == exemplar.size(0):
            _refuse(f"got {c1.size(0)} label maps, {exemplar.size(0)} exemplars and {c2.size(0)} exemplar label "
                    "maps", "pass one exemplar and its label map per input")
        crop = self.params["crop_size"]
        return (resize_nearest(c1, crop).to(self.device), resize_to(exemplar.float(), crop).to(self.device),
                resize_nearest(c2, crop).to(self.device))

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0, exemplar_labels: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic (``seed`` unused): G(c₁, x₂, c̃₂) at ``crop_size``, resized back to the content's size."""
        c1, x2, c2 = self._inputs(content, exemplar, exemplar_labels, direction)
        self.eval_mode()
        with torch.no_grad():
            out = self.G(self._vgg(x2), c1, c2)[0]
        return generated_image("msca", out, tuple(content.shape[-2:]))

    def attention_maps(self, content: torch.Tensor, exemplar: torch.Tensor, exemplar_labels: torch.Tensor,
                       scale: int = 0) -> dict[str, torch.Tensor]:
        """The MSCA maps of ``scale`` (0–4; contract §6, Fig. 6) at ``crop_size`` inputs: ``alpha`` [N,K,h,w] over
        the exemplar (sums to one over h·w per k; all zero for a class absent from the exemplar under
        ``attention: labels``), ``beta`` [N,K,h,w] over the target (sums to one over K per pixel), ``gate``
        [N,K] in (0,1) (ones without feature masking); CPU tensors. h, w = crop_size / 2^scale. ``BenchError`` for
        another scale."""
        if scale not in range(SCALES):
            _refuse(f"scale must be 0–{SCALES - 1}, got {scale!r}", "scale 0 is the finest (relu1_1)")
        c1, x2, c2 = self._inputs(content, exemplar, exemplar_labels)
        self.eval_mode()
        with torch.no_grad():
            _, maps = self.G.condition(self._vgg(x2), c1, c2)
        return {k: v.float().cpu() for k, v in maps[scale].items()}


def _rows(preds: list[list[torch.Tensor]], rows: slice) -> list[list[torch.Tensor]]:
    """Discriminator outputs (per scale, per layer) restricted to the batch ``rows``."""
    return [[t[rows] for t in scale] for scale in preds]
