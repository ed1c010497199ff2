"""The feature-extractor registry: random weights bit-identical to the constructions it replaced, caching, freezing,
calibration and settings, refusal without weights, and every registered extractor built."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
import torch
import torchvision
from torch import nn

from core import features, weights
from core.errors import BenchError, MissingWeightsError
from core.hashing import file_sha256
from core.registry import UnknownNameError

HAS_DETECTRON2 = importlib.util.find_spec("detectron2") is not None


@pytest.fixture(autouse=True)
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real weights are visible: every build below is the random initialisation (or a file we serve)."""
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "weights"


def under_seed(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` under ``torch.manual_seed(seed)``, leaving the test's RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def assert_same_tensors(module: nn.Module, reference: nn.Module) -> None:
    ours, theirs = module.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


def old_features_only(config: str) -> nn.Sequential:
    """metrics/style.py and LPIPS before the registry: ``_vgg_features(config)`` (features stack, Kaiming)."""
    from torchvision.models.vgg import cfgs, make_layers

    stack = make_layers(cfgs[config], batch_norm=False)
    for module in stack.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return stack


# -- random weights: the same numbers as before the registry -----------------------------------------------------

@pytest.mark.parametrize("seed", [0, 3])
def test_methods_vgg19_is_the_whole_vgg19_built_under_the_seed(seed: int) -> None:
    """AdaIN/WCT/SPADE-VAE (``seeded(0)``), EGSC-IT (seed 0) and SEGIN (``vgg_seed``) built torchvision's whole
    ``vgg19()`` under the seed and sliced its ``features``."""
    whole = under_seed(seed, lambda: torchvision.models.vgg19(weights=None).features)
    for upto, stop in (("relu4_1", 21), ("relu5_1", 30), (None, len(whole))):
        extractor = features.get("vgg19", upto=upto, init="model", seed=seed, allow_uncalibrated=True)
        assert_same_tensors(extractor.features, whole[:stop])
    segin = features.get("vgg19", layers=("relu2_1", "relu3_2"), init="model", seed=seed, allow_uncalibrated=True)
    assert_same_tensors(segin.features, whole[:14])


def test_egscit_channels_last_vgg19_has_the_same_values() -> None:
    whole = under_seed(0, lambda: torchvision.models.vgg19(weights=None).features)
    extractor = features.get("vgg19", layers=("relu1_1", "relu5_1"), init="model", allow_uncalibrated=True,
                             channels_last=True)
    assert_same_tensors(extractor.features, whole[:30])
    assert extractor.features[0].weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(("name", "config"), [("vgg19", "E"), ("vgg16", "D")])
def test_metrics_vgg_is_the_features_stack_alone(name: str, config: str) -> None:
    reference = under_seed(5, lambda: old_features_only(config))
    assert_same_tensors(features.get(name, seed=5, allow_uncalibrated=True).features, reference)


def test_alexnet_is_the_whole_alexnet_built_under_the_seed() -> None:
    reference = under_seed(0, lambda: torchvision.models.alexnet(weights=None).features)
    assert_same_tensors(features.get("alexnet", allow_uncalibrated=True).features, reference)


def test_deeplabv3_is_torchvisions_model_built_under_the_seed() -> None:
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large

    reference = under_seed(2, lambda: deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                   num_classes=21, aux_loss=True))
    assert_same_tensors(features.get("deeplabv3_mobilenet_v3_large", seed=2, allow_uncalibrated=True).model,
                        reference)


def test_fid_inception_holds_the_seeded_kaiming_structure() -> None:
    """Before the registry: pytorch-fid's FID blocks with Kaiming-normal convolutions drawn under the seed, loaded
    into pytorch-fid's own ``InceptionV3``."""
    from pytorch_fid import inception as pfi

    def structure() -> nn.Module:
        net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = pfi.FIDInceptionE_1(1280)
        net.Mixed_7c = pfi.FIDInceptionE_2(2048)
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        return net

    state = under_seed(0, structure).state_dict()
    with mock.patch.object(pfi, "load_state_dict_from_url", lambda url, progress=True: state):
        reference = under_seed(1, lambda: pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[64]],
                                                          resize_input=True, normalize_input=True,
                                                          use_fid_inception=True))
    assert_same_tensors(features.get("fid_inception", dims=64, allow_uncalibrated=True).model, reference)


# -- caching, freezing, placement ---------------------------------------------------------------------------------

def test_one_object_per_key() -> None:
    a = features.get("vgg19", upto="relu2_1", allow_uncalibrated=True)
    assert features.get("vgg19", upto="relu2_1", allow_uncalibrated=True) is a
    assert features.get("vgg19", upto="relu2_1", seed=1, allow_uncalibrated=True) is not a
    assert features.get("vgg19", upto="relu2_1", init="model", allow_uncalibrated=True) is not a
    assert a.on("cpu") is a
    last = features.get("vgg19", upto="relu2_1", allow_uncalibrated=True, channels_last=True)
    assert last is not a
    assert_same_tensors(last, a)


def test_frozen_and_shared() -> None:
    extractor = features.get("vgg19", upto="relu1_2", allow_uncalibrated=True)
    extractor.train()
    assert not extractor.training and not any(m.training for m in extractor.modules())
    assert not any(p.requires_grad for p in extractor.parameters())
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    extractor(x, ["relu1_2"])["relu1_2"].sum().backward()  # gradients reach the input, never the weights
    assert x.grad is not None and all(p.grad is None for p in extractor.parameters())
    with pytest.raises(RuntimeError, match="shared"):
        extractor.to(torch.float64)
    with pytest.raises(RuntimeError, match="shared"):
        extractor.load_state_dict(extractor.state_dict())
    private = extractor.private_copy()
    assert not private.shared and private.to(torch.float64) is private
    assert extractor.features[0].weight.dtype == torch.float32


def test_with_weights_keeps_the_shared_object_unless_the_weights_differ() -> None:
    extractor = features.get("vgg19", upto="relu1_1", allow_uncalibrated=True)
    assert extractor.with_weights(extractor.state_dict()) is extractor
    other = {k: v + 1 for k, v in extractor.state_dict().items()}
    private = extractor.with_weights(other)
    assert private is not extractor and not private.shared
    assert torch.equal(private.features[0].weight, other["features.0.weight"])
    assert not torch.equal(extractor.features[0].weight, other["features.0.weight"])


def test_forward_returns_the_named_layers_and_stops_at_the_cut() -> None:
    extractor = features.get("vgg19", upto="relu2_1", allow_uncalibrated=True)
    x = torch.rand(2, 3, 16, 16)
    out = extractor(x, ["relu2_1", "relu1_1"])
    assert list(out) == ["relu1_1", "relu2_1"] and out["relu2_1"].shape == (2, 128, 8, 8)
    expected = extractor.features[:2](features.imagenet_normalise(x))
    assert torch.equal(out["relu1_1"], expected)
    assert torch.equal(extractor(x, ["relu1_1"], normalise=False)["relu1_1"], extractor.features[:2](x))
    with pytest.raises(ValueError, match="stops before relu3_1"):
        extractor(x, ["relu3_1"])


# -- calibration, settings, refusals ---------------------------------------------------------------------------------

def test_uncalibrated_settings() -> None:
    metric_vgg = features.get("vgg19", allow_uncalibrated=True)
    assert metric_vgg.calibrated is False
    assert metric_vgg.settings() == {"artifact": "vgg19", "weights_sha256": "random-init(seed=0)", "calibrated": False,
                                     "network": "torchvision vgg19().features",
                                     "input": "RGB [0,1], ImageNet mean/std"}
    assert metric_vgg.provenance() == {"artifact": "vgg19", "weights_sha256": "random-init(seed=0)",
                                       "calibrated": False}
    method_vgg = features.get("vgg19", upto="relu1_1", init="model", seed=4, allow_uncalibrated=True)
    assert method_vgg.settings()["random_init"] == "model"
    assert method_vgg.settings()["weights_sha256"] == "random-init(seed=4)"


def test_missing_weights_are_refused_without_the_opt_in() -> None:
    with pytest.raises(MissingWeightsError, match=r"vgg19-dcbb9e9d\.pth.*\n.*weights download vgg19"):
        features.get("vgg19")
    with pytest.raises(MissingWeightsError, match=r"pt_inception-2015-12-05-6726825d\.pth"):
        features.get("fid_inception")


def test_a_present_file_is_loaded_and_calibrated(no_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A seeded AlexNet ``features`` file served under the manifest's name (its checksum patched to match)."""
    state = {f"features.{k}": v for k, v in under_seed(9, lambda: torchvision.models.alexnet().features)
             .state_dict().items()}
    path = no_weights / weights.get("alexnet").filename
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    monkeypatch.setitem(weights.MANIFEST, "alexnet", dataclasses.replace(weights.get("alexnet"),
                                                                        sha256=file_sha256(path)))
    extractor = features.get("alexnet", allow_uncalibrated=True)
    assert extractor.calibrated is True and extractor.checksum == file_sha256(path)
    assert extractor.settings()["weights_sha256"] == file_sha256(path)
    for key, value in extractor.features.state_dict().items():
        assert torch.equal(value, state[f"features.{key}"])
    path.unlink()  # gone again: the cache is keyed by the weights' identity, so the random network comes back
    assert features.get("alexnet", allow_uncalibrated=True).calibrated is False


def test_bad_names_and_options() -> None:
    with pytest.raises(UnknownNameError, match="valid feature extractors: alexnet"):
        features.get("resnet")
    with pytest.raises(BenchError, match="no option"):
        features.get("vgg19", allow_uncalibrated=True, depth=3)
    with pytest.raises(BenchError, match="unknown vgg19 layer 'relu6_1'"):
        features.get("vgg19", upto="relu6_1", allow_uncalibrated=True)
    with pytest.raises(BenchError, match="no random init"):
        features.get("vgg16", init="model", allow_uncalibrated=True)
    with pytest.raises(BenchError, match="no 100-d"):
        features.get("fid_inception", dims=100, allow_uncalibrated=True)


@pytest.mark.skipif(HAS_DETECTRON2, reason="detectron2 is installed; the missing-package message cannot be tested")
def test_detectron2_missing_package_is_explained() -> None:
    with pytest.raises(BenchError, match="needs detectron2"):
        features.get("detectron2_panoptic", allow_uncalibrated=True)


# -- every registered extractor ------------------------------------------------------------------------------------

SAMPLE_INPUTS: dict[str, Callable[[features.FeatureExtractor], object]] = {
    "vgg19": lambda e: e(torch.rand(1, 3, 16, 16), ["relu1_1"]),
    "vgg16": lambda e: e(torch.rand(1, 3, 16, 16), ["relu1_1"]),
    "alexnet": lambda e: e(torch.rand(1, 3, 64, 64), ["relu1"]),
    "fid_inception": lambda e: e(torch.rand(1, 3, 32, 32)),
    "detectron2_panoptic": lambda e: e(torch.zeros(64, 64, 3, dtype=torch.uint8).numpy()),
}


@pytest.mark.parametrize("name", features.names())
def test_every_registered_extractor_builds_uncalibrated(name: str) -> None:
    if name == "detectron2_panoptic" and not HAS_DETECTRON2:
        pytest.skip("detectron2 not installed (optional extra: see pyproject)")
    extractor = features.get(name, allow_uncalibrated=True)
    assert extractor.registry_name == name and extractor.artifact in weights.MANIFEST
    assert extractor.calibrated is False and extractor.settings()["weights_sha256"] == "random-init(seed=0)"
    assert extractor.settings()["network"] and extractor.settings()["input"]
    assert not extractor.training and not any(p.requires_grad for p in extractor.parameters())
    run = SAMPLE_INPUTS.get(name, lambda e: e(torch.rand(1, 3, 32, 32)))  # DeepLabV3 variants
    with torch.no_grad():
        assert run(extractor) is not None


@pytest.mark.skipif(not HAS_DETECTRON2, reason="detectron2 not installed (optional extra: see pyproject)")
def test_an_uncalibrated_panoptic_build_logs_no_detectron2_checkpoint_line(caplog: pytest.LogCaptureFixture) -> None:
    """The harness says "uncalibrated" itself; detectron2's "No checkpoint found" INFO line would only add noise.
    The checkpointer's own logger level is restored after the build."""
    import logging

    before = logging.getLogger("fvcore.common.checkpoint").level
    with caplog.at_level(logging.INFO):
        features.get("detectron2_panoptic", allow_uncalibrated=True)
    assert not [r for r in caplog.records if "No checkpoint found" in r.getMessage()]
    assert logging.getLogger("fvcore.common.checkpoint").level == before
