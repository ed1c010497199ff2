"""A training-loop helper shared by learned methods: progress bar with the losses, NaN/inf detection that fails the
run cleanly, periodic checkpoints, and resume from the last checkpoint of the same run configuration.

Usage inside ``Method.fit``::

    loop = TrainLoop(self, ctx, steps=self.params["steps"], checkpoint_every=self.params.get("checkpoint_every", 0))
    batches = loop.batches(data.a, batch_size)   # resumes at the right place in the data order
    for step in loop:                  # starts after the last saved step when a checkpoint exists
        losses = self._train_step(next(batches))
        loop.report(step, losses)      # raises NonFiniteError on NaN/inf, checkpoints at intervals
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from core.errors import NonFiniteError
from methods.common.checkpoint import read_checkpoint, write_checkpoint
from methods.common.distributed import average, is_main, shard
from methods.common.sampling import BatchSampler, load

if TYPE_CHECKING:
    from methods.base import FitContext, Method

CHECKPOINT_NAME = "last.pt"
log = logging.getLogger(__name__)


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


class TrainLoop:
    def __init__(self, method: Method, ctx: FitContext, steps: int, checkpoint_every: int = 0,
                 log_every: int = 10, desc: str | None = None) -> None:
        self.method, self.ctx, self.steps = method, ctx, int(steps)
        self.checkpoint_every, self.log_every = int(checkpoint_every), max(1, int(log_every))
        self.desc = desc or method.registry_name
        self.path = Path(ctx.workdir) / CHECKPOINT_NAME
        self.start = 0
        self.history: list[dict[str, float]] = []
        self._bar: tqdm | None = None
        self.extra: dict[str, Any] = {}  # method-specific state to checkpoint (e.g. a data iterator position)

    def batches(self, dataset: Any, batch_size: int, seed_offset: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """``methods.common.sampling.BatchSampler`` batches in ``stream`` mode, seeded ``ctx.seed + seed_offset``
        and fast-forwarded past the steps a resumed run already did (one batch per step), so an interrupted and
        resumed run sees the same data as an uninterrupted one."""
        sampler = BatchSampler(len(dataset), batch_size, self.ctx.seed + seed_offset, "stream")
        return (batch for (batch,) in self.load([sampler], [dataset]))  # lazy: ``start`` is known at the first next

    def load(self, samplers: Sequence[BatchSampler], datasets: Sequence[Any]
             ) -> Iterator[tuple[dict[str, torch.Tensor], ...]]:
        """One batch per step from ``datasets[i]`` drawn by ``samplers[i]`` (any mode), from the step a resumed run
        continues at, in ``ctx.loader_workers`` processes (``methods.common.sampling.load``). Call ``next`` on it
        inside ``for step in self``, so that the resume has set the start."""

        def generate() -> Iterator[tuple[dict[str, torch.Tensor], ...]]:
            streams = [s.indices(self.start) for s in samplers]
            indices = (tuple(shard(i) for i in idx) for idx in zip(*streams, strict=False))
            yield from load(datasets, indices, self.ctx.loader_workers, self.ctx.pin_memory)

        return generate()

    def resume(self) -> int:
        """Load the last checkpoint if there is one and log "resuming from step k of n (<path>)"; returns the step to
        continue from. ``CheckpointError`` when it is truncated, corrupt, of another format or of another method:
        never a silent fresh start."""
        if self.path.exists():
            blob = read_checkpoint(self.path, self.method.registry_name, self.method.device)
            self.method.load_training_state(blob["state"])
            _set_rng_state(blob["rng"])
            self.history = blob.get("history", [])
            self.extra = blob.get("extra", {})
            self.start = int(blob["step"])
            log.info("%s: resuming from step %d of %d (%s)", self.desc, self.start, self.steps, self.path)
        return self.start

    def save(self, step: int) -> None:
        """Checkpoint the training state after ``step`` steps (``methods.common.checkpoint``, atomic); on rank 0
        only when training on several processes."""
        if not is_main():
            return
        write_checkpoint(self.path, self.method.registry_name, self.method.params, self.method.training_state(),
                         step=step, rng=_rng_state(), history=self.history, extra=self.extra)

    def __iter__(self) -> Iterator[int]:
        self.resume()
        self._bar = tqdm(total=self.steps, initial=self.start, desc=self.desc,
                         disable=not self.ctx.progress or not is_main(), dynamic_ncols=True, leave=False)
        try:
            yield from range(self.start, self.steps)
            if self.steps > self.start or not self.path.exists():
                self.save(self.steps)
        finally:
            self._bar.close()

    def report(self, step: int, losses: dict[str, torch.Tensor | float]) -> dict[str, float]:
        values = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in losses.items()}
        values = average(values)  # over the ranks of a distributed run: the global batch's losses
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            raise NonFiniteError(
                f"{self.desc}: non-finite loss at step {step}: {bad}",
                hint="lower the learning rate or loss weights; the run is marked FAILED and reports no number",
            )
        self.history.append({"step": step, **values})
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix({k: f"{v:.3g}" for k, v in list(values.items())[:6]}, refresh=False)
        if (step + 1) % self.log_every == 0 or step + 1 == self.steps:
            self.ctx.log(step + 1, values)
        if self.checkpoint_every and (step + 1) % self.checkpoint_every == 0 and step + 1 < self.steps:
            self.save(step + 1)
        if self.ctx.on_step is not None:
            self.ctx.on_step(step + 1, self.steps)
        return values


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Raise ``NonFiniteError`` if an output holds NaN or inf (used on translations)."""
    if not torch.isfinite(tensor).all():
        raise NonFiniteError(f"{name} produced non-finite values", hint="the method's row is reported as FAILED")
    return tensor
