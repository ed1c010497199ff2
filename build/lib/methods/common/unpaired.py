"""``UnpairedGANMethod``: the fit/translate plumbing shared by two-domain GAN methods (CycleGAN, UNIT, MUNIT).

A subclass declares ``defaults`` (every parameter it accepts, with the paper's value), fills ``self.nets`` and
``self.optims`` (name → module / optimiser) in ``build``, and implements ``init_weights``, ``train_step`` and
``translate_signed``. This class does:

- ``fit``: seeding, weight initialisation from ``ctx.seed``, ``TrainLoop.batches`` per domain (``stream`` mode, B
  from ``seed + STREAM_B``), the ``TrainLoop`` (progress bar, NaN → ``NonFiniteError``, checkpoints, resume),
  learning-rate schedulers stepped once per iteration;
- ``translate``: eval mode, no grad, [0,1] ↔ [-1,1], a local RNG seeded by ``seed``, a finiteness check.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch

from core.errors import BenchError, DataError
from core.seeding import seeded
from datasets.base import TrainData
from methods.base import Direction, FitContext, Method
from methods.common.images import to_signed, to_unit
from methods.common.sampling import STREAM_B
from methods.training import TrainLoop, check_finite

INIT_SEED = 0  # networks are built under a fixed seed; ``fit`` re-initialises them from ``ctx.seed``


class UnpairedGANMethod(Method):
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)  # resolved against ``defaults`` (``methods.common.params``)
        self.nets: dict[str, torch.nn.Module] = {}
        self.optims: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        with seeded(INIT_SEED):
            self.build()

    # -- what a subclass provides -----------------------------------------------------------------------------
    @abstractmethod
    def build(self) -> None:
        """Fill ``self.nets`` and ``self.optims`` from ``self.params``."""

    @abstractmethod
    def init_weights(self) -> None:
        """(Re-)initialise every network the way the official code does."""

    @abstractmethod
    def train_step(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """One iteration on [-1,1] batches of A and B; returns the losses to log (detached or not)."""

    @abstractmethod
    def translate_signed(self, x: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction) -> torch.Tensor:
        """Translate a [-1,1] batch (under a [-1,1] exemplar batch or None) to a [-1,1] batch."""

    def make_schedulers(self, total_steps: int) -> dict[str, Any]:
        """Learning-rate schedulers (stepped once per iteration); none by default."""
        return {}

    def total_steps(self, data: TrainData) -> int:
        return int(self.params["steps"])

    def discriminators(self) -> dict[str, torch.nn.Module]:
        """The networks that judge images (by convention those named ``D_*``); used by ``check_image_size``."""
        return {k: v for k, v in self.nets.items() if k.startswith("D_")}

    @torch.no_grad()
    def check_image_size(self, height: int, width: int) -> None:
        """Dry-run the translators and discriminators on one zero image of this size, so that a preset too deep for
        the data fails at once with the reason instead of deep inside training (or silently resizing)."""
        was_training = {k: net.training for k, net in self.nets.items()}
        self.eval_mode()
        x = torch.zeros(1, 3, height, width, device=self.device)
        try:
            for direction in ("AB", "BA"):
                out = self.translate_signed(x, x, direction)  # type: ignore[arg-type]
                if out.shape != x.shape:
                    raise BenchError(f"{self.registry_name} turns {height}×{width} inputs into "
                                     f"{tuple(out.shape[-2:])} outputs",
                                     hint="pick a preset whose down/upsampling divides the image size")
            for net in self.discriminators().values():
                net(x)
        except (RuntimeError, ValueError) as exc:
            raise BenchError(f"{self.registry_name} cannot process {height}×{width} images with these parameters: "
                             f"{exc}", hint="use a preset with fewer downsamplings/discriminator layers/scales "
                             "for images this small (e.g. scale=cpu for 28×28 data)") from exc
        finally:
            for k, net in self.nets.items():
                net.train(was_training[k])

    # -- Method interface -------------------------------------------------------------------------------------
    def networks(self) -> dict[str, torch.nn.Module]:
        return dict(self.nets)

    def optimizers(self) -> dict[str, Any]:
        # schedulers are keyed apart from the optimisers they drive, which often share their name
        return {**self.optims, **{f"lr_schedule_{k}": v for k, v in self.schedulers.items()}}

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        if data.kind not in ("unpaired", "paired"):  # paired data trains an unpaired method: the pairing is unused
            raise DataError(f"{self.registry_name} trains on two image domains, got {data.kind!r} training data")
        for name in ("A", "B"):
            if len(data.domain(name)) == 0:  # type: ignore[arg-type]
                raise DataError(f"{self.registry_name}: training domain {name} is empty")
        sample = data.a[0]["image"]
        self.check_image_size(int(sample.shape[-2]), int(sample.shape[-1]))
        self.to(ctx.device)
        torch.manual_seed(ctx.seed)
        with seeded(ctx.seed, ctx.device):
            self.init_weights()
        total = self.total_steps(data)
        self.schedulers = self.make_schedulers(total)
        loop = TrainLoop(self, ctx, steps=total, checkpoint_every=int(self.params.get("checkpoint_every", 0)))
        batch_size = int(self.params["batch_size"])
        # independent shuffles per domain, fast-forwarded on resume to where the checkpoint left them
        batches_a = loop.batches(data.a, batch_size)
        batches_b = loop.batches(data.b, batch_size, seed_offset=STREAM_B)
        for step in loop:
            self.train_mode()
            a, b = next(batches_a)["image"], next(batches_b)["image"]
            losses = self.train_step(to_signed(a.to(self.device)), to_signed(b.to(self.device)))
            for scheduler in self.schedulers.values():
                scheduler.step()
            loop.report(step, losses)
        self.eval_mode()

    def train_mode(self) -> None:
        for net in self.networks().values():
            net.train()

    @torch.no_grad()
    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if direction not in ("AB", "BA"):
            raise ValueError(f"direction must be 'AB' or 'BA', got {direction!r}")
        if content.dim() != 4 or content.shape[1] != 3:
            raise ValueError(f"expected RGB images [B,3,H,W], got {tuple(content.shape)}")
        if exemplar is not None and exemplar.shape[0] not in (1, content.shape[0]):
            raise ValueError(f"{exemplar.shape[0]} exemplars for {content.shape[0]} inputs; give one or one each")
        self.eval_mode()
        x = to_signed(content.to(self.device, torch.float32))
        e = None if exemplar is None else to_signed(exemplar.to(self.device, torch.float32))
        with seeded(seed, self.device):
            y = self.translate_signed(x, e, direction)
        return check_finite(f"{self.registry_name} ({direction})", to_unit(y)).to(content.device)
