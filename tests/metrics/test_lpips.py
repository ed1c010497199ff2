"""LPIPS against the ``lpips`` package called directly, backbone provenance, modes and refusals.

There are no pretrained ImageNet weights here, so the "pretrained" AlexNet is a seeded random one saved to a file
and registered in a test copy of the manifest: our loader reads it from disk, while the lpips package gets the same
file through torchvision's own download hook (patched to serve it locally). Equality then shows that our
construction — manifest backbone copied into lpips' sliced trunk, package heads, [0,1]→[-1,1] — is the package's.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from unittest import mock

import lpips
import pytest
import torch
import torchvision

from core import weights
from core.errors import MissingWeightsError
from core.hashing import file_sha256
from metrics import create_metric
from metrics.perceptual import pair_indices

from .conftest import random_images, smooth_images

PUBLISHED_ALEXNET = weights.get("alexnet")


@pytest.fixture(scope="module")
def served_alexnet(module_env: Path):
    """A seeded random AlexNet saved where the manifest looks, with the manifest's checksum pointing at it."""
    torch.manual_seed(123)
    state = torchvision.models.alexnet(weights=None).state_dict()
    path = Path(module_env) / "weights" / weights.get("alexnet").filename
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    with pytest.MonkeyPatch.context() as mp:
        # extra_locations: found even where a test re-isolates BENCH_WEIGHTS/TORCH_HOME
        mp.setitem(weights.MANIFEST, "alexnet", dataclasses.replace(
            weights.get("alexnet"), sha256=file_sha256(path), extra_locations=(str(path.parent),)))
        yield path


@pytest.fixture(scope="module")
def ours(served_alexnet: Path):
    return create_metric("lpips", net="alex", device="cpu")


@pytest.fixture(scope="module")
def package_lpips(served_alexnet: Path) -> lpips.LPIPS:
    """``lpips.LPIPS(net='alex')`` exactly as users call it, its torchvision download answered from the file."""
    state = torch.load(served_alexnet, weights_only=True)
    with mock.patch("torchvision.models._api.load_state_dict_from_url", lambda *a, **k: state), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # lpips uses torchvision's deprecated pretrained=True
        return lpips.LPIPS(net="alex", version="0.1", verbose=False).eval()


def test_paired_lpips_equals_the_package(ours, package_lpips, served_alexnet: Path) -> None:
    x, y = smooth_images(5, size=64, seed=1), smooth_images(5, size=64, seed=2)
    with torch.no_grad():
        expected = package_lpips(x * 2 - 1, y * 2 - 1).flatten().double()
        via_flag = package_lpips(x, y, normalize=True).flatten().double()
    got = ours.per_image(x, y)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got, via_flag, rtol=1e-5, atol=1e-6)
    assert ours.calibrated is True
    value = ours(x, y)
    assert value.calibrated and value.n == 5 and value.value == pytest.approx(float(expected.mean()))
    assert value.extra["settings"]["weights_sha256"] == file_sha256(served_alexnet)


def test_inputs_in_minus_one_one_are_refused(ours) -> None:
    x = random_images(2, size=64)
    with pytest.raises(ValueError, match=r"\[0,1\]"):
        ours.per_image(x * 2 - 1, x)


def test_identical_images_have_zero_distance(ours) -> None:
    x = smooth_images(3, size=64)
    assert ours(x, x).value == pytest.approx(0.0, abs=1e-7)


def test_refuses_without_backbone_and_names_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(weights.MANIFEST, "alexnet", PUBLISHED_ALEXNET)
    with pytest.raises(MissingWeightsError, match=r"(?s)alexnet-owt-7be5be79\.pth \(sha256 .*weights download alexnet"):
        create_metric("lpips", net="alex")
    with pytest.raises(MissingWeightsError, match=r"vgg16-397923af\.pth"):
        create_metric("lpips", net="vgg")


def test_uncalibrated_lpips_never_downloads_and_is_marked() -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"download attempted: {args}")

    with mock.patch("urllib.request.urlopen", no_network):
        metric = create_metric("lpips", net="vgg", allow_uncalibrated=True, device="cpu")
    value = metric(smooth_images(2, size=48, seed=3), smooth_images(2, size=48, seed=4))
    assert value.calibrated is False and metric.settings()["weights_sha256"].startswith("random-init")
    assert any("uncalibrated" in w for w in value.warnings)


def test_version_net_and_reference_are_part_of_the_protocol(ours) -> None:
    base = ours
    old = create_metric("lpips", net="alex", lpips_version="0.0", device="cpu")
    exemplar = create_metric("lpips", reference="exemplar", network=ours.network)
    hashes = {base.settings_hash(), old.settings_hash(), exemplar.settings_hash()}
    assert len(hashes) == 3
    x, y = smooth_images(2, size=64, seed=5), smooth_images(2, size=64, seed=6)
    assert base(x, y).value != pytest.approx(old(x, y).value, rel=1e-3)  # v0.0 skips the input scaling layer


def test_pairings() -> None:
    assert pair_indices(4, "all") == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert pair_indices(4, "consecutive") == [(0, 1), (1, 2), (2, 3)]
    with pytest.raises(ValueError, match="pairing"):
        pair_indices(3, "random")


@pytest.mark.parametrize("pairs", ["all", "consecutive"])
def test_diversity_is_the_mean_pairwise_distance_per_input(ours, pairs: str) -> None:
    diversity = create_metric("lpips_diversity", pairs=pairs, network=ours.network)
    groups = torch.stack([smooth_images(3, size=64, seed=10), smooth_images(3, size=64, seed=11)])  # 2 inputs × 3
    per_input = diversity.per_input(groups)
    for g in range(2):
        expected = torch.stack([ours.per_image(groups[g, i:i + 1], groups[g, j:j + 1])[0]
                                for i, j in pair_indices(3, pairs)]).mean()
        assert float(per_input[g]) == pytest.approx(float(expected), rel=1e-6)
    value = diversity(groups)
    assert value.direction == "higher" and value.n == 2 and value.calibrated
    with pytest.raises(ValueError, match="K≥2"):
        diversity.per_input([groups[0][:1]])
