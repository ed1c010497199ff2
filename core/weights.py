"""Manifest of every pretrained artifact the harness uses, and the one place that finds them on disk.

A metric or method that needs pretrained weights calls ``require(name, allow_uncalibrated)``:
- the file is present (in ``$BENCH_WEIGHTS``, default ``~/.cache/bench/weights``, torch hub's checkpoint cache
  ``$TORCH_HOME/hub/checkpoints``, an artifact-specific cache such as detectron2's, or inside the installed package
  that bundles it) and its checksum matches → its path;
- it is missing and ``allow_uncalibrated`` is false → ``MissingWeightsError`` naming the file, its checksum and the
  command that downloads it;
- it is missing and ``allow_uncalibrated`` is true → ``None``: the caller builds random weights and must mark every
  number it produces ``calibrated=False``.

Nothing in the harness downloads weights implicitly: ``python -m bench weights download <name>`` is the only path
that touches the network. Checksums: ``sha256`` is the full digest where we could confirm it from several
independent public records; torchvision and pytorch-fid also put the first 8 hex digits of the sha256 in the file
name (``sha256_prefix``). A present file is checked against the full digest when known, else against the prefix
(``checksum_text`` says which). A file published only inside a git repository, with no sha256 anywhere public
(WCT²'s checkpoints), is checked against the blob id the publisher's git tree records for it (``git_blob_sha1``,
exact); ``sha256_prefix`` is then empty.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from core.errors import MissingWeightsError
from core.hashing import file_sha256, git_blob_sha1


@dataclass(frozen=True)
class Artifact:
    name: str
    filename: str
    url: str
    sha256_prefix: str  # torchvision/pytorch-fid put the first 8 hex digits of the sha256 in the file name
    sha256: str | None = None  # full digest where known; verification uses it, else the prefix
    size: int | None = None  # bytes, where known
    license: str = ""
    used_by: str = ""
    # "package:relative/path" for files that ship inside an installed Python package (the LPIPS linear heads,
    # detectron2's model-zoo configs); such files are never downloaded by us: the package provides them.
    bundled_in: str | None = None
    # Further places a standard tool caches the file (``~`` expanded), e.g. detectron2's iopath cache.
    extra_locations: tuple[str, ...] = ()
    kind: str = "weights"  # ``weights`` or ``config``
    note: str = ""
    # The file's blob id in the publisher's git tree, for files published only in a repository without a sha256.
    git_blob_sha1: str | None = None

    def matches(self, digest: str) -> bool:
        """Whether a file's sha256 ``digest`` is this artifact's (False when only a git blob id is known)."""
        if self.sha256:
            return digest == self.sha256
        return bool(self.sha256_prefix) and digest.startswith(self.sha256_prefix)

    @property
    def checksum_text(self) -> str:
        if self.sha256:
            return f"sha256 {self.sha256}"
        if self.git_blob_sha1:
            return f"git blob sha1 {self.git_blob_sha1} (no sha256 published)"
        return f"sha256 starting {self.sha256_prefix} (prefix only)"


MANIFEST: dict[str, Artifact] = {}


def register(artifact: Artifact) -> Artifact:
    MANIFEST[artifact.name] = artifact
    return artifact


_TORCHVISION_LICENSE = ("torchvision model weights: BSD-3-Clause code; trained on ImageNet-1k, whose terms restrict "
                        "use to non-commercial research")
_LPIPS_LICENSE = "BSD-2-Clause (richzhang/PerceptualSimilarity), shipped inside the `lpips` PyPI package"

# -- ImageNet backbones (torchvision) ------------------------------------------------------------------------------
register(Artifact(
    name="vgg19", filename="vgg19-dcbb9e9d.pth", sha256_prefix="dcbb9e9d",
    sha256="dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44", size=574_673_361,
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    license=_TORCHVISION_LICENSE,
    used_by="perceptual/style losses (EGSC-IT, AdaIN, WCT), Gram style loss (MSCA), CoCosNet semantic consistency "
            "and style relevance",
))
register(Artifact(
    name="vgg16", filename="vgg16-397923af.pth", sha256_prefix="397923af",
    sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0", size=553_433_881,
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    license=_TORCHVISION_LICENSE,
    used_by="LPIPS (net=vgg) backbone",
))
register(Artifact(
    name="alexnet", filename="alexnet-owt-7be5be79.pth", sha256_prefix="7be5be79",
    sha256="7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02", size=244_408_911,
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    license=_TORCHVISION_LICENSE,
    used_by="LPIPS (net=alex) backbone",
))

# ImageNet classifiers whose convolutional trunks initialise the trainable segmenters of
# ``protocols.segmentation_training`` (DeepLab-v2's ResNet-101, the DeepLabV3 alternatives' backbones). torchvision
# publishes only the 8-digit sha256 prefix in the file name for these (IMAGENET1K_V1 weights).
for _name, _file, _user in (
    ("resnet101", "resnet101-63fe2227.pth", "DeepLab-v2 (ResNet-101) segmenter training: ImageNet initialisation"),
    ("resnet50", "resnet50-0676ba61.pth", "DeepLabV3-ResNet-50 segmenter training: ImageNet backbone"),
    ("mobilenet_v3_large", "mobilenet_v3_large-8738ca79.pth",
     "DeepLabV3-MobileNetV3-Large segmenter training: ImageNet backbone"),
):
    register(Artifact(
        name=_name, filename=_file, sha256_prefix=_file.rsplit("-", 1)[1][:8],
        url=f"https://download.pytorch.org/models/{_file}", license=_TORCHVISION_LICENSE, used_by=_user,
    ))

# -- FID Inception (pytorch-fid's port of the TF graph inception-2015-12-05) ---------------------------------------
register(Artifact(
    name="inception_fid", filename="pt_inception-2015-12-05-6726825d.pth", sha256_prefix="6726825d",
    sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2", size=95_628_359,
    url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    license="Apache-2.0 (pytorch-fid port of the TF FID Inception graph; the TF weights are Apache-2.0)",
    used_by="FID, KID",
    note="not torchvision's ImageNet Inception-v3: those weights give different FIDs (pytorch-fid #11)",
))

# -- LPIPS linear heads (bundled in the lpips package; v0.0 kept for reproducing 2017–2018 tables) ----------------
for _version, _net, _sha, _size in (
    ("0.1", "alex", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", 6_009),
    ("0.1", "vgg", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868", 7_289),
    ("0.0", "alex", "18720f55913d0af89042f13faa7e536a6ce1444a0914e6db9461355ece1e8cd5", 5_455),
    ("0.0", "vgg", "b9e4236260c3dd988fc79d2a48d645d885afcbb21f9fd595e6744cf7419b582c", 6_735),
):
    register(Artifact(
        name=f"lpips_{_net}_v{_version}", filename=f"{_net}.pth", sha256_prefix=_sha[:8], sha256=_sha, size=_size,
        url=f"https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v{_version}/{_net}.pth",
        license=_LPIPS_LICENSE, used_by=f"LPIPS (net={_net}, v{_version}) linear heads",
        bundled_in=f"lpips:weights/v{_version}/{_net}.pth",
        note="ships inside the lpips package (lpips==0.1.4; checksums computed from that wheel); the ImageNet "
             f"backbone does NOT (see {'alexnet' if _net == 'alex' else 'vgg16'})",
    ))

# -- Segmenters ----------------------------------------------------------------------------------------------------
_TV_SEG_LICENSE = ("torchvision model weights: BSD-3-Clause code; trained on a COCO-train2017 subset with the 20 "
                   "PASCAL-VOC categories (COCO terms: CC-BY-4.0 annotations, Flickr image terms)")
for _variant, _file, _sha, _size in (
    ("resnet50", "deeplabv3_resnet50_coco-cd0a2569.pth",
     "cd0a25694c4a0f7106b38f4938bf90a874f2f241cc410b8f63c7024399538f06", 168_312_152),
    ("resnet101", "deeplabv3_resnet101_coco-586e9e4e.pth",
     "586e9e4e203fcbf17e1ad45533d8d33ab133fc762bf03101c5dd743995c08c0d", 244_545_539),
    ("mobilenet_v3_large", "deeplabv3_mobilenet_v3_large-fc3c493d.pth",
     "fc3c493d68e89cc31ef488c803d5d7dd2f3190fb570598faa49fef69be8e5e70", 44_356_159),
):
    register(Artifact(
        name=f"deeplabv3_{_variant}", filename=_file, sha256_prefix=_file.rsplit("-", 1)[1][:8], sha256=_sha,
        size=_size, url=f"https://download.pytorch.org/models/{_file}", license=_TV_SEG_LICENSE,
        used_by="segmentation score (torchvision DeepLabV3 adapter; 21 VOC classes)",
    ))

_D2_LICENSE = "Apache-2.0 (facebookresearch/detectron2 model zoo); trained on COCO-2017 panoptic (CC-BY-4.0)"
register(Artifact(
    name="detectron2_panoptic_fpn_r101_3x", filename="model_final_cafdb1.pkl", sha256_prefix="808c675e",
    sha256="808c675e647298688589c895c9581f7f3963995c5708bc53f66449200321d147",
    url="https://dl.fbaipublicfiles.com/detectron2/COCO-PanopticSegmentation/panoptic_fpn_R_101_3x/139514519/"
        "model_final_cafdb1.pkl",
    license=_D2_LICENSE,
    used_by="segmentation score (Detectron2 panoptic adapter; SIA's semantic consistency: pixel accuracy / mIoU)",
    extra_locations=("~/.torch/iopath_cache/detectron2/COCO-PanopticSegmentation/panoptic_fpn_R_101_3x/139514519",),
    note="the file name carries no checksum; the sha256 is from public checksum lists, not the publisher",
))
register(Artifact(
    name="detectron2_panoptic_fpn_r101_3x_config", filename="panoptic_fpn_R_101_3x.yaml", sha256_prefix="76586c1c",
    sha256="76586c1c51e62618fd9236741cb6337a68b5a8fbe1177a4214c80d67def49dcd", size=179,
    url="https://raw.githubusercontent.com/facebookresearch/detectron2/main/configs/COCO-PanopticSegmentation/"
        "panoptic_fpn_R_101_3x.yaml",
    license=_D2_LICENSE, kind="config",
    used_by="segmentation score (Detectron2 panoptic adapter)",
    bundled_in="detectron2:model_zoo/configs/COCO-PanopticSegmentation/panoptic_fpn_R_101_3x.yaml",
    note="ships with detectron2 (model_zoo configs); inherits Base-Panoptic-FPN.yaml (sha256 fa10b79b…) and "
         "Base-RCNN-FPN.yaml (sha256 95306a73…) as of detectron2 commit 02b5c4e",
))

# -- WCT² (Yoo et al., ICCV 2019): MSCA's colour correction [46] of the retrieving task's ground truth ---------------
# Published only inside the official repository (model_checkpoints/, added in its first commit 22b16df and unchanged
# since); no sha256 is published anywhere we could find, so the checksum is the blob id in that tree.
for _part, _blob in (("encoder", "6be4f0df67802f93dfa68c3da5a25f5be4d15a88"),
                     ("decoder", "3f7fd4cbd4398a053dd21b22c00dd0012dfcc6e2")):
    register(Artifact(
        name=f"wct2_{_part}_cat5", filename=f"wave_{_part}_cat5_l4.pth", sha256_prefix="", git_blob_sha1=_blob,
        url=f"https://github.com/clovaai/WCT2/raw/master/model_checkpoints/wave_{_part}_cat5_l4.pth",
        license="MIT (clovaai/WCT2, Copyright (c) 2019 NAVER Corp.); trained on MS-COCO images",
        used_by=f"WCT² colour correction (its {_part}, unpooling cat5), MSCA's retrieving task",
        note="checked against the git blob id of clovaai/WCT2's tree, not a sha256 (none is published)",
    ))


def weights_dir() -> Path:
    return Path(os.environ.get("BENCH_WEIGHTS", Path.home() / ".cache" / "bench" / "weights")).expanduser()


def torch_hub_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def bundled_path(artifact: Artifact) -> Path | None:
    """Where the installed package that bundles the artifact keeps it (None if not bundled or not installed)."""
    if not artifact.bundled_in:
        return None
    package, _, relative = artifact.bundled_in.partition(":")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / relative


def candidates(artifact: Artifact) -> list[Path]:
    """Where to look, in order. A bundled file comes first: it is the one its package was released with (and a
    detectron2 config must sit beside the base configs it inherits from)."""
    bundled = bundled_path(artifact)
    found = [bundled] if bundled is not None else []
    found += [weights_dir() / artifact.filename, torch_hub_dir() / artifact.filename]
    found += [Path(location).expanduser() / artifact.filename for location in artifact.extra_locations]
    return found


def locate(name: str) -> Path | None:
    """The first present copy of an artifact, or None (checksums are checked by ``require``/``verify``)."""
    artifact = get(name)
    return next((p for p in candidates(artifact) if p.is_file()), None)


def get(name: str) -> Artifact:
    if name not in MANIFEST:
        raise KeyError(f"no artifact {name!r} in the weights manifest; known: {', '.join(sorted(MANIFEST))}")
    return MANIFEST[name]


# Hashing a 500 MB file takes seconds; remember digests per (kind, path, size, mtime) for the life of the process.
_DIGESTS: dict[tuple[str, str, int, int], str] = {}


def digest_of(path: Path, kind: str = "sha256") -> str:
    """The file's sha256 (``kind="sha256"``) or git blob id (``kind="git_blob_sha1"``), hex."""
    stat = path.stat()
    key = (kind, str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path) if kind == "sha256" else git_blob_sha1(path)
    return _DIGESTS[key]


def file_matches(artifact: Artifact, path: Path) -> bool:
    """Whether the file at ``path`` is the published artifact: its sha256 (full or prefix), else its git blob id."""
    if artifact.sha256 or not artifact.git_blob_sha1:
        return artifact.matches(digest_of(path))
    return digest_of(path, "git_blob_sha1") == artifact.git_blob_sha1


def verify(name: str) -> tuple[Path | None, bool]:
    path = locate(name)
    return path, bool(path and file_matches(get(name), path))


def get_command(artifact: Artifact) -> str:
    """How a user obtains the artifact."""
    if artifact.bundled_in:
        package = artifact.bundled_in.partition(":")[0]
        return f"install the `{package}` package (it ships {artifact.filename})"
    return f"python -m bench weights download {artifact.name}"


def require(name: str, allow_uncalibrated: bool = False) -> Path | None:
    artifact = get(name)
    path = locate(name)
    if path is not None:
        if not file_matches(artifact, path):
            raise MissingWeightsError(
                f"{path} does not match the published {artifact.name} weights ({artifact.checksum_text})",
                hint=f"delete it and run `{get_command(artifact)}`",
            )
        return path
    if allow_uncalibrated:
        return None
    where = " or ".join(str(p.parent) for p in candidates(artifact))
    raise MissingWeightsError(
        f"pretrained {artifact.kind} {artifact.filename} ({artifact.checksum_text}) for {artifact.used_by} not "
        f"found in {where}",
        hint=f"run `{get_command(artifact)}` (source: {artifact.url}), or copy the file to {weights_dir()}; "
        "for smoke tests only, pass allow_uncalibrated=true (results are then marked uncalibrated)",
    )


def weights_checksum(name: str, path: Path | None, seed: int | None = None) -> str:
    """The checksum that goes into a metric's settings: the file's sha256, or a random-init marker."""
    if path is None:
        return f"random-init(seed={seed})" if seed is not None else "random-init"
    return digest_of(path)


def download(name: str, timeout: float = 30.0) -> Path:
    """Download an artifact into ``weights_dir()`` and check its checksum (needs internet)."""
    artifact = get(name)
    if artifact.bundled_in:
        present = bundled_path(artifact)
        if present is not None and present.is_file():
            return present
        raise MissingWeightsError(f"{artifact.filename} ships inside a package that is not installed",
                                  hint=get_command(artifact))
    target = weights_dir() / artifact.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".part-{os.getpid()}")
    try:
        with urllib.request.urlopen(artifact.url, timeout=timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
    except (OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise MissingWeightsError(
            f"could not download {artifact.url}: {exc}",
            hint=f"download it on a machine with internet access and copy it to {target} "
                 f"(expected {artifact.checksum_text}{f', {artifact.size} bytes' if artifact.size else ''})",
        ) from exc
    if not file_matches(artifact, tmp):
        digest = file_sha256(tmp)
        tmp.unlink(missing_ok=True)
        raise MissingWeightsError(f"downloaded {artifact.filename} has sha256 {digest}, expected "
                                  f"{artifact.checksum_text}")
    tmp.replace(target)
    return target
