"""Manifest of every pretrained artifact the harness uses, and the one place that finds them on disk.

A metric or method that needs pretrained weights calls ``require(name, allow_uncalibrated)``:
- the file is present (in ``$BENCH_WEIGHTS``, default ``~/.cache/bench/weights``, or torch hub's checkpoint cache)
  and its checksum matches → its path;
- it is missing and ``allow_uncalibrated`` is false → ``MissingWeightsError`` naming the file, its checksum and the
  command that downloads it;
- it is missing and ``allow_uncalibrated`` is true → ``None``: the caller builds random weights and must mark every
  number it produces ``calibrated=False``.
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.errors import MissingWeightsError
from bench.hashing import file_sha256


@dataclass(frozen=True)
class Artifact:
    name: str
    filename: str
    url: str
    sha256_prefix: str  # torchvision/pytorch-fid put the first 8 hex digits of the sha256 in the file name
    sha256: str | None = None  # full digest where known; verification uses it, else the prefix
    size: int | None = None
    license: str = ""
    used_by: str = ""

    def matches(self, digest: str) -> bool:
        return digest == self.sha256 if self.sha256 else digest.startswith(self.sha256_prefix)

    @property
    def checksum_text(self) -> str:
        return f"sha256 {self.sha256}" if self.sha256 else f"sha256 starting {self.sha256_prefix}"


MANIFEST: dict[str, Artifact] = {}


def register(artifact: Artifact) -> Artifact:
    MANIFEST[artifact.name] = artifact
    return artifact


register(Artifact(
    name="vgg19", filename="vgg19-dcbb9e9d.pth", sha256_prefix="dcbb9e9d",
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    license="torchvision model weights (BSD-3-Clause code; ImageNet-trained)",
    used_by="perceptual/style losses (EGSC-IT, AdaIN, WCT), CoCosNet semantic consistency and style relevance",
))
register(Artifact(
    name="inception_fid", filename="pt_inception-2015-12-05-6726825d.pth", sha256_prefix="6726825d",
    url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    license="Apache-2.0 (pytorch-fid port of the TF FID Inception graph)",
    used_by="FID, KID",
))


def weights_dir() -> Path:
    return Path(os.environ.get("BENCH_WEIGHTS", Path.home() / ".cache" / "bench" / "weights")).expanduser()


def torch_hub_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def candidates(artifact: Artifact) -> list[Path]:
    return [weights_dir() / artifact.filename, torch_hub_dir() / artifact.filename]


def locate(name: str) -> Path | None:
    """The first present copy of an artifact, or None (checksums are checked by ``require``/``verify``)."""
    artifact = get(name)
    return next((p for p in candidates(artifact) if p.is_file()), None)


def get(name: str) -> Artifact:
    if name not in MANIFEST:
        raise KeyError(f"no artifact {name!r} in the weights manifest; known: {', '.join(sorted(MANIFEST))}")
    return MANIFEST[name]


def verify(name: str) -> tuple[Path | None, bool]:
    path = locate(name)
    return path, bool(path and get(name).matches(file_sha256(path)))


def require(name: str, allow_uncalibrated: bool = False) -> Path | None:
    artifact = get(name)
    path = locate(name)
    if path is not None:
        if not artifact.matches(file_sha256(path)):
            raise MissingWeightsError(
                f"{path} does not match the published {artifact.name} weights ({artifact.checksum_text})",
                hint=f"delete it and run `python -m bench weights download {name}`",
            )
        return path
    if allow_uncalibrated:
        return None
    raise MissingWeightsError(
        f"pretrained weights {artifact.filename} ({artifact.checksum_text}) for {artifact.used_by} not found in "
        f"{' or '.join(str(p.parent) for p in candidates(artifact))}",
        hint=f"run `python -m bench weights download {name}` (fetches {artifact.url}), or copy the file there; "
        "for smoke tests only, pass allow_uncalibrated=true (results are then marked uncalibrated)",
    )


def download(name: str) -> Path:
    """Download an artifact into ``weights_dir()`` and check its checksum (needs internet)."""
    artifact = get(name)
    target = weights_dir() / artifact.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        urllib.request.urlretrieve(artifact.url, tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MissingWeightsError(f"could not download {artifact.url}: {exc}",
                                  hint=f"download it elsewhere and copy it to {target}") from exc
    digest = file_sha256(tmp)
    if not artifact.matches(digest):
        tmp.unlink(missing_ok=True)
        raise MissingWeightsError(f"downloaded {artifact.filename} has sha256 {digest}, expected "
                                  f"{artifact.checksum_text}")
    tmp.replace(target)
    return target
