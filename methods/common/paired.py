"""The scaffolding that the paired GAN methods (pix2pix, BicycleGAN, pix2pixHD, the SPADE family, CoCosNet) share:
starting a seeded training run, the G/D Adam pair with linear decay, one optimiser step, and the label-map
``translate`` preamble and epilogue. Each piece is said once here; the methods keep what differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from core.errors import BenchError
from datasets.base import TrainData
from methods.base import Direction, FitContext, Method
from methods.common.conditioning import resize_nearest
from methods.common.images import paired_jitter, resize_to, to_signed, to_unit
from methods.common.sampling import BatchSampler, paired_sampler, step_generator
from methods.common.schedules import linear_decay
from methods.training import TrainLoop, check_finite

Schedule = Any  # a ``linear_decay`` scheduler


def paired_training(method: Method, data: TrainData, ctx: FitContext, build: Callable[[int], None]
                    ) -> tuple[TrainLoop, BatchSampler]:
    """Start a seeded paired run: ``build(ctx.seed)`` (fresh networks and optimisers), the global torch seed, the
    ``TrainLoop`` (params ``steps``, ``checkpoint_every``, ``log_every``), a per-step sampler of ``batch_size``
    pairs, and every network in train mode. The order is fixed: it decides the random streams."""
    p = method.params
    build(ctx.seed)
    torch.manual_seed(ctx.seed)
    loop = TrainLoop(method, ctx, steps=p["steps"], checkpoint_every=p["checkpoint_every"], log_every=p["log_every"])
    sampler = paired_sampler(data, p["batch_size"], ctx.seed, "per_step")
    method.train_mode()
    return loop, sampler


def adam_pair(g_params: Iterable[Any], d_params: Iterable[Any], p: dict[str, Any], lr_g: float, lr_d: float,
              eps_g: float = 1e-8) -> tuple[torch.optim.Adam, torch.optim.Adam, Schedule, Schedule]:
    """(opt_G, opt_D, sched_G, sched_D): Adam with β = (``beta1``, ``beta2``) from ``p``, each held constant for
    ``steps - decay_steps`` steps, then decayed linearly to 0 over ``decay_steps`` (pix2pix, pix2pixHD, SPADE)."""
    betas = (p["beta1"], p["beta2"])
    opt_g = torch.optim.Adam(g_params, lr=lr_g, betas=betas, eps=eps_g)
    opt_d = torch.optim.Adam(d_params, lr=lr_d, betas=betas)
    constant = p["steps"] - p["decay_steps"]
    return opt_g, opt_d, linear_decay(opt_g, constant, p["decay_steps"]), linear_decay(opt_d, constant,
                                                                                        p["decay_steps"])


class AdamPairState:
    """``optimizers()`` for a method holding an :func:`adam_pair` as ``opt_g``/``opt_d``/``sched_g``/``sched_d``:
    what a resumed ``fit`` restores, under the names its checkpoints use. Put it before ``Method`` in the bases."""

    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    sched_g: Schedule
    sched_d: Schedule

    def optimizers(self) -> dict[str, Any]:
        return {"G": self.opt_g, "D": self.opt_d, "sched_G": self.sched_g, "sched_D": self.sched_d}


def optimise(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One step of ``opt`` on ``loss``: gradients cleared (to None), back-propagated, applied."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def labelmap_batch(seg: torch.Tensor, image: torch.Tensor, p: dict[str, Any], seed: int, step: int,
                   device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch of a label-map method on ``device``: conditioning [B,C,H,W] (nearest) and images [B,3,H,W]
    in [0,1] → [-1,1], through one ``paired_jitter`` (``load_size``, ``crop_size``, ``flip``; the step's own
    generator), then at ``crop_size``."""
    seg, image = paired_jitter([seg, to_signed(image)], p["load_size"], p["crop_size"], p["flip"],
                               step_generator(seed, step), nearest=(True,))
    return resize_nearest(seg, p["crop_size"]).to(device), resize_to(image, p["crop_size"]).to(device)


def labelmap_input(method: str, direction: Direction, seg: torch.Tensor, crop_size: int, device: torch.device
                   ) -> tuple[torch.Tensor, tuple[int, ...]]:
    """(conditioning [N,C,crop,crop] on ``device``, resized nearest; the input's (H, W)) for a label-map
    ``translate``; ``BenchError`` for any direction but AB (these methods map label maps to images only)."""
    if direction != "AB":
        raise BenchError(f"{method} maps label maps to images; it cannot translate {direction}")
    return resize_nearest(seg.to(device), crop_size), tuple(seg.shape[-2:])


def generated_image(method: str, out: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """A generator's [-1,1] output [N,3,h,w] as images in [0,1] at ``size`` (bilinear); ``NonFiniteError`` on
    NaN/inf."""
    return check_finite(method, resize_to(to_unit(out), size).clamp(0.0, 1.0))
