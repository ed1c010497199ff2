"""AdaIN: the layer against a hand computation, the official decoder size, the VGG weights policy."""

from __future__ import annotations

import math

import pytest
import torch

from core.errors import BenchError, MissingWeightsError
from methods import create_method
from methods.adain.losses import style_loss
from methods.adain.networks import adain
from methods.common.decoders import mirror_decoder

SMALL = {"allow_uncalibrated": True, "batch_size": 2, "steps": 2, "load_size": 16, "crop_size": 16, "test_size": 16,
         "checkpoint_every": 0}


def test_adain_layer_equals_a_hand_computation() -> None:
    content = torch.tensor([1.0, 2.0, 3.0, 6.0]).view(1, 1, 2, 2)
    style = torch.tensor([10.0, 10.0, 14.0, 14.0]).view(1, 1, 2, 2)
    c_mean, c_var = 3.0, (4 + 1 + 0 + 9) / 4  # biased variance, as the official BatchNorm-based layer
    s_mean, s_std = 12.0, 2.0
    expected = [s_std * (v - c_mean) / math.sqrt(c_var + 1e-5) + s_mean for v in (1.0, 2.0, 3.0, 6.0)]
    assert torch.allclose(adain(content, style).flatten(), torch.tensor(expected), atol=1e-5)


def test_adain_gives_each_channel_the_style_statistics() -> None:
    g = torch.Generator().manual_seed(0)
    content, style = torch.randn(2, 5, 6, 6, generator=g), 3 + 2 * torch.randn(2, 5, 4, 4, generator=g)
    out = adain(content, style, eps=0.0)
    assert torch.allclose(out.mean((2, 3)), style.mean((2, 3)), atol=1e-5)
    assert torch.allclose(out.std((2, 3), unbiased=False), style.std((2, 3), unbiased=False), atol=1e-4)


def test_decoder_mirrors_vgg_to_relu4_1() -> None:
    decoder = mirror_decoder("relu4_1")
    assert sum(p.numel() for p in decoder.parameters()) == 3_505_219  # the official decoder.t7
    assert decoder(torch.zeros(1, 512, 4, 4)).shape == (1, 3, 32, 32)


def test_style_loss_uses_the_official_sum_over_channels() -> None:
    out = {name: torch.zeros(2, 3, 2, 2) for name in ("relu1_1", "relu2_1", "relu3_1", "relu4_1")}
    style = {name: torch.ones(2, 3, 2, 2) for name in out}  # mean 1, std 0 in every channel
    # per layer: Σ_channels (0 − 1)² over 2 images / 2 = 3, plus (√1e-6 − 0)² per channel
    assert torch.isclose(style_loss(out, style), torch.tensor(4 * (3 + 3 * 1e-6)), atol=1e-6)


def test_refuses_to_build_without_vgg_weights(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "none"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "none"))
    with pytest.raises(MissingWeightsError, match="vgg19"):
        create_method("adain")
    method = create_method("adain", **SMALL)
    assert method.calibrated is False


def test_checkpoints_refuse_the_other_kind_of_vgg(tmp_path) -> None:
    method = create_method("adain", **SMALL)
    state = method.state_dict()
    record = state["pretrained_encoders"]["vgg_encoder"]
    assert "weights" in record  # random weights are saved, published ones come from the manifest
    record["calibrated"] = True  # as if trained with the published VGG-19
    other = create_method("adain", **SMALL)
    with pytest.raises(BenchError, match="random"):
        other.load_state_dict(state)


def test_exemplar_decides_the_output() -> None:
    method = create_method("adain", **SMALL)
    g = torch.Generator().manual_seed(0)
    x, e1, e2 = (torch.rand(2, 3, 28, 28, generator=g) for _ in range(3))
    out = method.translate(x, e1)
    assert out.shape == x.shape
    assert torch.equal(out, method.translate(x, e1, direction="BA"))  # the direction plays no part
    assert not torch.allclose(out, method.translate(x, e2))
