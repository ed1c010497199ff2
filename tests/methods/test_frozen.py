"""The frozen-encoder rule (``methods.common.frozen``) on a minimal method: calibration, checkpoint records, the
refusal of the other kind, and a checkpoint's own random weights."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from core import features
from core.errors import BenchError
from methods.base import Capabilities, Method
from methods.common.frozen import RECORD, FrozenEncoders


class Probe(FrozenEncoders, Method):
    capabilities: ClassVar[Capabilities] = Capabilities(training="none", guidance="exemplar")
    pretrained_encoders: ClassVar[dict[str, str]] = {"encoder": "vgg", "unused": "other"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.vgg = features.get("vgg19", upto="relu1_1", init="model", allow_uncalibrated=True)
        self.other = None  # built without this encoder: it has no record
        self.head = nn.Conv2d(64, 3, 1)
        self.swaps = 0

    def networks(self) -> dict[str, nn.Module]:
        return {"encoder": self.vgg, "head": self.head}

    def pretrained_encoders_changed(self) -> None:
        self.swaps += 1

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: str = "AB",
                  seed: int = 0) -> torch.Tensor:
        return self.head(self.vgg(content, ["relu1_1"])["relu1_1"])


@pytest.fixture(autouse=True)
def no_weights(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def test_calibration_comes_from_the_encoders() -> None:
    probe = Probe()
    assert probe.calibrated is False and set(probe.pretrained()) == {"encoder"}
    probe.vgg = None
    assert probe.calibrated is True  # no encoder left: nothing uncalibrated


def test_checkpoint_keeps_random_weights_as_a_record_and_round_trips() -> None:
    probe = Probe()
    state = probe.state_dict()
    assert set(state) == {"head", RECORD} and set(state[RECORD]) == {"encoder"}
    record = state[RECORD]["encoder"]
    assert record["calibrated"] is False and record["artifact"] == "vgg19"
    assert torch.equal(record["weights"]["features.0.weight"], probe.vgg.features[0].weight)
    other = Probe()
    other.load_state_dict(state)
    assert other.vgg is probe.vgg and other.swaps == 0  # same random weights: the shared network stays
    assert torch.equal(other.head.weight, probe.head.weight)
    assert other.to("cpu").vgg is probe.vgg


def test_refuses_the_other_kind_and_a_missing_record() -> None:
    state = Probe().state_dict()
    state[RECORD]["encoder"] = {"calibrated": True, "artifact": "vgg19"}
    with pytest.raises(BenchError, match="published vgg19 weights but this method was built with a random"):
        Probe().load_state_dict(state)
    del state[RECORD]["encoder"]
    with pytest.raises(BenchError, match="lacks the record of the frozen encoder 'encoder'"):
        Probe().load_state_dict(state)


def test_a_checkpoints_own_random_weights_get_a_private_copy() -> None:
    state = Probe().state_dict()
    state[RECORD]["encoder"]["weights"] = {k: v * 2 for k, v in state[RECORD]["encoder"]["weights"].items()}
    probe = Probe()
    shared = probe.vgg
    probe.load_state_dict(state)
    assert probe.vgg is not shared and not probe.vgg.shared and probe.swaps == 1
    assert torch.equal(probe.vgg.features[0].weight, 2 * shared.features[0].weight)
    assert probe.networks()["encoder"] is probe.vgg


def test_a_checkpoint_from_before_the_rule_resumes_with_its_flag() -> None:
    """adain/wct/spade_vae checkpoints written by ``FrozenVGGState``: a ``meta.vgg_calibrated`` flag, no record."""
    probe = Probe()
    legacy = {"meta": {"vgg_calibrated": False}, "head": probe.head.state_dict()}
    other = Probe()
    other.load_state_dict(legacy)
    assert other.vgg is probe.vgg and torch.equal(other.head.weight, probe.head.weight)
    legacy["meta"]["vgg_calibrated"] = True
    with pytest.raises(BenchError, match="published vgg19 weights but this method was built with a random"):
        Probe().load_state_dict(legacy)
