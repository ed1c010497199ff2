"""The shared training loop: progress, NaN → clean failure, atomic checkpoints, resume where it stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from core.errors import NonFiniteError
from datasets.base import TensorImageSet, TrainData
from methods.base import Capabilities, FitContext, Method
from methods.training import TrainLoop


class Toy(Method):
    """A 1×1 conv fitted to map A images to B images (enough to exercise the loop)."""

    capabilities = Capabilities(training="paired", guidance="none", directions="AB")
    registry_name = "toy"

    def __init__(self, steps: int = 20, lr: float = 0.05, checkpoint_every: int = 5, stop_at: int | None = None):
        super().__init__(steps=steps, lr=lr)
        self.net = nn.Conv2d(3, 3, 1)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.steps, self.checkpoint_every, self.stop_at = steps, checkpoint_every, stop_at
        self.seen_steps: list[int] = []

    def networks(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        loop = TrainLoop(self, ctx, steps=self.steps, checkpoint_every=self.checkpoint_every, log_every=1)
        batches = loop.batches(data.a, 4)
        for step in loop:
            if step == self.stop_at:
                raise KeyboardInterrupt  # simulate an interrupted session
            self.seen_steps.append(step)
            x = next(batches)["image"]
            loss = (self.net(x) - (1 - x)).abs().mean() * (float("nan") if self.params["lr"] > 1e3 else 1.0)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            loop.report(step, {"loss": loss})
        self.history = loop.history

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return self.net(content)


def data() -> TrainData:
    images = torch.rand(8, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    return TrainData(a=TensorImageSet(images), b=TensorImageSet(1 - images), kind="paired")


def ctx(tmp_path: Path, logged: list | None = None) -> FitContext:
    return FitContext(workdir=tmp_path, progress=False,
                      log_metrics=(lambda s, v: logged.append((s, v))) if logged is not None else None)


def test_loss_falls_and_metrics_are_logged(tmp_path: Path) -> None:
    logged: list = []
    method = Toy(steps=30)
    method.fit(data(), ctx(tmp_path, logged))
    losses = [h["loss"] for h in method.history]
    assert len(losses) == 30 and losses[-1] < 0.5 * losses[0]
    assert [s for s, _ in logged] == list(range(1, 31))
    assert (tmp_path / "last.pt").exists()


def test_resume_continues_from_the_last_checkpoint_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    torch.manual_seed(0)
    straight = Toy(steps=12, checkpoint_every=4)
    straight.fit(data(), ctx(tmp_path / "a"))

    torch.manual_seed(0)
    interrupted = Toy(steps=12, checkpoint_every=4, stop_at=6)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(data(), ctx(tmp_path / "b"))
    resumed = Toy(steps=12, checkpoint_every=4)
    resumed.fit(data(), ctx(tmp_path / "b"))
    assert resumed.seen_steps == list(range(4, 12))  # restarted after the step-4 checkpoint
    # weights, optimiser state, RNG state and the data order are restored: the result equals an uninterrupted run
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(straight.translate(x, None), resumed.translate(x, None))

    finished = Toy(steps=12)
    finished.fit(data(), ctx(tmp_path / "b"))
    assert finished.seen_steps == []  # a finished configuration is loaded, not retrained
    torch.testing.assert_close(finished.translate(x, None), resumed.translate(x, None))


def test_nan_loss_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(NonFiniteError, match="non-finite loss at step 0"):
        Toy(lr=1e6).fit(data(), ctx(tmp_path))
    assert not (tmp_path / "last.pt").exists()


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    method = Toy(steps=3)
    method.fit(data(), ctx(tmp_path))
    method.save(tmp_path / "model.pt")
    other = Toy()
    other.load(tmp_path / "model.pt")
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(method.translate(x, None), other.translate(x, None))
