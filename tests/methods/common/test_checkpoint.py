"""The one checkpoint format (``methods.common.checkpoint``), written by ``Method.save`` and ``TrainLoop``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from core.errors import BenchError, CheckpointError
from datasets.base import TensorImageSet, TrainData
from methods.base import Capabilities, FitContext, Method
from methods.common.checkpoint import FORMAT_VERSION, read_checkpoint, write_checkpoint
from methods.training import CHECKPOINT_NAME, TrainLoop


class Tiny(Method):
    capabilities = Capabilities(training="paired", guidance="none", directions="AB")
    registry_name = "tiny"
    defaults: ClassVar[dict[str, Any]] = {"steps": 3}

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.net = nn.Conv2d(3, 3, 1)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1)

    def networks(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        loop = TrainLoop(self, ctx, steps=self.params["steps"])
        batches = loop.batches(data.a, 2)
        for step in loop:
            loss = self.net(next(batches)["image"]).pow(2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            loop.report(step, {"loss": loss})

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return self.net(content)


class Other(Tiny):
    registry_name = "other"


def test_save_writes_the_versioned_format_atomically(tmp_path: Path) -> None:
    method = Tiny()
    method.save(tmp_path / "model.pt")
    blob = torch.load(tmp_path / "model.pt", weights_only=False)
    assert blob["format"] == FORMAT_VERSION and blob["method"] == "tiny" and blob["params"] == {"steps": 3}
    assert set(blob["state"]["nets"]) == {"net"}
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind


def test_trainloop_checkpoint_is_the_same_format_and_loads_as_weights(tmp_path: Path) -> None:
    images = torch.rand(4, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    method = Tiny()
    method.fit(TrainData(TensorImageSet(images), TensorImageSet(images), kind="paired"),
               FitContext(workdir=tmp_path, progress=False))
    blob = read_checkpoint(tmp_path / CHECKPOINT_NAME, "tiny")
    assert blob["step"] == 3 and len(blob["history"]) == 3 and set(blob["state"]) == {"nets", "optim"}
    other = Tiny()
    other.load(tmp_path / CHECKPOINT_NAME)  # the last training checkpoint is also a model checkpoint
    x = torch.rand(1, 3, 4, 4)
    torch.testing.assert_close(other.translate(x, None), method.translate(x, None))


def test_wrong_method_corrupt_file_and_old_format_are_clear_errors(tmp_path: Path) -> None:
    Tiny().save(tmp_path / "tiny.pt")
    with pytest.raises(BenchError, match="holds a 'tiny' checkpoint, not 'other'"):
        Other().load(tmp_path / "tiny.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(BenchError, match="not a readable checkpoint"):
        Tiny().load(tmp_path / "corrupt.pt")
    torch.save({"format": 2, "method": "tiny", "state": {"nets": {}}}, tmp_path / "newer.pt")
    with pytest.raises(BenchError, match="format 1"):
        Tiny().load(tmp_path / "newer.pt")
    with pytest.raises(BenchError, match="no checkpoint"):
        Tiny().load(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="nets"):
        write_checkpoint(tmp_path / "x.pt", "tiny", {}, {"weights": {}})


def test_checkpoints_from_before_the_format_version_still_load(tmp_path: Path) -> None:
    method = Tiny()
    torch.save({"method": "tiny", "params": {"steps": 3}, "state": method.state_dict()}, tmp_path / "saved.pt")
    torch.save({"step": 2, "state": method.training_state(), "rng": None, "history": [], "extra": {}},
               tmp_path / CHECKPOINT_NAME)  # the old ``TrainLoop.save``: no method name, no params
    x = torch.rand(1, 3, 4, 4)
    for name in ("saved.pt", CHECKPOINT_NAME):
        other = Tiny()
        other.load(tmp_path / name)
        torch.testing.assert_close(other.translate(x, None), method.translate(x, None))
    assert read_checkpoint(tmp_path / CHECKPOINT_NAME, "tiny")["step"] == 2
    with pytest.raises(BenchError, match="not 'other'"):
        Other().load(tmp_path / "saved.pt")


def test_a_crash_mid_write_leaves_the_previous_checkpoint_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    path = tmp_path / CHECKPOINT_NAME
    write_checkpoint(path, "tiny", {}, {"nets": {"w": torch.zeros(2)}}, step=1)
    real_save = torch.save

    def torn_save(obj: Any, handle: Any) -> None:  # the process dies with half the bytes written
        real_save(obj, handle)
        handle.truncate(handle.tell() // 2)
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint(path, "tiny", {}, {"nets": {"w": torch.ones(2)}}, step=2)
    monkeypatch.undo()

    def no_rename(src: Any, dst: Any) -> None:  # killed after the write, before the rename
        raise KeyboardInterrupt("killed before the rename")

    monkeypatch.setattr("methods.common.checkpoint.os.replace", no_rename)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint(path, "tiny", {}, {"nets": {"w": torch.ones(2)}}, step=3)
    blob = read_checkpoint(path, "tiny")
    assert blob["step"] == 1 and torch.equal(blob["state"]["nets"]["w"], torch.zeros(2))  # the old one, intact
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_NAME]  # no temp file left behind


def test_a_truncated_checkpoint_is_refused_naming_the_file_and_the_fix_never_a_fresh_start(tmp_path: Path) -> None:
    images = torch.rand(4, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    data = TrainData(TensorImageSet(images), TensorImageSet(images), kind="paired")
    Tiny().fit(data, FitContext(workdir=tmp_path, progress=False))
    path = tmp_path / CHECKPOINT_NAME
    for cut in (10, path.stat().st_size // 2, path.stat().st_size - 1):
        whole = path.read_bytes()
        path.write_bytes(whole[:cut])
        with pytest.raises(CheckpointError) as info:
            Tiny(steps=5).fit(data, FitContext(workdir=tmp_path, progress=False))
        assert isinstance(info.value, BenchError) and str(path) in str(info.value) and "\n  fix:" in str(info.value)
        assert info.value.hint.startswith(f"delete it (`rm {path}`)")
        path.write_bytes(whole)


def test_a_resumed_fit_says_from_which_step(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    images = torch.rand(4, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    data = TrainData(TensorImageSet(images), TensorImageSet(images), kind="paired")
    with caplog.at_level(logging.INFO, logger="methods.training"):
        Tiny(steps=2).fit(data, FitContext(workdir=tmp_path, progress=False))
        assert "resuming" not in caplog.text
        Tiny(steps=5).fit(data, FitContext(workdir=tmp_path, progress=False))
    assert f"tiny: resuming from step 2 of 5 ({tmp_path / CHECKPOINT_NAME})" in caplog.text
