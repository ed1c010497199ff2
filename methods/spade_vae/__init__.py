"""``spade_vae``: SPADE (Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019)
in its multi-modal VAE mode (§3.3 "Multi-modal synthesis", appendix B).

The input is a semantic label map; an image encoder turns an image into the Gaussian posterior of the style code z
(256-d) that the generator starts from. In training that image is the ground truth. At test time the official code
encodes ``data['image']``, i.e. again the ground truth, which leaks the answer into exemplar-guided comparisons; here
the exemplar goes into that slot and the ground truth is never seen at test time. Like the official inference,
z is *sampled* from the exemplar's posterior (seeded); ``test_sample: mean`` uses μ instead.

``translate(content, exemplar)``: ``content`` is the label map, integer class indices [N,H,W] / [N,1,H,W] or
one-hot/soft maps [N,label_nc,H,W]; the training data's domain A items carry it as ``label_map``.
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
from methods.common.frozen import FrozenEncoders
from methods.common.images import paired_jitter, resize_to, to_signed
from methods.common.paired import AdamPairState, adam_pair, generated_image, optimise, paired_training
from methods.common.sampling import step_generator
from methods.common.spade import SPADEDiscriminator, SPADEGenerator, init_xavier
from methods.common.spade_losses import generator_losses, hinge_d_step, perceptual_net
from methods.common.training import require_kind, set_requires_grad
from methods.spade_vae.losses import kld
from methods.spade_vae.networks import ConvEncoder

DEFAULTS: dict[str, Any] = {
    "allow_uncalibrated": False,  # the VGG loss needs VGG-19 ImageNet weights; true: random VGG, uncalibrated
    # ADE20k: 150 classes + "don't care", no instance maps, 256×256 (load 286 → crop 256, flip)
    "label_nc": 151, "crop_size": 256, "load_size": 286, "flip": True,
    # generator ``spade`` (normal: 5 up-samplings), SyncBatchNorm (param-free) in SPADE, hidden 128
    "ngf": 64, "z_dim": 256, "n_up_blocks": 4, "spade_hidden": 128, "param_free_norm": "batch",
    "encoder_size": 256,  # the encoder resizes every image to this size (official: always 256)
    # discriminator: multiscale (2), n_layers 4, spectral instance norm
    "ndf": 64, "n_layers_d": 4, "num_d": 2,
    # objective
    "lambda_feat": 10.0, "lambda_vgg": 10.0, "lambda_kld": 0.05,
    "vgg_input": "raw",  # official: the [-1,1] generator output goes into VGG unnormalised; "imagenet" corrects it
    # optimisation: TTUR (G+E lr/2 = 1e-4, D 2·lr = 4e-4), Adam β=(0, 0.9); 100 + 100 epochs at batch 32
    "lr": 2e-4, "beta1": 0.0, "beta2": 0.9, "batch_size": 32, "steps": 126_320, "decay_steps": 63_160,
    "init_gain": 0.02,
    "test_sample": "posterior",  # z at test time: "posterior" (sampled, official) or "mean" (μ of the exemplar)
    "checkpoint_every": 1000, "log_every": 10,
}


def label_indices(maps: torch.Tensor, label_nc: int) -> torch.Tensor:
    """Label maps as class indices [N,1,H,W] (long): from indices [N,H,W]/[N,1,H,W] or one-hot [N,label_nc,H,W]."""
    if maps.is_floating_point():
        # one-hot (or soft) maps: label_nc channels in [0,1] summing to 1 (an RGB image is not one)
        if (maps.dim() != 4 or maps.size(1) != label_nc or maps.min() < 0 or maps.max() > 1
                or not torch.allclose(maps.sum(1), torch.ones_like(maps[:, 0]), atol=1e-3)):
            raise BenchError(f"spade_vae expects label maps, got a float tensor of shape {tuple(maps.shape)} that is "
                             f"not a one-hot map", hint=f"pass class indices [N,H,W] (integer) or one-hot maps "
                                                        f"[N,{label_nc},H,W] as the content")
        return maps.argmax(1, keepdim=True)
    maps = maps.long()
    if maps.dim() == 3:
        maps = maps.unsqueeze(1)
    if maps.dim() != 4 or maps.size(1) != 1:
        raise BenchError(f"label maps must be [N,H,W] or [N,1,H,W], got {tuple(maps.shape)}")
    if maps.numel() and (int(maps.min()) < 0 or int(maps.max()) >= label_nc):
        raise BenchError(f"label map values must lie in [0, {label_nc}), got [{int(maps.min())}, {int(maps.max())}]",
                         hint="set label_nc to the number of classes (including a don't-care class if present)")
    return maps


def one_hot(indices: torch.Tensor, label_nc: int) -> torch.Tensor:
    out = torch.zeros(indices.size(0), label_nc, *indices.shape[-2:], device=indices.device)
    return out.scatter_(1, indices, 1.0)


def resize_labels(indices: torch.Tensor, size: int) -> torch.Tensor:
    if tuple(indices.shape[-2:]) == (size, size):
        return indices
    return F.interpolate(indices.float(), size=(size, size), mode="nearest").long()


@METHODS.register("spade_vae")
class SPADEVAE(FrozenEncoders, AdamPairState, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="paired", guidance="exemplar", directions="AB", needs_label_maps=True,
        notes="label map → image; the exemplar goes into the image-encoder slot (style code sampled from its "
              "posterior), never the ground truth; VGG loss needs VGG-19 ImageNet weights")
    pretrained_encoders: ClassVar[dict[str, str]] = {"vgg": "vgg"}

    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["test_sample"] not in ("posterior", "mean"):
            raise BenchError(f"test_sample must be 'posterior' or 'mean', got {p['test_sample']!r}")
        self.vgg = perceptual_net(p)  # checkpoints keep only its record
        self._build(0)

    def _build(self, seed: int) -> None:
        """Networks and optimisers from ``seed`` (spectral norm's power-iteration vectors included)."""
        p = self.params
        with seeded(seed):
            self.G = SPADEGenerator(p["label_nc"], p["crop_size"], p["ngf"], p["z_dim"], p["n_up_blocks"],
                                    p["spade_hidden"], p["param_free_norm"])
            self.E = ConvEncoder(p["ngf"], p["z_dim"], p["encoder_size"])  # width ngf (official: nef unused)
            self.D = SPADEDiscriminator(p["label_nc"] + 3, p["ndf"], p["n_layers_d"], p["num_d"])
            for net in (self.G, self.E, self.D):
                init_xavier(net, p["init_gain"])
        for net in self.networks().values():
            net.to(self.device)
        self.opt_g, self.opt_d, self.sched_g, self.sched_d = adam_pair(  # TTUR
            [*self.G.parameters(), *self.E.parameters()], self.D.parameters(), p, p["lr"] / 2, p["lr"] * 2)

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "E": self.E, "D": self.D}

    # -- training ---------------------------------------------------------------------------------------------
    def _labels_of(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Class indices [N,1,H,W] of a training batch: from the one-hot ``input`` where the protocol gives one (its
        don't-care channel holds the unlabeled pixels, which ``label_map`` keeps as the ignore id 255), else from
        ``label_map``."""
        if "input" in batch:
            return label_indices(batch["input"], self.params["label_nc"])
        if "label_map" not in batch:
            raise BenchError("spade_vae needs a semantic label map for every training input",
                             hint="domain A items of the training data must carry 'label_map' "
                                  "(run spade_vae only in protocols that offer label maps)")
        return label_indices(batch["label_map"], self.params["label_nc"])

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        require_kind("spade_vae", data, "paired")
        p = self.params
        loop, sampler = paired_training(self, data, ctx, self._build)
        batches = loop.load([sampler, sampler], [data.a, data.b])
        for step in loop:
            a, b = next(batches)
            labels, image = paired_jitter([self._labels_of(a), to_signed(b["image"])], p["load_size"],
                                          p["crop_size"], p["flip"], step_generator(ctx.seed, step))
            labels, image = resize_labels(labels, p["crop_size"]), resize_to(image, p["crop_size"])
            seg = one_hot(labels.to(self.device), p["label_nc"])
            loop.report(step, self._train_step(seg, image.to(self.device)))
        self.eval_mode()

    def _encode(self, image: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.E(image)
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        return mu + eps * torch.exp(0.5 * logvar), mu, logvar

    def _train_step(self, seg: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        p = self.params
        # generator + encoder
        set_requires_grad(self.D, False)
        z, mu, logvar = self._encode(real)
        fake = self.G(seg, z)
        losses = generator_losses(self.D, self.vgg, seg, fake, real, p, {"KLD": kld(mu, logvar) * p["lambda_kld"]})
        optimise(self.opt_g, sum(losses.values()))  # type: ignore[arg-type]
        # discriminator, on a fresh fake (the official ``compute_discriminator_loss`` regenerates it)
        with torch.no_grad():
            fake = self.G(seg, self._encode(real)[0])
        hinge_d_step(self.D, self.opt_d, seg, fake, real, losses)
        self.sched_g.step()
        self.sched_d.step()
        return losses

    # -- inference --------------------------------------------------------------------------------------------
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if direction != "AB":
            raise BenchError(f"spade_vae maps label maps to images; it cannot translate {direction}")
        p = self.params
        labels = label_indices(content, p["label_nc"])
        size = tuple(labels.shape[-2:])
        seg = one_hot(resize_labels(labels, p["crop_size"]).to(self.device), p["label_nc"])
        generator = torch.Generator().manual_seed(seed)
        self.eval_mode()
        with torch.no_grad():
            if exemplar is None:  # the official VAE mode without an image: z ~ N(0, I)
                z = torch.randn(seg.size(0), p["z_dim"], generator=generator).to(self.device)
            else:
                if exemplar.size(0) != seg.size(0):
                    raise BenchError(f"got {seg.size(0)} label maps but {exemplar.size(0)} exemplars",
                                     hint="pass one exemplar per input")
                sampled, mu, _ = self._encode(to_signed(exemplar.to(self.device)), generator)
                z = sampled if p["test_sample"] == "posterior" else mu
            out = self.G(seg, z)
        return generated_image("spade_vae", out, size)
