"""The weights manifest: complete entries, lookup order, checksum checks, refusals, downloads that fail fast, and
``python -m bench weights status|download|verify``."""

from __future__ import annotations

import dataclasses
import re
import urllib.request
from pathlib import Path

import pytest

from bench.__main__ import main as bench_main
from core import weights
from core.errors import MissingWeightsError
from core.hashing import file_sha256, git_blob_sha1


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


def fake_artifact(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes = b"weights",
                  **changes: object) -> weights.Artifact:
    source = tmp_path / "source.bin"
    source.write_bytes(content)
    digest = file_sha256(source)
    artifact = weights.Artifact(name="toy", filename="toy-" + digest[:8] + ".pth", url=source.as_uri(),
                                sha256_prefix=digest[:8], sha256=digest, size=len(content), license="test",
                                used_by="tests")
    artifact = dataclasses.replace(artifact, **changes)
    monkeypatch.setitem(weights.MANIFEST, "toy", artifact)
    return artifact


EXPECTED = {"inception_fid", "vgg19", "vgg16", "alexnet", "lpips_alex_v0.1", "lpips_vgg_v0.1",
            "deeplabv3_resnet50", "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
            "detectron2_panoptic_fpn_r101_3x", "detectron2_panoptic_fpn_r101_3x_config"}


def test_manifest_lists_every_artifact_with_provenance() -> None:
    assert set(weights.MANIFEST) >= EXPECTED
    for name, artifact in weights.MANIFEST.items():
        assert artifact.url.startswith("https://"), name
        # a file published only in a git tree (WCT²) carries its exact blob id instead of a sha256 prefix
        assert (re.fullmatch(r"[0-9a-f]{8}", artifact.sha256_prefix)
                or (artifact.sha256_prefix == "" and re.fullmatch(r"[0-9a-f]{40}", artifact.git_blob_sha1 or ""))), name
        assert artifact.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", artifact.sha256), name
        assert artifact.sha256 is None or artifact.sha256.startswith(artifact.sha256_prefix), name
        assert artifact.license and artifact.used_by, name
    # torchvision/pytorch-fid names carry the sha256 prefix: the full digests we record must agree with it
    for name in ("inception_fid", "vgg19", "vgg16", "alexnet", "deeplabv3_resnet50"):
        assert weights.get(name).sha256_prefix in weights.get(name).filename


def test_lpips_heads_are_found_in_the_package_and_verified() -> None:
    path, ok = weights.verify("lpips_alex_v0.1")
    assert ok and path is not None and path.parts[-4:] == ("lpips", "weights", "v0.1", "alex.pth")
    assert weights.require("lpips_vgg_v0.1") == weights.locate("lpips_vgg_v0.1")


def test_require_refuses_with_file_checksum_and_command() -> None:
    with pytest.raises(MissingWeightsError) as info:
        weights.require("vgg19")
    text = str(info.value)
    assert "vgg19-dcbb9e9d.pth" in text and weights.get("vgg19").sha256 in text
    assert "python -m bench weights download vgg19" in text and "allow_uncalibrated=true" in text
    assert weights.require("vgg19", allow_uncalibrated=True) is None


def test_torch_hub_cache_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    artifact = fake_artifact(monkeypatch, tmp_path)
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / artifact.filename).write_bytes(b"weights")
    assert weights.require("toy") == hub / artifact.filename


def test_checksum_mismatch_is_refused_even_with_uncalibrated_opt_in(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    artifact = fake_artifact(monkeypatch, tmp_path)
    target = weights.weights_dir() / artifact.filename
    target.parent.mkdir(parents=True)
    target.write_bytes(b"tampered")
    with pytest.raises(MissingWeightsError, match="does not match"):
        weights.require("toy", allow_uncalibrated=True)
    assert weights.verify("toy") == (target, False)


def test_prefix_only_artifacts_match_on_the_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    artifact = fake_artifact(monkeypatch, tmp_path, sha256=None)
    assert artifact.matches(file_sha256(tmp_path / "source.bin"))
    assert "prefix only" in artifact.checksum_text


def test_git_blob_artifacts_match_on_the_blob_id_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"weights")
    blob = "3ab313fff6f41bb35969cd359e9ddfb8033b3ac2"  # `git hash-object` of a file holding b"weights"
    assert git_blob_sha1(source) == blob
    artifact = fake_artifact(monkeypatch, tmp_path, sha256=None, sha256_prefix="", git_blob_sha1=blob)
    assert not artifact.matches(file_sha256(source))  # an empty prefix never accepts a sha256
    assert weights.file_matches(artifact, source) and f"git blob sha1 {blob}" in artifact.checksum_text
    wrong = fake_artifact(monkeypatch, tmp_path, sha256=None, sha256_prefix="", git_blob_sha1="0" * 40)
    assert not weights.file_matches(wrong, source)


def test_download_copies_and_verifies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    artifact = fake_artifact(monkeypatch, tmp_path)
    path = weights.download("toy")
    assert path == weights.weights_dir() / artifact.filename and path.read_bytes() == b"weights"


def test_download_rejects_a_wrong_checksum(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_artifact(monkeypatch, tmp_path, sha256="0" * 64)
    with pytest.raises(MissingWeightsError, match="expected sha256 0000"):
        weights.download("toy")
    assert not any(weights.weights_dir().iterdir())  # no partial file left behind


def test_download_without_network_fails_fast_with_a_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(MissingWeightsError) as info:
        weights.download("inception_fid")
    assert "could not download" in str(info.value) and "95628359 bytes" in str(info.value)
    assert not weights.weights_dir().exists() or not any(weights.weights_dir().iterdir())


def test_cli_status_lists_every_artifact(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["weights", "status"]) == 0
    out = capsys.readouterr().out
    for name in EXPECTED:
        assert name in out
    assert "MISSING" in out and "present" in out
    assert weights.get("inception_fid").sha256 in out


def test_cli_verify_and_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["weights", "verify", "lpips_alex_v0.1"]) == 0
    assert bench_main(["weights", "verify", "vgg19"]) == 1  # named and missing
    fake_artifact(monkeypatch, tmp_path)
    assert bench_main(["weights", "download", "toy"]) == 0
    assert bench_main(["weights", "verify", "toy"]) == 0
    (weights.weights_dir() / weights.get("toy").filename).write_bytes(b"corrupt")
    assert bench_main(["weights", "verify", "toy"]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    assert bench_main(["weights", "verify", "no_such_thing"]) == 2


def test_cli_download_offline_exits_with_error(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert bench_main(["weights", "download", "alexnet"]) == 2
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "could not be downloaded" in captured.err
