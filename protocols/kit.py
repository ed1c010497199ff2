"""The protocol kit: translating a test split in batches, checked the same way by every protocol.

``translate_batches`` is the one translate → shape check → finite check loop; ``Gathered`` lets a protocol hand it
rows that are rendered or gathered per batch (112×112 MNIST-Multiple grids, edges indexed by a sampling plan)
instead of a tensor held whole in memory. ``GroundTruthOracle`` is what a protocol with exact ground truth returns
from ``Protocol.oracle()``. ``FidOutputs`` is the ``fid.save_format`` setting: how outputs are written (PNG or
JPEG) before FID sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol as Interface

import numpy as np
import torch

from core.columns import TRANSLATION_OF
from core.errors import BenchError
from methods.base import Capabilities, Direction, Method
from methods.training import check_finite
from metrics.codec import PIL_DEFAULT_JPEG_QUALITY, codec_roundtrip, codec_settings
from metrics.ssim import SSIM

# Column metric → SSIM colour handling: the MNIST protocols report both (issue 13). ``ssim`` is the per-channel RGB
# mean the tables always had (its hash unchanged); ``ssim_luma`` is SSIM of the BT.601 luma (see metrics/ssim.py).
SSIM_COLOURS = {"ssim": "rgb_mean", "ssim_luma": "luma"}


def colour_ssims(settings: Mapping[str, Any], protocol: str) -> dict[str, SSIM]:
    """One SSIM per ``SSIM_COLOURS`` column from a protocol's ``ssim:`` settings (window, sigma, ...). Raises
    ``BenchError`` when the settings name a ``colour``: each column has its own, fixed."""
    if "colour" in settings:
        raise BenchError(f"protocol {protocol} reports SSIM under every colour handling ("
                         + ", ".join(f"{c}: {m}" for c, m in SSIM_COLOURS.items()) + "); ssim.colour cannot be set",
                         hint="drop protocol.ssim.colour and read the column of the handling you want")
    return {column: SSIM(**dict(settings), colour=colour) for column, colour in SSIM_COLOURS.items()}


class Rows(Interface):
    """Anything whose slices are image batches: a [N,C,H,W] tensor or ``Gathered``."""

    def __len__(self) -> int: ...

    def __getitem__(self, rows: slice) -> torch.Tensor: ...


class Gathered:
    """Rows ``load(index[a:b])`` of a larger source, loaded only when a batch asks for them.

    ``load`` maps an int array of row numbers to float images [n,C,H,W] in [0,1]."""

    def __init__(self, load: Callable[[np.ndarray], torch.Tensor], index: np.ndarray) -> None:
        self.load, self.index = load, np.asarray(index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows: slice) -> torch.Tensor:
        return self.load(self.index[rows])


def quantise(images: torch.Tensor) -> torch.Tensor:
    """float [0,1] → uint8 (as a saved image)."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def translate_batches(method: Method, contents: Rows, exemplars: Rows | None, direction: str, batch_size: int,
                      seed: int, *, uint8: bool = False, name: str | None = None,
                      exemplar_labels: Rows | None = None) -> Iterator[tuple[slice, torch.Tensor]]:
    """Translate ``contents`` (row i under ``exemplars`` row i, or no exemplar when None) ``batch_size`` rows at a
    time, every batch with the same ``seed``; yields ``(rows, outputs)`` per batch.

    ``exemplar_labels`` (row i: the conditioning of exemplar i, encoded as ``contents``, [n,C,H,W]) is passed as
    ``translate(..., exemplar_labels=)`` to methods whose capabilities say ``needs_exemplar_labels`` and to no other.
    Outputs are the method's images moved to the CPU as float32, clamped to [0,1] (or quantised to uint8 [n,C,H,W]
    like a saved image with ``uint8=True``); RGB [n,3,H,W] when the contents are another conditioning (label-map
    protocols), else the contents' shape. Raises ``BenchError`` when the method returns another shape or needs
    exemplar labels that were not given, and ``NonFiniteError`` (naming ``name``, default ``"<method>
    <translation>"``) on NaN or infinity. ``torch.cat([out for _, out in translate_batches(...)])`` gives the
    whole split.
    """
    label = name if name is not None else f"{method.registry_name} {TRANSLATION_OF.get(direction, direction)}"
    wants_labels = type(method).capabilities.needs_exemplar_labels
    if wants_labels and exemplar_labels is None:
        raise BenchError(f"{method.registry_name} needs the exemplars' label maps and none were given",
                         hint="a protocol must pass exemplar_labels= to translate_batches for this method")
    total = len(contents)
    for start in range(0, total, batch_size):
        rows = slice(start, min(start + batch_size, total))
        content = contents[rows]
        exemplar = None if exemplars is None else exemplars[rows]
        extra = {"exemplar_labels": exemplar_labels[rows].to(method.device)} if wants_labels else {}
        with torch.no_grad():
            out = method.translate(content.to(method.device), None if exemplar is None else exemplar.to(method.device),
                                   direction=direction, seed=seed, **extra)  # type: ignore[arg-type,call-arg]
        expected = (content.shape[0], 3, *content.shape[2:]) if content.shape[1] != 3 else tuple(content.shape)
        if tuple(out.shape) != expected:
            raise BenchError(f"{method.registry_name} returned {tuple(out.shape)} for inputs of "
                             f"{tuple(content.shape)} (expected {expected})")
        out = check_finite(label, out.float().cpu())
        yield rows, quantise(out) if uint8 else out.clamp(0, 1)


def translate_all(method: Method, contents: Rows, exemplars: Rows | None, direction: str, batch_size: int, seed: int,
                  *, uint8: bool = False, name: str | None = None, exemplar_labels: Rows | None = None
                  ) -> torch.Tensor:
    """``translate_batches`` concatenated: the outputs of the whole split in one tensor."""
    batches = translate_batches(method, contents, exemplars, direction, batch_size, seed, uint8=uint8, name=name,
                                exemplar_labels=exemplar_labels)
    return torch.cat([out for _, out in batches])


def scale_counts(name: str, scale_cfg: Mapping[str, Any], settings_cfg: Mapping[str, Any]
                 ) -> tuple[str, dict[str, Any]]:
    """(scale name, its sample counts ``samples.<scale>`` of the protocol's settings); ``BenchError`` when the
    protocol config has none for that scale (default scale: ``smoke``)."""
    scale = scale_cfg.get("name", "smoke")
    per_scale = dict(settings_cfg.get("samples", {}))
    if scale not in per_scale:
        raise BenchError(f"protocol {name} has no sample counts for scale {scale!r}",
                         hint=f"add samples.{scale} to bench/configs/protocol/{name}.yaml")
    return scale, dict(per_scale[scale])


def stand_in_sources(stand_in: str, real: str, real_note: str) -> list[str]:
    """``Protocol.data_sources()`` of a protocol whose offline default is a procedural stand-in (with exact ground
    truth) for the dataset ``real``; ``real_note`` says how to point it at the real data (``data.root=...``)."""
    return [f"{stand_in} (offline default: procedural stand-in with exact ground truth; NOT {real})",
            f"{real} ({real_note})"]


def image_keys(images: torch.Tensor) -> list[bytes]:
    """The 8-bit values of each image of [N,C,H,W] floats in [0,1], as bytes: equal for images equal as saved."""
    return [row.numpy().tobytes() for row in quantise(images.cpu())]


class GroundTruthOracle(Method):
    """Returns the exact translation of each (content, exemplar) pair it was given, looked up by the images' 8-bit
    values (so it answers whichever rows and batches a protocol translates).

    ``truths`` yields ``(contents, exemplars, translations)``: float [N,C,H,W] in [0,1], row i the exact translation
    of content i under exemplar i. ``translate`` raises ``KeyError`` for a pair it was not given."""

    capabilities = Capabilities(training="none", guidance="exemplar", directions="both")
    registry_name = "oracle"

    def __init__(self, truths: Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> None:
        super().__init__()
        self.table: dict[tuple[bytes, bytes], torch.Tensor] = {}
        for contents, exemplars, translations in truths:
            pairs = zip(image_keys(contents), image_keys(exemplars), strict=True)
            self.table.update(zip(pairs, translations, strict=True))

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if exemplar is None:
            raise KeyError("the oracle needs an exemplar: its truths are per (content, exemplar) pair")
        pairs = zip(image_keys(content), image_keys(exemplar), strict=True)
        try:
            return torch.stack([self.table[pair] for pair in pairs]).to(content.device)
        except KeyError:
            raise KeyError("the oracle was given no ground truth for a pair the protocol translated") from None


FID_OUTPUT_KEYS = ("save_format", "jpeg_quality")


@dataclass(frozen=True)
class FidOutputs:
    """How a protocol writes its outputs before FID/KID score them (CoCosNet issue #19: JPEG reproduces the paper's
    FIDs, PNG does not). Set in a protocol's ``fid:`` settings as ``save_format: png|jpeg`` and ``jpeg_quality``
    (default Pillow's 75, what CoCosNet's ``test.py`` wrote); ``settings()`` joins the protocol's metric settings,
    so the format is part of the protocol hash. Calling it round-trips float [N,3,H,W] images in [0,1] (or uint8)
    through the codec (``metrics.codec.codec_roundtrip``) and returns float32 [N,3,H,W] in [0,1]."""

    save_format: str = "png"
    jpeg_quality: int = PIL_DEFAULT_JPEG_QUALITY

    def __post_init__(self) -> None:
        codec_settings(self.save_format, self.jpeg_quality)  # refuses an unknown format or quality

    @classmethod
    def split(cls, fid: Mapping[str, Any], default: str = "png") -> tuple[FidOutputs, dict[str, Any]]:
        """``(FidOutputs, the remaining fid settings for create_metric("fid"))`` from a protocol's ``fid:`` block;
        ``default`` is the protocol's format when the block names none (``jpeg`` for the CoCosNet protocols)."""
        outputs = cls(str(fid.get("save_format", default)),
                      int(fid.get("jpeg_quality", PIL_DEFAULT_JPEG_QUALITY)))
        return outputs, {k: v for k, v in fid.items() if k not in FID_OUTPUT_KEYS}

    def settings(self) -> dict[str, Any]:
        return codec_settings(self.save_format, self.jpeg_quality)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return codec_roundtrip(images, self.save_format, self.jpeg_quality)
